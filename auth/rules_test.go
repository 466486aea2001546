package auth_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
	}
	for _, tt := range tests {
		if got := auth.NextStep(tt.state); got != tt.want {
			t.Errorf("NextStep(%+v) = %q, want %q", tt.state, got, tt.want)
		}
	}
}

func TestSecondFactorMethods(t *testing.T) {
	for _, s := range []auth.SignInState{{}, {PasswordDone: true}, {PasswordDone: true, SecondFactorDone: true}} {
		if got, want := auth.SecondFactorMethods(s), []auth.Method{auth.MethodEmail}; !reflect.DeepEqual(got, want) {
			t.Errorf("SecondFactorMethods(%+v) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckPasswordPolicyLengths(t *testing.T) {
	for _, min := range []int{8, 10, 12, 14, 16, 18, 20} {
		for _, super := range []bool{false, true} {
			want := min
			if super && want < 14 {
				want = 14
			}
			policy := auth.PasswordPolicy{MinLength: min}
			subject := auth.PasswordSubject{Email: "a@example.com", SuperAdmin: super}
			t.Run(fmt.Sprintf("policy %d super %v", min, super), func(t *testing.T) {
				if got := policy.MinLengthFor(subject); got != want {
					t.Errorf("MinLengthFor = %d, want %d", got, want)
				}
				short := auth.CheckPassword(strings.Repeat("x", want-1), subject, policy)
				wantUnmet := []string{fmt.Sprintf("At least %d characters", want)}
				if short.OK() || !reflect.DeepEqual(short.Unmet(), wantUnmet) {
					t.Errorf("%d characters: OK %v, Unmet %q; want false, %q", want-1, short.OK(), short.Unmet(), wantUnmet)
				}
				exact := auth.CheckPassword(strings.Repeat("x", want), subject, policy)
				if !exact.OK() || exact.Unmet() != nil {
					t.Errorf("%d characters: OK %v, Unmet %q; want true, none", want, exact.OK(), exact.Unmet())
				}
			})
		}
	}
}

func TestCheckPassword(t *testing.T) {
	user := auth.PasswordSubject{Email: "u@example.com", Name: "U"}
	super := auth.PasswordSubject{Email: "s@example.com", Name: "S", SuperAdmin: true}
	p8 := auth.PasswordPolicy{MinLength: 8}
	tests := []struct {
		name      string
		password  string
		subject   auth.PasswordSubject
		policy    auth.PasswordPolicy
		wantUnmet []string
	}{
		{"super admin needs 14 under policy 8: 13", strings.Repeat("a", 13), super, p8, []string{"At least 14 characters"}},
		{"super admin needs 14 under policy 8: 14", strings.Repeat("a", 14), super, p8, nil},
		{"super admin policy 20 wins over 14", strings.Repeat("a", 19), super, auth.PasswordPolicy{MinLength: 20}, []string{"At least 20 characters"}},
		{"user under policy 8: 8", strings.Repeat("a", 8), user, p8, nil},
		{"256 allowed", strings.Repeat("a", 256), user, p8, nil},
		{"257 refused", strings.Repeat("a", 257), user, p8, []string{"At most 256 characters"}},
		{"256 allowed for a super admin", strings.Repeat("a", 256), super, p8, nil},
		{"256 two-byte characters allowed (512 bytes)", strings.Repeat("é", 256), user, p8, nil},
		{"257 two-byte characters refused", strings.Repeat("é", 257), user, p8, []string{"At most 256 characters"}},
		{"14 é is 14 characters, not 28 bytes", strings.Repeat("é", 14), super, p8, nil},
		{"13 é is 13 characters, not 26 bytes", strings.Repeat("é", 13), super, p8, []string{"At least 14 characters"}},
		{"14 emoji is 14 characters, not 56 bytes", strings.Repeat("🔑", 14), super, p8, nil},
		{"7 CJK characters (21 bytes) under 8", strings.Repeat("鍵", 7), user, p8, []string{"At least 8 characters"}},
		{"empty", "", user, p8, []string{"At least 8 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auth.CheckPassword(tt.password, tt.subject, tt.policy)
			if got := c.Unmet(); !reflect.DeepEqual(got, tt.wantUnmet) {
				t.Errorf("Unmet() = %q, want %q", got, tt.wantUnmet)
			}
			if got, want := c.OK(), len(tt.wantUnmet) == 0; got != want {
				t.Errorf("OK() = %v, want %v", got, want)
			}
			if got, want := c.OK(), len(c.Unmet()) == 0; got != want {
				t.Errorf("OK() = %v but Unmet() = %q: they disagree", got, c.Unmet())
			}
			// Every requirement is listed, met or not, so the page can show the whole list.
			if len(c.Requirements) != 2 {
				t.Errorf("Requirements = %+v, want the 2 length rules", c.Requirements)
			}
		})
	}
}

func TestPasswordCheckZero(t *testing.T) {
	var c auth.PasswordCheck
	if !c.OK() || c.Unmet() != nil {
		t.Errorf("zero PasswordCheck: OK %v, Unmet %q; want true, none", c.OK(), c.Unmet())
	}
}

func TestThrottleAndTTLConstants(t *testing.T) {
	for name, th := range map[string]auth.Throttle{
		"PasswordFailuresPerAccount": auth.PasswordFailuresPerAccount,
		"PasswordFailuresPerIP":      auth.PasswordFailuresPerIP,
		"CodeFailuresPerUser":        auth.CodeFailuresPerUser,
		"CodeFailuresPerIP":          auth.CodeFailuresPerIP,
		"CodeMails":                  auth.CodeMails,
		"SetupFailuresPerIP":         auth.SetupFailuresPerIP,
	} {
		if th.Max < 1 || th.Window <= 0 {
			t.Errorf("%s = %+v, want a positive limit and window", name, th)
		}
	}
	if auth.PasswordFailuresPerAccount.Max > auth.PasswordFailuresPerIP.Max {
		t.Errorf("per-account limit %d is looser than per-IP %d", auth.PasswordFailuresPerAccount.Max, auth.PasswordFailuresPerIP.Max)
	}
	// The issue: "resend at most 3 times in 5 minutes", after the sign-in's first code.
	if auth.CodeMails.Max != 4 || auth.CodeMails.Window != 5*time.Minute {
		t.Errorf("CodeMails = %+v, want the first code and 3 resends in 5 minutes", auth.CodeMails)
	}
	if auth.SuperAdminMinPasswordLength != 14 || auth.MaxPasswordLength != 256 {
		t.Errorf("SuperAdminMinPasswordLength, MaxPasswordLength = %d, %d; want 14, 256", auth.SuperAdminMinPasswordLength, auth.MaxPasswordLength)
	}
}
