package auth_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
)

func TestNextStep(t *testing.T) {
	tests := []struct {
		state auth.SignInState
		want  auth.Step
	}{
		{auth.SignInState{}, auth.StepPassword},
		{auth.SignInState{SecondFactorDone: true}, auth.StepPassword}, // never skip the password
		{auth.SignInState{PasswordDone: true}, auth.StepSecondFactor},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true}, auth.StepDone},
		// Enhanced: a user with only e-mail codes must enroll before the sign-in is done...
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, Enhanced: true}, auth.StepEnroll},
		{auth.SignInState{PasswordDone: true, Enhanced: true}, auth.StepSecondFactor},
		// ...and one with TOTP or a passkey signs in as before.
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, Enhanced: true, HasTOTP: true}, auth.StepDone},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, Enhanced: true, HasPasskey: true}, auth.StepDone},
		{auth.SignInState{Enhanced: true, HasPasskey: true}, auth.StepPassword},
		// An e-mail code does not ride on a factor another sign-in enrolled meanwhile...
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, Enhanced: true, HasTOTP: true, OnlyEmailCode: true}, auth.StepSecondFactor},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, Enhanced: true, HasPasskey: true, OnlyEmailCode: true}, auth.StepSecondFactor},
		// ...but under Baseline it is a second factor as good as any.
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, HasTOTP: true, OnlyEmailCode: true}, auth.StepDone},
		// A flagged user sets a new password right after the old one, before the second factor...
		{auth.SignInState{ResetRequired: true}, auth.StepPassword},
		{auth.SignInState{PasswordDone: true, ResetRequired: true}, auth.StepResetPassword},
		{auth.SignInState{PasswordDone: true, ResetRequired: true, HasTOTP: true, Enhanced: true}, auth.StepResetPassword},
		// ...and after a passkey, which did both the password and the second factor.
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, HasPasskey: true, ResetRequired: true}, auth.StepResetPassword},
		// An application that requires Enhanced under a Baseline tenant: an e-mail code leads to
		// a strong factor (the step-up) or to enrollment, as under an Enhanced tenant.
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, AppEnhanced: true, OnlyEmailCode: true}, auth.StepEnroll},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, AppEnhanced: true, OnlyEmailCode: true, HasTOTP: true}, auth.StepSecondFactor},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, AppEnhanced: true, OnlyEmailCode: true, HasPasskey: true}, auth.StepSecondFactor},
		{auth.SignInState{PasswordDone: true, SecondFactorDone: true, AppEnhanced: true, HasTOTP: true}, auth.StepDone},
		{auth.SignInState{PasswordDone: true, AppEnhanced: true}, auth.StepSecondFactor},
	}
	for _, tt := range tests {
		if got := auth.NextStep(tt.state); got != tt.want {
			t.Errorf("NextStep(%+v) = %q, want %q", tt.state, got, tt.want)
		}
	}
}

func TestSecondFactorMethods(t *testing.T) {
	tests := []struct {
		state auth.SignInState
		want  []auth.Method
	}{
		{auth.SignInState{}, []auth.Method{auth.MethodEmail}},
		{auth.SignInState{HasPasskey: true}, []auth.Method{auth.MethodEmail, auth.MethodPasskey}},
		{auth.SignInState{HasTOTP: true}, []auth.Method{auth.MethodTOTP, auth.MethodBackup}},
		{auth.SignInState{HasTOTP: true, HasPasskey: true}, []auth.Method{auth.MethodTOTP, auth.MethodBackup, auth.MethodPasskey}},
		// Enhanced: no e-mail code for anyone who has something stronger...
		{auth.SignInState{Enhanced: true, HasPasskey: true}, []auth.Method{auth.MethodPasskey}},
		{auth.SignInState{Enhanced: true, HasTOTP: true}, []auth.Method{auth.MethodTOTP, auth.MethodBackup}},
		// ...and for a user with nothing else it only proves the mailbox before enrollment.
		{auth.SignInState{Enhanced: true}, []auth.Method{auth.MethodEmail}},
		// An application that requires Enhanced asks the same of its sign-ins.
		{auth.SignInState{AppEnhanced: true, HasPasskey: true}, []auth.Method{auth.MethodPasskey}},
		{auth.SignInState{AppEnhanced: true, HasTOTP: true}, []auth.Method{auth.MethodTOTP, auth.MethodBackup}},
		{auth.SignInState{AppEnhanced: true}, []auth.Method{auth.MethodEmail}},
	}
	for _, tt := range tests {
		if got := auth.SecondFactorMethods(tt.state); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SecondFactorMethods(%+v) = %v, want %v", tt.state, got, tt.want)
		}
	}
}

