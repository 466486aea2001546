package account_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// testParams are cheap argon2id parameters: fine for tests, never for production.
var testParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// newService is the account service over a fresh database whose policy is (length, score).
func newService(t *testing.T, length, score int) (*account.Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	if err := st.SetPasswordPolicy(ctx, length, score, time.Now()); err != nil {
		t.Fatal(err)
	}
	hasher, err := auth.NewHasher(testParams, 1, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return account.New(account.Config{Store: st, Hasher: hasher, Keys: auth.NewKeys(make([]byte, 32))}), st
}

// pwRandom is n random characters from a wide alphabet, the same for the same (n, seed).
func pwRandom(n int, seed uint64) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+-=?@^_~"
	r := rand.New(rand.NewPCG(uint64(n), seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func mustContain(t *testing.T, list []string, want string) {
	t.Helper()
	if !slices.Contains(list, want) {
		t.Errorf("%q does not contain %q", list, want)
	}
}

// `weftid user add` calls CreateUser, which applies the same rule as every form: each check
// runs on a database of its own, so an accepted user does not take the next one's address.
func TestCreateUserPasswordRule(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, in account.NewUser) []string {
		t.Helper()
		s, _ := newService(t, 8, 3)
		in.Confirm = in.Password
		_, err := s.CreateUser(ctx, in, store.Origin{})
		var problems account.Problems
		if errors.As(err, &problems) {
			return problems
		}
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		return nil
	}
	ada := func(password string, role store.Role) account.NewUser {
		return account.NewUser{Email: "ada.lovelace@example.com", Name: "Ada Lovelace", Password: password, Role: role}
	}
	subject := auth.PasswordSubject{Email: "ada.lovelace@example.com", Name: "Ada Lovelace"}
	policy := auth.PasswordPolicy{MinLength: 8, MinScore: 3}

	t.Run("weak", func(t *testing.T) {
		weak := "aaaaaaaaaaaaaaaa"
		want := []string{"Password: Strength at least Strong.", auth.CheckPassword(weak, subject, policy).Warning}
		if want[1] == "" {
			t.Fatal("test data: no zxcvbn warning")
		}
		if got := check(t, ada(weak, store.RoleUser)); !reflect.DeepEqual(got, want) {
			t.Errorf("problems: got %q, want %q", got, want)
		}
	})
	t.Run("the user's own details", func(t *testing.T) {
		got := check(t, ada("ada.lovelace@example.com", store.RoleUser))
		mustContain(t, got, "Password: Strength at least Strong.")
		other := account.NewUser{Email: "bob@example.com", Name: "Bob Jones", Password: "ada.lovelace@example.com", Role: store.RoleUser}
		if got := check(t, other); got != nil {
			t.Errorf("someone else's address as password: %q, want no problems", got)
		}
	})
	t.Run("super admin needs 14", func(t *testing.T) {
		if got := check(t, ada("kR7#vQ2!m", store.RoleUser)); got != nil {
			t.Errorf("user, 9 characters under 8: %q", got)
		}
		if got, want := check(t, ada("kR7#vQ2!m", store.RoleSuperAdmin)), []string{"Password: At least 14 characters."}; !reflect.DeepEqual(got, want) {
			t.Errorf("super admin, 9 characters: got %q, want %q", got, want)
		}
	})
	t.Run("257 characters", func(t *testing.T) {
		if got, want := check(t, ada(pwRandom(257, 2), store.RoleUser)), []string{"Password: At most 256 characters."}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
