package breach

// The weekly breach re-check. A hit does what an admin's forced reset does: the user must
// choose a new password at their next sign-in, their OAuth2 tokens are revoked, the event log
// says so, and every admin is mailed; "Run now" on the Passwords page schedules it (RunNow).
//
// Its schedule and progress are one row of the database (store.BreachJob), so a restart
// neither repeats nor skips a run, and an interrupted run resumes at the first prefix it had
// not finished. A run takes the distinct breach prefixes in order, a page at a time, asks the
// range service for each prefix once (Concurrency at a time), and compares the keyed HMAC of
// every returned SHA-1 with those stored for the users of that prefix.

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
)

// Interval is the time between the starts of two weekly runs.
const Interval = 7 * 24 * time.Hour

// Weekly job defaults.
const (
	retryDelay         = 15 * time.Minute // before a run stopped by an error resumes
	pagePrefixes       = 512              // distinct prefixes read from the database at a time
	DefaultConcurrency = 8                // ranges asked for at once, unless Config.Concurrency says otherwise
	// Prefixes finished between two saves of the progress: each is saved (one small write
	// beside a range request), so an instance that takes over an interrupted run asks again
	// only for the ranges that were in flight, at most one per worker.
	saveEvery = 1
)

// Actor is who asked for something, as the event log records it.
type Actor struct {
	UserID    int64
	IP        string
	UserAgent string
}

// Status is the weekly job's schedule and progress, for the Passwords page.
func (s *Service) Status(ctx context.Context) (store.BreachJob, error) {
	return s.cfg.Store.BreachJob(ctx)
}

// Run looks at the schedule every Tick, at once when RunNow wakes it, and when another
// instance's lease on the job ends (it died during a run: this one resumes it), until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if !s.Enabled() {
		return
	}
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("breach check stopped; it resumes later", "err", err)
		}
		var leaseEnds <-chan time.Time
		s.mu.Lock()
		if busy := s.busyUntil; !busy.IsZero() {
			// One second after the other holder's lease ends: Unix seconds round it down.
			leaseEnds = time.After(time.Until(busy) + time.Second)
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		case <-leaseEnds:
		}
	}
}

// RunNow is "Run now": it logs password_breach_check_requested with by as actor, makes a run
// due now (or a stopped run resume now) and wakes Run.
func (s *Service) RunNow(ctx context.Context, by Actor) error {
	now := s.cfg.Now()
	err := s.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ev := store.Event{At: now, Type: store.EventPasswordBreachCheckRequested, ActorID: &by.UserID, IP: by.IP, UserAgent: by.UserAgent}
		if err := tx.AddEvent(ctx, ev); err != nil {
			return err
		}
		return tx.RequestBreachRun(ctx, now)
	})
	if err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Step looks at the schedule once: on the first start it schedules the first run a week
// ahead; when a run is due it starts it, or resumes the one under way, and works until it is
// done, it fails (it resumes after a delay) or ctx ends (it resumes at the next Step). It does
// all that holding the job's lease (jobs.Lease), so among the instances sharing a database one
// at a time does it; while another holds it, Step does nothing.
func (s *Service) Step(ctx context.Context) error {
	if !s.Enabled() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lease := jobs.Lease{Store: s.cfg.Store, Name: "breach", Holder: s.cfg.Holder, TTL: s.cfg.LeaseTTL, Now: s.cfg.Now}
	held, busyUntil, err := lease.Hold(ctx, time.Time{}, s.step)
	if !held && err == nil && s.busyUntil.IsZero() {
		s.cfg.Log.Info(BusyElsewhere, "lease_until", busyUntil)
	}
	s.busyUntil = busyUntil
	return err
}

// BusyElsewhere is logged when Step finds the weekly job's lease held by another instance,
// once until it finds it free again.
const BusyElsewhere = "breach check is under way on another instance; this one takes it over if that one stops"

