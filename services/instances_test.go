package services_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// These tests run two instances in one process: each its own store (its own connections), its
// own limiter and lock stripes, its own services, on one database, as two weftid processes
// behind a load balancer would. What one instance knows in memory the other does not, so
// whatever must hold across instances has to hold in the database.

const password = "violet tractor juggles quietly 1987"

var base, _ = url.Parse("http://localhost:8080")

// keys is the secret key file both instances read.
var keys = auth.NewKeys([]byte("two instances share one key file"))

// instance is one weftid: its services over its own store.
type instance struct {
	*services.Services
	st *store.Store
}

// twoInstances builds two instances on one fresh database.
func twoInstances(t *testing.T) [2]instance {
	t.Helper()
	db := storetest.DB(t)
	var out [2]instance
	for i := range out {
		hasher, err := auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 64, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st := storetest.OpenAt(t, db)
		out[i] = instance{services.New(services.Config{BaseURL: base, Store: st, Hasher: hasher, Keys: keys,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), st}
		t.Cleanup(func() { out[i].Jobs.Stop(context.Background()) })
	}
	return out
}

// burst runs n calls of each instance's fn at once, alternating, and returns their errors.
func burst(n int, in [2]instance, fn func(i int, s instance) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i, in[i%2])
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts the errors by kind, failing on any not in kinds.
func tally(t *testing.T, errs []error, kinds ...error) map[error]int {
	t.Helper()
	out := map[error]int{}
	for _, err := range errs {
		i := slices.IndexFunc(kinds, func(k error) bool { return errors.Is(err, k) })
		if i < 0 {
			t.Fatalf("unexpected error %v", err)
		}
		out[kinds[i]]++
	}
	return out
}

func createUser(t *testing.T, s instance, email string, role store.Role) store.User {
	t.Helper()
	created, err := s.Account.CreateUser(context.Background(), account.NewUser{Email: email, Name: "User " + email, Role: role,
		Password: password, Confirm: password}, store.Origin{})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return created.User
}

// A burst of wrong passwords at one account, split over two instances and from many
// addresses, is let through exactly up to the account's limit: each guess is checked and
// counted under a lock held in the database, not in one process's memory.
func TestTwoInstancesPasswordBurstLetsThroughTheLimit(t *testing.T) {
	in := twoInstances(t)
	createUser(t, in[0], "ada@example.com", store.RoleUser)
	errs := burst(8, in, func(i int, s instance) error {
		c := signin.Client{Origin: store.Origin{IP: fmt.Sprintf("192.0.2.%d", i+1)}}
		_, err := s.SignIn.Password(context.Background(), c, "ada@example.com", "wrong horse battery staple")
		return err
	})
	got := tally(t, errs, signin.ErrFailed, signin.ErrThrottled)
	if max := throttle.PasswordPerAccount.Max(); got[signin.ErrFailed] != max {
		t.Errorf("%d wrong passwords checked of %d sent over two instances, want exactly %d (the rest throttled)", got[signin.ErrFailed], len(errs), max)
	}
}

// The same for code guesses at one sign-in, which started on one instance and is guessed at
// on both.
func TestTwoInstancesCodeBurstLetsThroughTheLimit(t *testing.T) {
	ctx := context.Background()
	in := twoInstances(t)
	u := createUser(t, in[0], "ada@example.com", store.RoleUser)
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	step := auth.TOTPStep(now)
	code, err := auth.TOTPCode(secret, step)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in[0].Account.EnableTOTP(ctx, u, secret, code, false, store.Origin{}); err != nil {
		t.Fatal(err)
	}
	c := signin.Client{Origin: store.Origin{IP: "192.0.2.1"}}
	r, err := in[0].SignIn.Password(ctx, c, u.Email, password)
	if err != nil || r.Next != auth.StepSecondFactor {
		t.Fatalf("password: %+v %v", r, err)
	}
	c.SignIn = r.Started.Value
	// A code no step near now has.
	wrong := "000000"
	for s := step - 2; s <= step+2; s++ {
		if right, _ := auth.TOTPCode(secret, s); right == wrong {
			wrong = "999999"
		}
	}
	errs := burst(8, in, func(_ int, s instance) error {
		_, err := s.SignIn.VerifyCode(ctx, c, auth.MethodTOTP, wrong)
		return err
	})
	got := tally(t, errs, signin.ErrWrongOTP, signin.ErrThrottled)
	if max := throttle.CodePerUser.Max(); got[signin.ErrWrongOTP] != max {
		t.Errorf("%d wrong codes checked of %d sent over two instances, want exactly %d (the rest throttled)", got[signin.ErrWrongOTP], len(errs), max)
	}
}

// Two instances that serve the setup link at once create one first super admin.
func TestTwoInstancesOneFirstSuperAdmin(t *testing.T) {
	ctx := context.Background()
	in := twoInstances(t)
	link, err := account.CreateSetupLink(ctx, in[0].st, keys, base.String(), time.Now())
	_, token, found := strings.Cut(link, "?token=")
	if err != nil || !found {
		t.Fatalf("setup link %q %v", link, err)
	}
	errs := burst(3, in, func(i int, s instance) error {
		_, err := s.Account.CreateFirstSuperAdmin(ctx, account.FirstSuperAdmin{Token: token, Email: fmt.Sprintf("root%d@example.com", i),
			Name: "Root", Password: password, Confirm: password}, store.Origin{IP: "192.0.2.1"})
		return err
	})
	got := tally(t, errs, nil, account.ErrInvalidSetupLink)
	if n, err := in[1].st.CountUsers(ctx); err != nil || n != 1 || got[nil] != 1 {
		t.Errorf("%d set-ups succeeded, %d users (%v); want one of each", got[nil], n, err)
	}
}

// Two super admins demoting each other on two instances at once leave one super admin (three
// rounds, each on a fresh database).
func TestTwoInstancesKeepTheLastSuperAdmin(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		in := twoInstances(t)
		pair := [2]store.User{
			createUser(t, in[0], "x@example.com", store.RoleSuperAdmin),
			createUser(t, in[0], "y@example.com", store.RoleSuperAdmin),
		}
		errs := burst(1, in, func(i int, s instance) error {
			return s.Account.ChangeRole(ctx, pair[i], pair[1-i].ID, store.RoleAdmin, store.Origin{})
		})
		got := tally(t, errs, nil, account.ErrLastSuperAdminRole, account.ErrForbidden)
		if n, err := in[1].st.CountActiveSuperAdmins(ctx); err != nil || n != 1 || got[nil] != 1 {
			t.Errorf("round %d: %d demotions went through, %d super admins left (%v); want 1 and 1", round, got[nil], n, err)
		}
	}
}

