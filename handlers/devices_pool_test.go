package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// TestDeviceHashesWhenPoolIsFull: with the only hashing worker busy and no queue for strangers,
// a new browser's password step is refused with 503 at once, while a browser that signed in
// before waits in the place reserved for trusted callers and signs in.
func TestDeviceHashesWhenPoolIsFull(t *testing.T) {
	hasher, err := auth.NewHasher(testParams, 1, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{hasher: hasher})
	u := e.createUser("nia@example.com", "Nia", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)
	stranger := e.newClient()
	expectStatus(t, stranger.get("/login"), http.StatusOK)
	busy := func() bool {
		_, _, err := hasher.Verify(context.Background(), "", "probe")
		return errors.Is(err, auth.ErrBusy)
	}

	// As in TestSignInHasherBusy: a slow verification holds the only worker; a round is
	// conclusive when probes see it held before the stranger's request and after its answer.
	for passes := 2; ; passes *= 2 {
		if passes > 64 {
			t.Fatal("the holder never kept the worker for the whole round")
		}
		slow := fmt.Sprintf("$argon2id$v=19$m=32768,t=%d,p=1$c2FsdHNhbHRzYWx0c2FsdA$%s", passes, strings.Repeat("A", 43))
		held := make(chan struct{})
		go func() {
			defer close(held)
			for {
				if _, _, err := hasher.Verify(context.Background(), slow, "x"); !errors.Is(err, auth.ErrBusy) {
					return
				}
			}
		}()
		seen := false
		for !seen {
			if seen = busy(); seen {
				break
			}
			select {
			case <-held:
			default:
				continue
			}
			break
		}
		if !seen {
			<-held
			continue
		}
		r := loginAttempt(stranger, u.Email, testPassword)
		conclusive := busy()

		// The known browser queues behind the holder in its reserved place and signs in.
		done := make(chan *response, 1)
		go func() {
			form := url.Values{"email": {u.Email}, "password": {testPassword}, "_csrf": {known.token()}}
			r, err := known.send(http.MethodPost, "/login", strings.NewReader(form.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		<-held
		k := <-done
		if k == nil {
			return
		}
		if k.Status != http.StatusSeeOther || !strings.HasPrefix(k.Location, "/login/verify") {
			t.Fatalf("the known browser while the pool was held: %s, want 303 to /login/verify", k)
		}
		if !conclusive {
			t.Logf("round with t=%d inconclusive (the holder finished first); holding longer", passes)
			continue
		}
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("the stranger while the pool was held: %s, want 503", r)
		}
		return
	}
}