// step is Step under the lease.
func (s *Service) step(ctx context.Context) error {
	now := s.cfg.Now()
	st, err := s.cfg.Store.BreachJob(ctx)
	if err != nil {
		return err
	}
	if st.NextRunAt.IsZero() {
		return s.cfg.Store.ScheduleFirstBreachRun(ctx, now.Add(Interval))
	}
	if now.Before(st.NextRunAt) {
		return nil
	}
	if !st.Running {
		started, err := s.cfg.Store.StartBreachRun(ctx, now)
		if err != nil || !started {
			return err
		}
		if st, err = s.cfg.Store.BreachJob(ctx); err != nil {
			return err
		}
		s.cfg.Log.Info("breach check started", "service", s.cfg.Client.String())
	} else {
		s.cfg.Log.Info("breach check resumed", "after_prefix", st.Cursor, "users_checked", st.UsersChecked)
	}
	runErr := s.run(ctx, st)
	// Save what was done even when ctx ended (a shutdown): the next start resumes from there.
	sctx := context.WithoutCancel(ctx)
	if runErr != nil {
		if ctx.Err() != nil {
			return errors.Join(runErr, ctx.Err())
		}
		return errors.Join(runErr, s.cfg.Store.StopBreachRun(sctx, runErr.Error(), s.cfg.Now().Add(retryDelay)))
	}
	done := s.cfg.Now()
	err = s.cfg.Store.InTx(sctx, func(tx *store.Tx) error {
		cur, err := tx.BreachJob(sctx)
		if err != nil {
			return err
		}
		if err := tx.FinishBreachRun(sctx, done, st.RunStartedAt.Add(Interval)); err != nil {
			return err
		}
		return tx.AddEvent(sctx, store.Event{At: done, Type: store.EventPasswordBreachCheckCompleted, Details: map[string]any{
			"users_checked": cur.UsersChecked, "hits": cur.Hits, "requests": cur.Requests,
			"started_at": st.RunStartedAt.Format(time.RFC3339),
		}})
	})
	if err == nil {
		s.cfg.Log.Info("breach check finished", "next_run", st.RunStartedAt.Add(Interval))
	}
	return err
}

// breachPrefix is one prefix of a page and the users whose passwords have it.
type breachPrefix struct {
	prefix string
	users  []store.BreachCandidate
}

// breachHit is a user whose stored HMAC matched a breached SHA-1, and how often it was seen.
type breachHit struct {
	user  store.BreachCandidate
	count int
}

// run works through the prefixes after the saved cursor, a page at a time.
func (s *Service) run(ctx context.Context, st store.BreachJob) error {
	p := store.BreachProgress{Cursor: st.Cursor, DoneAhead: st.DoneAhead, UsersChecked: st.UsersChecked, Hits: st.Hits, Requests: st.Requests}
	for {
		cands, err := s.cfg.Store.BreachCandidates(ctx, p.Cursor, pagePrefixes)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		var page []breachPrefix
		for _, c := range cands {
			if len(page) == 0 || page[len(page)-1].prefix != c.Prefix {
				page = append(page, breachPrefix{prefix: c.Prefix})
			}
			page[len(page)-1].users = append(page[len(page)-1].users, c)
		}
		if err := s.runPage(ctx, page, &p, st.RunStartedAt); err != nil {
			return err
		}
	}
}

// runPage asks for every prefix of page, Concurrency at a time (an errgroup with that limit),
// and applies the results in the order they come. The progress moves its cursor past each prefix once it and every
// prefix before it is done; those done out of order are kept in DoneAhead.
func (s *Service) runPage(ctx context.Context, page []breachPrefix, p *store.BreachProgress, runStarted time.Time) error {
	done := make([]bool, len(page))
	for i, bp := range page {
		done[i] = slices.Contains(p.DoneAhead, bp.prefix) // finished before an interruption
	}
	// Prefixes finished before an interruption that lie beyond this page (users added since
	// pushed them out of it) stay recorded for the next page.
	var carry []string
	for _, prefix := range p.DoneAhead {
		if prefix > page[len(page)-1].prefix {
			carry = append(carry, prefix)
		}
	}
	mark := 0 // page[:mark] are done and the cursor is past them
	advance := func() {
		for mark < len(page) && done[mark] {
			mark++
		}
		if mark > 0 {
			p.Cursor = page[mark-1].prefix
		}
		p.DoneAhead = slices.Clone(carry)
		for i := mark; i < len(page); i++ {
			if done[i] {
				p.DoneAhead = append(p.DoneAhead, page[i].prefix)
			}
		}
	}
	advance()

	// A finished prefix is recorded under mu, one at a time, in the order they finish.
	var mu sync.Mutex
	unsaved := 0
	record := func(i int, hits []breachHit) error {
		mu.Lock()
		defer mu.Unlock()
		prev, prevMark := *p, mark
		prev.DoneAhead = slices.Clone(p.DoneAhead)
		done[i] = true
		p.Requests++
		p.UsersChecked += len(page[i].users)
		advance()
		unsaved++
		if len(hits) == 0 && unsaved < saveEvery {
			return nil
		}
		if err := s.applyHits(context.WithoutCancel(ctx), hits, p, runStarted); err != nil {
			// Not applied: this prefix is not done, so the saved progress must not pass it.
			done[i], *p, mark = false, prev, prevMark
			return err
		}
		unsaved = 0
		return nil
	}
	// The first error (a range that cannot be fetched, hits that cannot be applied) or the end
	// of ctx stops handing out prefixes; what finished is still saved below.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i := range page {
		if done[i] {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // it stopped while this one waited for its turn
			}
			hits, err := s.checkPrefix(gctx, page[i], s.cfg.Keys.BreachHasher())
			if err != nil {
				return err
			}
			return record(i, hits)
		})
	}
	failed := g.Wait()
	if unsaved > 0 {
		if err := s.cfg.Store.SaveBreachProgress(context.WithoutCancel(ctx), *p); err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}