// randomPassword is a deterministic random string of n characters from a wide alphabet: long
// enough, it is "Very strong" to zxcvbn, so only the length rule decides.
func randomPassword(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+-=?@^_~"
	r := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// twoByte is n random characters that each take two bytes in UTF-8.
func twoByte(n int) string {
	alphabet := []rune("éüöäßçñøåæœ")
	r := rand.New(rand.NewPCG(uint64(n), 7))
	out := make([]rune, n)
	for i := range out {
		out[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(out)
}

// lengthRule returns the length requirement of a check.
func lengthRule(t *testing.T, c auth.PasswordCheck) auth.Requirement {
	t.Helper()
	for _, r := range c.Requirements {
		if strings.HasPrefix(r.Text, "At least ") && strings.HasSuffix(r.Text, " characters") {
			return r
		}
	}
	t.Fatalf("no length requirement in %+v", c.Requirements)
	return auth.Requirement{}
}

func TestCheckPasswordPolicyLengths(t *testing.T) {
	for _, min := range auth.PasswordLengthOptions {
		for _, super := range []bool{false, true} {
			want := min
			if super && want < 14 {
				want = 14
			}
			policy := auth.PasswordPolicy{MinLength: min, MinScore: 3}
			subject := auth.PasswordSubject{Email: "a@example.com", SuperAdmin: super}
			t.Run(fmt.Sprintf("policy %d super %v", min, super), func(t *testing.T) {
				if got := policy.MinLengthFor(subject); got != want {
					t.Errorf("MinLengthFor = %d, want %d", got, want)
				}
				wantText := fmt.Sprintf("At least %d characters", want)
				short := auth.CheckPassword(randomPassword(want-1), subject, policy)
				if r := lengthRule(t, short); r.Met || r.Text != wantText {
					t.Errorf("%d characters: length rule %+v, want %q unmet", want-1, r, wantText)
				}
				if short.OK() {
					t.Errorf("%d characters: OK, want refused", want-1)
				}
				exact := auth.CheckPassword(randomPassword(want), subject, policy)
				if r := lengthRule(t, exact); !r.Met || r.Text != wantText {
					t.Errorf("%d characters: length rule %+v, want %q met", want, r, wantText)
				}
				if want >= 10 && (!exact.OK() || exact.Unmet() != nil) {
					t.Errorf("%d random characters: OK %v, Unmet %q; want true, none", want, exact.OK(), exact.Unmet())
				}
			})
		}
	}
}

func TestCheckPassword(t *testing.T) {
	user := auth.PasswordSubject{Email: "u@example.com", Name: "U"}
	super := auth.PasswordSubject{Email: "s@example.com", Name: "S", SuperAdmin: true}
	ada := auth.PasswordSubject{Email: "ada.lovelace@example.com", Name: "Ada Lovelace"}
	p8 := auth.PasswordPolicy{MinLength: 8, MinScore: 3}
	p8v := auth.PasswordPolicy{MinLength: 8, MinScore: 4}
	strong := "At least 8 characters"
	tests := []struct {
		name      string
		password  string
		subject   auth.PasswordSubject
		policy    auth.PasswordPolicy
		wantUnmet []string
	}{
		{"super admin needs 14 under policy 8: 13", randomPassword(13), super, p8, []string{"At least 14 characters"}},
		{"super admin needs 14 under policy 8: 14", randomPassword(14), super, p8, nil},
		{"super admin policy 20 wins over 14", randomPassword(19), super, auth.PasswordPolicy{MinLength: 20, MinScore: 3}, []string{"At least 20 characters"}},
		{"user under policy 8: 9 random characters", "kR7#vQ2!m", user, p8, nil},
		{"user under policy 8: 8 random characters are only Fair", "kR7#vQ2!", user, p8, []string{"Strength at least Strong"}},
		{"long but weak: repeated letter", strings.Repeat("a", 20), user, p8, []string{"Strength at least Strong"}},
		{"common password", "password1234", user, p8, []string{"Strength at least Strong"}},
		{"keyboard walk", "qwertyuiop", user, p8, []string{"Strength at least Strong"}},
		{"the user's address is a dictionary word", "ada.lovelace@example.com", ada, p8, []string{"Strength at least Strong"}},
		{"the same address for someone else is fine", "ada.lovelace@example.com", user, p8, nil},
		{"the user's name counts against Very strong", "lovelaceada1815", ada, p8v, []string{"Strength at least Very strong"}},
		{"the same password for someone else is Very strong", "lovelaceada1815", user, p8v, nil},
		{"the product name is a dictionary word", "weftidweftid", user, p8, []string{"Strength at least Strong"}},
		{"256 allowed", randomPassword(256), user, p8, nil},
		{"257 refused", randomPassword(257), user, p8, []string{"At most 256 characters"}},
		{"256 allowed for a super admin", randomPassword(256), super, p8, nil},
		{"256 two-byte characters allowed (512 bytes)", twoByte(256), user, p8, nil},
		{"257 two-byte characters refused", twoByte(257), user, p8, []string{"At most 256 characters"}},
		{"14 characters of which some é is 14, not more", "é" + randomPassword(13), super, p8, nil},
		{"13 characters with é are 13, not 14 bytes", "é" + randomPassword(12), super, p8, []string{"At least 14 characters"}},
		{"empty", "", user, p8, []string{strong, "Strength at least Strong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auth.CheckPassword(tt.password, tt.subject, tt.policy)
			if got := c.Unmet(); !reflect.DeepEqual(got, tt.wantUnmet) {
				t.Errorf("Unmet() = %q, want %q (score %d)", got, tt.wantUnmet, c.Score)
			}
			if got, want := c.OK(), len(tt.wantUnmet) == 0; got != want {
				t.Errorf("OK() = %v, want %v", got, want)
			}
			if got, want := c.OK(), len(c.Unmet()) == 0; got != want {
				t.Errorf("OK() = %v but Unmet() = %q: they disagree", got, c.Unmet())
			}
			// The length and strength rules are always listed, met or not, so the meter shows them.
			if len(c.Requirements) < 2 {
				t.Errorf("Requirements = %+v, want at least the length and strength rules", c.Requirements)
			}
		})
	}
}

func TestCheckPasswordFeedback(t *testing.T) {
	c := auth.CheckPassword("weftidweftid", auth.PasswordSubject{}, auth.PasswordPolicy{MinLength: 8, MinScore: 3})
	if c.Warning == "" || len(c.Suggestions) == 0 || c.CrackTime == "" {
		t.Errorf("weak password: warning %q, suggestions %q, crack time %q; want all three", c.Warning, c.Suggestions, c.CrackTime)
	}
	e := auth.CheckPassword("", auth.PasswordSubject{}, auth.PasswordPolicy{})
	if !e.Empty || e.OK() {
		t.Errorf("empty password: Empty %v OK %v; want true, false", e.Empty, e.OK())
	}
}

func TestUserInputs(t *testing.T) {
	got := auth.PasswordSubject{Email: "Ada.Lovelace@Example.com", Name: "Ada King-Lovelace"}.UserInputs()
	for _, w := range []string{"weftid", "ada.lovelace@example.com", "ada.lovelace", "ada", "lovelace", "example", "ada king-lovelace", "king"} {
		if !slices.Contains(got, w) {
			t.Errorf("UserInputs() = %q, missing %q", got, w)
		}
	}
}

func TestPasswordCheckZero(t *testing.T) {
	var c auth.PasswordCheck
	if !c.OK() || c.Unmet() != nil {
		t.Errorf("zero PasswordCheck: OK %v, Unmet %q; want true, none", c.OK(), c.Unmet())
	}
}

func TestPasswordLengthConstants(t *testing.T) {
	if auth.SuperAdminMinPasswordLength != 14 || auth.MaxPasswordLength != 256 {
		t.Errorf("SuperAdminMinPasswordLength, MaxPasswordLength = %d, %d; want 14, 256", auth.SuperAdminMinPasswordLength, auth.MaxPasswordLength)
	}
}
