package breach_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/store"
)

// samePrefix finds two passwords whose SHA-1s share their first 5 hex characters.
func samePrefix(t *testing.T) (string, string) {
	t.Helper()
	seen := map[string]string{}
	for i := range 20000 {
		p := fmt.Sprintf("shared prefix password %d", i)
		prefix := breachtest.Hex(p)[:5]
		if other, ok := seen[prefix]; ok {
			return other, p
		}
		seen[prefix] = p
	}
	t.Fatal("no two passwords share a prefix")
	return "", ""
}

func TestBreachWeeklyRun(t *testing.T) {
	hitPW, sharedCleanPW := samePrefix(t) // same prefix: only the HMAC tells them apart
	for _, source := range []string{"loopback server", "range files"} {
		t.Run(source, func(t *testing.T) {
			var srv *breachtest.Server
			var hibp *breach.Client
			if source == "loopback server" {
				srv = breachtest.NewServer(t, hitPW, breachedPW)
				hibp = srv.Client(t)
			} else {
				hibp = breachtest.Client(t, "file://"+breachtest.Dir(t, []string{hitPW, breachedPW}, sharedCleanPW, cleanPW, "clean 1", "clean 2", "clean 3"))
			}
			e := newEnv(t) // nothing is checked at set time here
			ctx := context.Background()

			root := e.createUser("root@example.com", "Root Super", store.RoleSuperAdmin, store.StatusActive)
			admin := e.createUser("admin@example.com", "Ada Admin", store.RoleAdmin, store.StatusActive)
			gone := e.createUser("gone@example.com", "Gone Admin", store.RoleAdmin, store.StatusInactive)
			hit := e.createUser("hit@example.com", "Hugo Hit", store.RoleUser, store.StatusActive)
			hit2 := e.createUser("hit2@example.com", "Hana Hit", store.RoleUser, store.StatusActive)
			neighbour := e.createUser("neighbour@example.com", "Ned Neighbour", store.RoleUser, store.StatusActive)
			e.setPassword(root, "clean 1")
			e.setPassword(admin, "clean 2")
			e.setPassword(gone, "clean 3")
			e.setPassword(hit, hitPW)
			e.setPassword(hit2, breachedPW)
			e.setPassword(neighbour, sharedCleanPW)
			var plain []store.User
			for i := range 4 {
				u := e.createUser(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
				e.setPassword(u, cleanPW) // four users, one password: one prefix
				plain = append(plain, u)
			}
			e.createUser("nopw@example.com", "No Password", store.RoleUser, store.StatusActive) // nothing to check
			e.addTokens(hit.ID, 2)
			e.addTokens(neighbour.ID, 1)

			job := e.job(hibp, 3)
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(breach.Interval)
			start := e.clock.Now()
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}

			for _, u := range []store.User{hit, hit2} {
				got := e.user(u.ID)
				if !got.PasswordResetRequired {
					t.Errorf("%s: password_reset_required not set", u.Email)
				}
				if prefix, mac := e.fingerprint(u.ID); prefix != "" || mac != nil {
					t.Errorf("%s: fingerprint not cleared: %q %x", u.Email, prefix, mac)
				}
			}
			for _, u := range append([]store.User{root, admin, gone, neighbour}, plain...) {
				if e.user(u.ID).PasswordResetRequired {
					t.Errorf("%s: flagged, but its password is not breached", u.Email)
				}
				if prefix, _ := e.fingerprint(u.ID); prefix == "" {
					t.Errorf("%s: fingerprint cleared", u.Email)
				}
			}
			if n := e.tokens(hit.ID); n != 0 {
				t.Errorf("hit user's tokens: %d left", n)
			}
			if n := e.tokens(neighbour.ID); n != 2 {
				t.Errorf("neighbour's tokens: got %d, want 2", n)
			}

			detected := e.eventsOf(store.EventPasswordBreachDetected)
			if len(detected) != 2 {
				t.Fatalf("password_breach_detected: %s", eventSummary(detected))
			}
			for _, ev := range detected {
				if ev.ActorID != nil {
					t.Errorf("password_breach_detected actor: got %d, want the system (none)", *ev.ActorID)
				}
				if !ev.At.Equal(start) {
					t.Errorf("password_breach_detected at %v, want %v", ev.At, start)
				}
			}
			revoked := e.eventsOf(store.EventOAuth2UserTokensRevoked)
			if len(revoked) != 2 {
				t.Fatalf("oauth2_user_tokens_revoked: %s", eventSummary(revoked))
			}
			for _, ev := range revoked {
				want := 0.0
				if *ev.UserID == hit.ID {
					want = 4
				}
				if ev.ActorID != nil || ev.Details["tokens"] != want || ev.Details["reason"] != "password_breach_detected" {
					t.Errorf("oauth2_user_tokens_revoked for %d: actor %v details %v, want tokens %v", *ev.UserID, ev.ActorID, ev.Details, want)
				}
			}

			// Every active admin and super admin hears of each hit; nobody else does.
			for _, addr := range []string{root.Email, admin.Email} {
				seen := map[string]bool{}
				for range 2 {
					msg := e.waitMail(addr)
					if msg.Subject != breachMail {
						t.Fatalf("mail to %s: subject %q", addr, msg.Subject)
					}
					for _, u := range []store.User{hit, hit2} {
						if strings.Contains(msg.Text, u.Email) {
							seen[u.Email] = true
						}
					}
					for _, secret := range []string{hitPW, breachedPW, breachtest.Hex(hitPW), breachtest.Hex(breachedPW)[5:]} {
						if strings.Contains(msg.Text, secret) || strings.Contains(msg.HTML, secret) {
							t.Errorf("mail to %s carries the password or its hash", addr)
						}
					}
				}
				if len(seen) != 2 {
					t.Errorf("mail to %s named %v, want both hit users", addr, seen)
				}
			}
			for _, addr := range []string{gone.Email, hit.Email, hit2.Email, neighbour.Email} {
				if n := e.mailsTo(addr); n != 0 {
					t.Errorf("%s got %d mails", addr, n)
				}
			}

			st := e.jobState()
			// 10 users with a password; "clean 1".."clean 3", the four plain users' password,
			// the shared prefix of hit and neighbour, and hit2's: 6 prefixes.
			if st.Running || st.LastUsersChecked != 10 || st.LastHits != 2 || st.LastRequests != 6 {
				t.Errorf("job after the run: %+v; want idle, 10 users, 2 hits, 6 requests", st)
			}
			if !st.NextRunAt.Equal(start.Add(breach.Interval)) || !st.LastFinishedAt.Equal(start) {
				t.Errorf("next run %v, last finished %v; want %v and %v", st.NextRunAt, st.LastFinishedAt, start.Add(breach.Interval), start)
			}
			if srv != nil {
				got := srv.Counts()
				if len(got) != 6 {
					t.Errorf("distinct prefixes asked: got %d, want 6 (%v)", len(got), got)
				}
				for prefix, n := range got {
					if n != 1 {
						t.Errorf("prefix %s asked %d times, want once", prefix, n)
					}
				}
			}
			ev := e.lastEvent(store.EventPasswordBreachCheckCompleted)
			if ev.Details["users_checked"] != 10.0 || ev.Details["hits"] != 2.0 || ev.ActorID != nil {
				t.Errorf("password_breach_check_completed: %v", ev.Details)
			}

			// The next run finds nothing new: the hit users' fingerprints are gone.
			e.clock.Advance(breach.Interval)
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}
			if st := e.jobState(); st.LastUsersChecked != 8 || st.LastHits != 0 {
				t.Errorf("second run: %d users, %d hits; want 8 and 0", st.LastUsersChecked, st.LastHits)
			}
			if n := len(e.eventsOf(store.EventPasswordBreachDetected)); n != 2 {
				t.Errorf("password_breach_detected after the second run: %d, want 2", n)
			}
		})
	}
}

