package account_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

const day = 24 * time.Hour

// idleJob is the job over l's database and clock, as main runs it (a restart makes a new one).
func (l *life) idleJob() *account.IdleJob {
	return account.NewIdleJob(account.IdleConfig{Store: l.store, Now: l.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// step runs one look of a new job and returns how many it deactivated.
func (l *life) step() int {
	l.t.Helper()
	n, err := l.idleJob().Step(context.Background())
	if err != nil {
		l.t.Fatalf("Step: %v", err)
	}
	return n
}

// active lists the emails of the active users.
func (l *life) active() []string {
	l.t.Helper()
	users, err := l.store.SearchUsers(context.Background(), store.UserFilter{Status: store.StatusActive})
	if err != nil {
		l.t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		out = append(out, u.Email)
	}
	slices.Sort(out)
	return out
}

// signIn records a sign-in of u now.
func (l *life) signIn(u store.User) {
	l.t.Helper()
	if err := l.store.RecordSignIn(context.Background(), u.ID, l.now()); err != nil {
		l.t.Fatal(err)
	}
}

// TestIdleDeactivation runs the job on a real SQLite file with a clock moved by hand: off by
// default, then 30 days: idle users are deactivated (sessions ended, tokens revoked, reason
// idle), the last active super admin is kept, a live invitation or a reactivation counts as
// activity, and the schedule in the database holds across restarts of the job.
func TestIdleDeactivation(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	root := l.user("root@example.com", "Root", store.RoleSuperAdmin, "h")
	spare := l.user("spare@example.com", "Spare", store.RoleSuperAdmin, "h")
	admin := l.user("admin@example.com", "Admin", store.RoleAdmin, "h")
	sleeper := l.user("sleeper@example.com", "Sleeper", store.RoleUser, "h")
	busy := l.user("busy@example.com", "Busy", store.RoleUser, "h")
	l.signIn(spare)
	l.signIn(sleeper)
	l.session(sleeper, "sleeper")

	l.advance(20 * day)
	l.signIn(root)
	l.advance(20 * day) // day 40: root signed in 20 days ago, the others 40 days ago or never
	l.signIn(busy)
	invited, err := l.svc.CreateUser(ctx, account.NewUser{Email: "invited@example.com", Name: "Invited", Role: store.RoleUser, By: &admin}, origin)
	if err != nil {
		t.Fatal(err)
	}
	everyone := l.active()

	// Off by default: nothing happens, however long.
	if n := l.step(); n != 0 {
		t.Fatalf("the job deactivated %d users while off", n)
	}
	if st, _ := l.svc.IdleStatus(ctx, 0); st.Days != 0 {
		t.Fatalf("the setting is %d days by default, want off", st.Days)
	}

	// The preview of 30 days, then the setting.
	st, err := l.svc.IdleStatus(ctx, 30)
	if err != nil || st.Total != 3 {
		t.Errorf("IdleStatus(30) = %+v, %v; want spare, admin and sleeper", st, err)
	}
	var problems account.Problems
	if err := l.svc.SaveIdleDeactivation(ctx, root, 45, origin); !errors.As(err, &problems) || problems[0] != account.ErrInvalidIdleDays[0] {
		t.Errorf("45 days: %v, want ErrInvalidIdleDays", err)
	}
	if err := l.svc.SaveIdleDeactivation(ctx, root, 30, origin); err != nil {
		t.Fatal(err)
	}
	if ev := l.events(store.EventIdleDeactivationPolicyUpdated); len(ev) != 1 || *ev[0].ActorID != root.ID ||
		ev[0].Details["new"].(map[string]any)["idle_deactivation_days"] != float64(30) {
		t.Errorf("idle_deactivation_policy_updated: %+v", ev)
	}

	if n := l.step(); n != 3 {
		t.Errorf("the first run deactivated %d users, want 3", n)
	}
	want := []string{busy.Email, invited.User.Email, root.Email}
	if got := l.active(); !slices.Equal(got, want) {
		t.Errorf("active after the run: %v, want %v (from %v)", got, want, everyone)
	}
	deactivated := l.events(store.EventUserDeactivated)
	if len(deactivated) != 3 {
		t.Fatalf("%d user_deactivated events, want 3", len(deactivated))
	}
	for _, ev := range deactivated {
		if ev.ActorID != nil || ev.Details["reason"] != "idle" || ev.Details["days"] != float64(30) {
			t.Errorf("user_deactivated: actor %v, details %v; want the system, reason idle, 30 days", ev.ActorID, ev.Details)
		}
	}
	if n := l.liveRows(sleeper); n != 0 {
		t.Errorf("%d sessions and sign-ins of a deactivated idle user left", n)
	}
	if r := l.events(store.EventOAuth2UserTokensRevoked); len(r) != 3 {
		t.Errorf("%d token revocations, want one per deactivated user", len(r))
	}
	job, _ := l.store.IdleJob(ctx)
	if !job.LastRunAt.Equal(l.now()) || job.LastDeactivated != 3 || !job.NextRunAt.Equal(l.now().Add(day)) {
		t.Errorf("schedule after the run: %+v", job)
	}

	// Within the day, a restarted job does not run again.
	l.advance(23 * time.Hour)
	if n := l.step(); n != 0 {
		t.Errorf("a run within the day deactivated %d", n)
	}
	// Day 55: an admin reactivates the sleeper, whose 30 days start again.
	l.advance(15*day - 23*time.Hour)
	if err := l.svc.SetStatus(ctx, root, sleeper.ID, store.StatusActive, origin); err != nil {
		t.Fatal(err)
	}
	// Day 71: busy (last sign-in day 40) and the invited user (added day 40, invitation expired
	// on day 47) are idle; root (day 20) is too, but is the last active super admin and stays;
	// the sleeper was reactivated 16 days ago.
	l.advance(16 * day)
	if n := l.step(); n != 2 {
		t.Errorf("the run on day 71 deactivated %d users, want 2 (busy and the invited user)", n)
	}
	if got := l.active(); !slices.Equal(got, []string{root.Email, sleeper.Email}) {
		t.Errorf("active on day 71: %v, want root (the last super admin) and the reactivated sleeper", got)
	}

	// Turned off: no run, whatever is due.
	if err := l.svc.SaveIdleDeactivation(ctx, root, 0, origin); err != nil {
		t.Fatal(err)
	}
	l.advance(60 * day)
	if n := l.step(); n != 0 {
		t.Errorf("the job deactivated %d users after it was turned off", n)
	}
}

// TestIdleRunSavesNothingOnFailure: a run that cannot finish changes nothing, and the next
// look runs it again.
func TestIdleRunSavesNothingOnFailure(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	root := l.user("root@example.com", "Root", store.RoleSuperAdmin, "h")
	l.user("idle@example.com", "Idle", store.RoleUser, "h")
	l.advance(31 * day)
	l.signIn(root)
	if err := l.svc.SaveIdleDeactivation(ctx, root, 30, origin); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.idleJob().Step(cancelled); err == nil {
		t.Fatal("Step under a cancelled context succeeded")
	}
	if job, _ := l.store.IdleJob(ctx); !job.LastRunAt.IsZero() || !job.NextRunAt.IsZero() {
		t.Errorf("a failed run moved the schedule: %+v", job)
	}
	if n := l.step(); n != 1 {
		t.Errorf("the next look deactivated %d, want 1", n)
	}
}
