package auth_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	passwordvalidator "github.com/wagslane/go-password-validator"

	"github.com/weftid/weftid/auth"
)

// The entropy floor: 50 bits as go-password-validator counts them, on top of zxcvbn's score.
// It binds on short passwords zxcvbn finds no pattern in, and is listed once the score is met.
func TestCheckPasswordEntropyFloor(t *testing.T) {
	const entropy = "At least 50 bits of entropy"
	user := auth.PasswordSubject{Email: "u@example.com", Name: "U"}
	p8 := auth.PasswordPolicy{MinLength: 8, MinScore: 3}
	tests := []struct {
		name      string
		password  string
		policy    auth.PasswordPolicy
		listed    bool // the entropy requirement is on the list
		wantUnmet []string
	}{
		{"10 random lowercase letters: Strong, 47 bits", "xkqvbzmwtp", p8, true, []string{entropy}},
		{"9 lowercase letters and a digit: Strong, 46 bits", "qzvxkwjm4", p8, true, []string{entropy}},
		{"10 random digits: Strong, 33 bits", "8372916450", p8, true, []string{entropy}},
		{"14 random digits under the default 14: Very strong, 47 bits", "83174926501837", auth.PasswordPolicy{MinLength: 14, MinScore: 3}, true, []string{entropy}},
		{"16 random digits: 53 bits", "8317492650183746", auth.PasswordPolicy{MinLength: 14, MinScore: 3}, true, nil},
		{"9 characters of four kinds: Strong, 58 bits", "kR7#vQ2!m", p8, true, nil},
		{"11 random lowercase letters: Very strong, 52 bits", "zqxjkvbwpfy", p8, true, nil},
		{"a passphrase", "correct horse battery staple 42", auth.PasswordPolicy{MinLength: 14, MinScore: 4}, true, nil},
		{"too short too: both refusals", "xkqvbzmwtp", auth.PasswordPolicy{MinLength: 12, MinScore: 3}, true, []string{"At least 12 characters", entropy}},
		{"a refused score is not repeated as entropy", strings.Repeat("a", 20), p8, false, []string{"Strength at least Strong"}},
		{"8 characters of four kinds are only Fair", "kR7#vQ2!", p8, false, []string{"Strength at least Strong"}},
		{"empty: not listed", "", p8, false, []string{"At least 8 characters", "Strength at least Strong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auth.CheckPassword(tt.password, user, tt.policy)
			if got := c.Unmet(); !reflect.DeepEqual(got, tt.wantUnmet) {
				t.Errorf("Unmet() = %q, want %q (score %d, %.1f bits)", got, tt.wantUnmet, c.Score, passwordvalidator.GetEntropy(tt.password))
			}
			listed := slices.IndexFunc(c.Requirements, func(r auth.Requirement) bool { return r.Text == entropy }) >= 0
			if listed != tt.listed {
				t.Errorf("entropy requirement listed %v, want %v: %+v", listed, tt.listed, c.Requirements)
			}
			if c.OK() != (len(tt.wantUnmet) == 0) {
				t.Errorf("OK() = %v with Unmet %q", c.OK(), c.Unmet())
			}
		})
	}
}