// The schedule lives in the database and follows the injected clock: a restart (a new job on
// the same database) neither repeats nor skips a run.
func TestBreachSchedule(t *testing.T) {
	srv := breachtest.NewServer(t)
	e := newEnv(t)
	ctx := context.Background()
	u := e.createUser("ann@example.com", "Ann User", store.RoleUser, store.StatusActive)
	e.setPassword(u, cleanPW)
	t0 := e.clock.Now()

	step := func(job *breach.Service) int {
		t.Helper()
		if err := job.Step(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range srv.Counts() {
			n += c
		}
		return n
	}
	job := e.job(srv.Client(t), 2)
	if n := step(job); n != 0 {
		t.Fatalf("the first start ran at once (%d requests)", n)
	}
	if got := e.jobState().NextRunAt; !got.Equal(t0.Add(breach.Interval)) {
		t.Fatalf("first run scheduled at %v, want %v", got, t0.Add(breach.Interval))
	}
	e.clock.Advance(breach.Interval - time.Second)
	if n := step(job); n != 0 {
		t.Fatalf("ran a second early (%d requests)", n)
	}
	restarted := e.job(srv.Client(t), 2) // a restart must not reschedule the first run
	if n := step(restarted); n != 0 || !e.jobState().NextRunAt.Equal(t0.Add(breach.Interval)) {
		t.Fatalf("restart: %d requests, next run %v", n, e.jobState().NextRunAt)
	}
	e.clock.Advance(time.Second)
	if n := step(restarted); n != 1 {
		t.Fatalf("due run: %d requests, want 1", n)
	}
	runAt := e.clock.Now()
	// Restarted right after the run: it is not repeated.
	e.clock.Advance(time.Hour)
	if n := step(e.job(srv.Client(t), 2)); n != 0 {
		t.Fatalf("a restart repeated the run (%d requests)", n)
	}
	if st := e.jobState(); !st.NextRunAt.Equal(runAt.Add(breach.Interval)) || st.LastUsersChecked != 1 {
		t.Fatalf("after the run: %+v", st)
	}
	// Down over the next due time: the run happens at the next start, once.
	e.clock.Advance(breach.Interval + 3*24*time.Hour)
	late := e.job(srv.Client(t), 2)
	if n := step(late); n != 1 {
		t.Fatalf("late run: %d requests, want 1", n)
	}
	if n := step(late); n != 0 {
		t.Fatalf("late run repeated: %d requests", n)
	}
	if got, want := e.jobState().NextRunAt, e.clock.Now().Add(breach.Interval); !got.Equal(want) {
		t.Errorf("after a late run the next is at %v, want %v", got, want)
	}
}
