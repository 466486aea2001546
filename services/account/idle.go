package account

// Idle-user deactivation (Settings > Security > Idle users): when it is on, a user who has not
// signed in for the chosen number of days is deactivated, as an admin's deactivation does it
// (sessions and sign-ins end, devices are forgotten, reset links void, OAuth2 tokens revoked),
// with user_deactivated saying reason "idle". The clock of a user starts at the latest of their
// last sign-in, their creation and their last deactivation or reactivation, so an admin who
// reactivates someone gives them the whole period again; a user whose invitation link still
// works is not idle. Super admins are deactivated like everyone else except the last active
// one, who is always kept (nobody could reactivate anyone otherwise).
//
// The job runs under services/jobs, looks at its schedule (store.IdleJob, one row, like the
// breach check's) every IdleTick, and runs once a day; a changed setting makes a run due at once.

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
)

// IdleDayOptions are the choices of days without a sign-in; 0 is off (the default).
var IdleDayOptions = []int{0, 30, 60, 90, 180}

// IdleTick is how often the job looks at its schedule; IdleInterval is the time between runs.
const (
	IdleTick     = 15 * time.Minute
	IdleInterval = 24 * time.Hour
)

// ErrInvalidIdleDays refuses a number of days that is not one of IdleDayOptions.
var ErrInvalidIdleDays = Problems{"Choose Off, or 30, 60, 90 or 180 days."}

// IdleConfig is what the idle job needs: Store is required.
type IdleConfig struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	Tick  time.Duration // default IdleTick
}

// IdleJob deactivates idle users, once a day while the setting is on.
type IdleJob struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	tick  time.Duration
}

// NewIdleJob returns the job for cfg.
func NewIdleJob(cfg IdleConfig) *IdleJob {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = IdleTick
	}
	return &IdleJob{store: cfg.Store, log: cfg.Log, now: cfg.Now, tick: cfg.Tick}
}

// Run looks at the schedule at once and then every tick until ctx ends (for jobs.Runner.Go).
func (j *IdleJob) Run(ctx context.Context) {
	t := time.NewTicker(j.tick)
	defer t.Stop()
	for {
		if n, err := j.Step(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("idle-user deactivation failed; it tries again later", "err", err)
		} else if n > 0 {
			j.log.Info("idle users deactivated", "users", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step looks at the schedule once: when the setting is on and a run is due, it deactivates
// every idle user and schedules the next run a day later, all in one transaction (a failure
// changes nothing and the next look tries again). It returns how many users it deactivated.
func (j *IdleJob) Step(ctx context.Context) (int, error) {
	n := 0
	err := j.store.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		st, err := tx.Settings(ctx)
		if err != nil || st.IdleDeactivationDays == 0 {
			return err
		}
		job, err := tx.IdleJob(ctx)
		if err != nil {
			return err
		}
		now := j.now()
		if now.Before(job.NextRunAt) {
			return nil
		}
		if ok, err := tx.ClaimIdleRun(ctx, job.NextRunAt, now.Add(IdleInterval)); err != nil || !ok {
			return err
		}
		if n, err = deactivateIdleTx(ctx, tx, st.IdleDeactivationDays, now, j.log); err != nil {
			return err
		}
		return tx.FinishIdleRun(ctx, now, n)
	})
	return n, err
}

// idleCutoff is the moment before which a user's clock must have started for them to be idle
// at now.
func idleCutoff(days int, now time.Time) time.Time {
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// deactivateIdleTx deactivates, in tx, every user idle for days at now, keeping the last active
// super admin, and returns how many it deactivated.
func deactivateIdleTx(ctx context.Context, tx *store.Tx, days int, now time.Time, log *slog.Logger) (int, error) {
	idle, err := tx.IdleUsers(ctx, idleCutoff(days, now), now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range idle {
		last, err := wouldLoseLastSuperAdmin(ctx, tx, u)
		if err != nil {
			return n, err
		}
		if last {
			log.Info("idle super admin kept: the last active one", "user_id", u.ID)
			continue
		}
		details := map[string]any{"reason": "idle", "days": days}
		if !u.LastSignInAt.IsZero() {
			details["last_sign_in_at"] = u.LastSignInAt.Format(time.RFC3339)
		}
		if err := deactivateTx(ctx, tx, u, nil, store.Origin{}, now, details); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// deactivateTx deactivates cur in tx, as an admin's deactivation and the idle job do it: their
// sessions and sign-ins end, their devices are forgotten, their reset links go, their OAuth2
// tokens are revoked (oauth2_user_tokens_revoked), and user_deactivated is logged with details
// and sessions_ended.
func deactivateTx(ctx context.Context, tx *store.Tx, cur store.User, actor *int64, origin store.Origin, now time.Time, details map[string]any) error {
	ended, err := endSessionsTx(ctx, tx, cur.ID, nil)
	if err != nil {
		return err
	}
	if _, err := forgetDevicesTx(ctx, tx, cur.ID); err != nil {
		return err
	}
	if err := tx.DeletePasswordResets(ctx, cur.ID); err != nil {
		return err
	}
	if err := oidc.RevokeUserTokens(ctx, tx, origin.Event(now, store.EventOAuth2UserTokensRevoked, actor, ptr(cur.ID), map[string]any{"reason": "user_deactivated"})); err != nil {
		return err
	}
	if err := tx.SetUserStatus(ctx, cur.ID, store.StatusInactive, now); err != nil {
		return err
	}
	if details == nil {
		details = map[string]any{}
	}
	details["sessions_ended"] = ended
	return tx.AddEvent(ctx, origin.Event(now, store.EventUserDeactivated, actor, ptr(cur.ID), details))
}

// IdleStatus is the idle-user deactivation as Settings > Security > Idle users shows it: the
// setting, the schedule, and who would be deactivated at the next run (at most maxPreviewUsers
// listed; Total counts them all).
type IdleStatus struct {
	Days  int
	Job   store.IdleJob
	Users []store.User
	Total int
}

// IdleStatus reads the setting and the schedule, and lists the users a setting of days would
// deactivate now (none for 0).
func (s *Service) IdleStatus(ctx context.Context, days int) (IdleStatus, error) {
	st, err := s.store.Settings(ctx)
	if err != nil {
		return IdleStatus{}, err
	}
	r := IdleStatus{Days: st.IdleDeactivationDays}
	if r.Job, err = s.store.IdleJob(ctx); err != nil {
		return r, err
	}
	if days == 0 {
		return r, nil
	}
	now := s.now()
	idle, err := s.store.IdleUsers(ctx, idleCutoff(days, now), now)
	r.Total = len(idle)
	r.Users = idle[:min(len(idle), maxPreviewUsers)]
	return r, err
}

// SaveIdleDeactivation saves the days without a sign-in that deactivate a user (0: off;
// ErrInvalidIdleDays outside IdleDayOptions) and logs idle_deactivation_policy_updated with the
// old and new values; the job applies a new setting at its next look. Nothing when it did not
// change.
func (s *Service) SaveIdleDeactivation(ctx context.Context, actor store.User, days int, origin store.Origin) error {
	if !slices.Contains(IdleDayOptions, days) {
		return ErrInvalidIdleDays
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.Settings(ctx)
		if err != nil || old.IdleDeactivationDays == days {
			return err
		}
		now := s.now()
		if err := tx.SetIdleDeactivation(ctx, days, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventIdleDeactivationPolicyUpdated, ptr(actor.ID), nil, map[string]any{
			"old": map[string]int{"idle_deactivation_days": old.IdleDeactivationDays},
			"new": map[string]int{"idle_deactivation_days": days},
		}))
	})
}