// checkPrefix asks for one range and returns the users whose stored HMAC is that of a
// breached SHA-1 in it.
func (s *Service) checkPrefix(ctx context.Context, bp breachPrefix, mac func([20]byte) []byte) ([]breachHit, error) {
	hashes, err := s.cfg.Client.Range(ctx, bp.prefix)
	if err != nil {
		return nil, err
	}
	var hits []breachHit
	for _, h := range hashes {
		sum := mac(h.SHA1)
		for _, u := range bp.users {
			if hmac.Equal(sum, u.HMAC) {
				hits = append(hits, breachHit{user: u, count: h.Count})
			}
		}
	}
	return hits, nil
}

// applyHits flags each hit user, revokes their OAuth2 tokens and logs password_breach_detected
// with the system as actor, saving the progress in the same transaction; then it mails every
// active admin and super admin about each.
func (s *Service) applyHits(ctx context.Context, hits []breachHit, p *store.BreachProgress, runStarted time.Time) error {
	now := s.cfg.Now()
	var flagged []int64
	err := s.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		flagged = flagged[:0]
		for _, hit := range hits {
			id := hit.user.UserID
			err := tx.FlagBreachedPassword(ctx, id, hit.user.HMAC, now)
			if errors.Is(err, store.ErrNotFound) {
				continue // the password changed since the page was read: nothing to flag
			}
			if err != nil {
				return err
			}
			if err := oidc.RevokeUserTokens(ctx, tx, store.Event{At: now, UserID: &id, Details: map[string]any{"reason": string(store.EventPasswordBreachDetected)}}); err != nil {
				return err
			}
			err = tx.AddEvent(ctx, store.Event{At: now, Type: store.EventPasswordBreachDetected, UserID: &id, Details: map[string]any{
				"breach_count": hit.count, "run_started_at": runStarted.Format(time.RFC3339),
			}})
			if err != nil {
				return err
			}
			flagged = append(flagged, id)
		}
		q := *p
		q.Hits += len(flagged)
		return tx.SaveBreachProgress(ctx, q)
	})
	if err != nil {
		return err
	}
	p.Hits += len(flagged)
	for _, id := range flagged {
		s.notifyAdmins(ctx, id)
	}
	return nil
}

// notifyAdmins mails every active admin and super admin that a user's password was found in a
// breach: who, and what weftid did. The mail does not carry the password or its hash.
func (s *Service) notifyAdmins(ctx context.Context, userID int64) {
	if s.cfg.Mailer == nil {
		return
	}
	u, err := s.cfg.Store.UserByID(ctx, userID)
	if err != nil {
		s.cfg.Log.Error("breach notice not sent", "user_id", userID, "err", err)
		return
	}
	users, err := s.cfg.Store.ListUsers(ctx)
	if err != nil {
		s.cfg.Log.Error("breach notice not sent", "user_id", userID, "err", err)
		return
	}
	link := ""
	if s.cfg.BaseURL != nil {
		link = strings.TrimRight(s.cfg.BaseURL.String(), "/") + fmt.Sprintf("/users/%d", u.ID)
	}
	for _, admin := range users {
		if !admin.Active() || admin.Role.Rank() < store.RoleAdmin.Rank() {
			continue
		}
		intro := fmt.Sprintf("Hello %s,\n\nThe weekly breach check found the password of %s (%s) in a data breach disclosed since it was set.\n\n"+
			"weftid has revoked their OAuth2 tokens, and their next sign-in asks them to choose a new password. "+
			"You do not need to do anything; you may want to tell them.",
			admin.Name, u.Name, u.Email)
		msg := mail.Generic(admin.Email, "A password was found in a data breach", intro, "Open "+u.Name, link)
		if err := s.cfg.Mailer.Send(ctx, msg); err != nil {
			s.cfg.Log.Error("breach notice not sent", "user_id", userID, "admin_id", admin.ID, "err", err)
		}
	}
}