// Two instances starting at once on an empty database make one OpenID Connect signing key and
// one SAML signing key.
func TestTwoInstancesOneFirstSigningKey(t *testing.T) {
	ctx := context.Background()
	in := twoInstances(t)
	errs := burst(2, in, func(i int, s instance) error {
		if i < 2 {
			_, err := s.OIDC.NewProvider(ctx, base)
			return err
		}
		return s.SAML.Warm(ctx) // beside the warm-up services.New started
	})
	tally(t, errs, nil)
	if n, err := in[0].st.CountOIDCSigningKeys(ctx); err != nil || n != 1 {
		t.Errorf("%d OpenID Connect signing keys (%v), want 1", n, err)
	}
	if keys, err := in[1].st.SAMLSigningKeys(ctx, time.Now()); err != nil || len(keys) != 1 {
		t.Errorf("%d SAML signing keys (%v), want 1", len(keys), err)
	}
}

// Events written by two instances at once form one intact chain.
func TestTwoInstancesOneEventChain(t *testing.T) {
	ctx := context.Background()
	in := twoInstances(t)
	errs := burst(20, in, func(i int, s instance) error {
		return s.st.AddEvent(ctx, store.Event{At: time.Now(), Type: store.EventLoginFailed, Details: map[string]any{"i": i}})
	})
	tally(t, errs, nil)
	r, err := audit.New(audit.Config{Store: in[1].st}).Verify(ctx)
	if err != nil || r.Err() != nil || r.Events != 40 {
		t.Errorf("chain after 40 events from two instances: %+v, %v, %v; want 40 intact", r.ChainCheck, err, r.Err())
	}
}
