package auth

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	passwordvalidator "github.com/wagslane/go-password-validator"

	"github.com/weftid/weftid/auth/strength"
)

// Code lifetimes and limits.
const (
	EmailCodeTTL      = 10 * time.Minute
	EmailCodeMaxTries = 5
	SignInTTL         = 15 * time.Minute
	SessionTTL        = 14 * 24 * time.Hour
	SetupLinkTTL      = time.Hour
	PasswordResetTTL  = 30 * time.Minute
)

// Password length bounds that hold whatever the policy says.
const (
	SuperAdminMinPasswordLength = 14
	MaxPasswordLength           = 256
)

// PasswordPolicy is the tenant's password settings.
type PasswordPolicy struct {
	MinLength int // 8, 10, 12, 14, 16, 18 or 20
	MinScore  int // 3 (Strong) or 4 (Very strong)
}

// MinPasswordEntropyBits is the entropy floor of every password, as go-password-validator
// estimates it from the kinds of characters used and the length (with repeats and runs such as
// "aaa" or "1234" counted short). zxcvbn's score judges patterns; this floor catches what it
// lets through because it is short: a random-looking 8 or 9 characters of one or two kinds.
const MinPasswordEntropyBits = 50

// PasswordLengthOptions are the minimum lengths a super admin may choose; 14 is recommended.
var PasswordLengthOptions = []int{8, 10, 12, 14, 16, 18, 20}

// RecommendedPasswordLength is the default and recommended minimum length.
const RecommendedPasswordLength = 14

// StrengthScoreOptions are the minimum strength scores a super admin may choose.
var StrengthScoreOptions = []int{3, 4}

// ScoreLabels are the words for zxcvbn's scores 0 to 4.
var ScoreLabels = [5]string{"Very weak", "Weak", "Fair", "Strong", "Very strong"}

// ProductName is counted as a dictionary word when scoring passwords.
const ProductName = "weftid"

// PasswordSubject is the person a password is for: the rule depends on their role, and their
// e-mail address and name count as dictionary words.
type PasswordSubject struct {
	Email      string
	Name       string
	SuperAdmin bool
}

// Requirement is one condition a new password must meet, in words for people.
type Requirement struct {
	Text string
	Met  bool
}

// PasswordCheck is the verdict on a candidate password: every requirement, met or not, and
// zxcvbn's estimate with its feedback. The strength meter shows it and the server enforces it,
// so the two can never disagree.
type PasswordCheck struct {
	Requirements []Requirement
	Empty        bool
	Score        int
	Guesses      float64
	CrackTime    string
	Warning      string
	Suggestions  []string
}

// OK reports whether every requirement is met.
func (c PasswordCheck) OK() bool {
	for _, r := range c.Requirements {
		if !r.Met {
			return false
		}
	}
	return true
}

// Unmet lists the requirements not met, in words.
func (c PasswordCheck) Unmet() []string {
	var out []string
	for _, r := range c.Requirements {
		if !r.Met {
			out = append(out, r.Text)
		}
	}
	return out
}

// MinLengthFor is the shortest password this subject may set under p: super admins need at
// least 14 characters whatever the setting.
func (p PasswordPolicy) MinLengthFor(s PasswordSubject) int {
	n := p.MinLength
	if n < 1 {
		n = RecommendedPasswordLength
	}
	if s.SuperAdmin && n < SuperAdminMinPasswordLength {
		n = SuperAdminMinPasswordLength
	}
	return n
}

// ScoreFloor is the policy's minimum strength score, never below Strong.
func (p PasswordPolicy) ScoreFloor() int {
	if p.MinScore < 3 {
		return 3
	}
	if p.MinScore > 4 {
		return 4
	}
	return p.MinScore
}

// UserInputs are the words that describe the subject, which zxcvbn counts as a dictionary:
// the address, its local part and domain words, the name and its parts, and the product name.
func (s PasswordSubject) UserInputs() []string {
	inputs := []string{ProductName}
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if len(w) >= 2 && !slices.Contains(inputs, w) {
			inputs = append(inputs, w)
		}
	}
	email := strings.ToLower(strings.TrimSpace(s.Email))
	add(email)
	if local, domain, ok := strings.Cut(email, "@"); ok {
		add(local)
		for _, part := range strings.FieldsFunc(local, isSeparator) {
			add(part)
		}
		for _, part := range strings.Split(domain, ".") {
			add(part)
		}
	}
	add(s.Name)
	for _, part := range strings.FieldsFunc(s.Name, isSeparator) {
		add(part)
	}
	return inputs
}

func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || r == '.' || r == '_' || r == '-' || r == '+' || r == '\''
}

// CheckPassword is the one password rule: every place that sets a password calls it, and the
// live strength meter shows its answer. A password must have at least the policy's length (14
// for super admins whatever the setting), at most MaxPasswordLength characters (so nobody can
// make us hash megabytes), a zxcvbn score of at least the policy's, with the subject's
// address and name and the product's name counted as dictionary words, and at least
// MinPasswordEntropyBits of entropy. Length counts characters (Unicode code points), not bytes.
// The entropy floor is listed once the score is reached: it only binds on short passwords
// that zxcvbn finds no pattern in, and under a refused score it would only repeat the refusal.
func CheckPassword(password string, s PasswordSubject, p PasswordPolicy) PasswordCheck {
	n := utf8.RuneCountInString(password)
	least := p.MinLengthFor(s)
	minScore := p.ScoreFloor()
	check := PasswordCheck{Empty: password == ""}
	scored := password
	if n > MaxPasswordLength {
		scored = string([]rune(password)[:MaxPasswordLength])
	}
	r := strength.Score(scored, s.UserInputs())
	check.Score, check.Guesses, check.CrackTime, check.Warning, check.Suggestions = r.Score, r.Guesses, r.CrackTime, r.Warning, r.Suggestions
	check.Requirements = []Requirement{
		{Text: fmt.Sprintf("At least %d characters", least), Met: n >= least},
		{Text: fmt.Sprintf("Strength at least %s", ScoreLabels[minScore]), Met: !check.Empty && r.Score >= minScore},
	}
	if !check.Empty && r.Score >= minScore {
		check.Requirements = append(check.Requirements, Requirement{
			Text: fmt.Sprintf("At least %d bits of entropy", MinPasswordEntropyBits),
			Met:  passwordvalidator.GetEntropy(scored) >= MinPasswordEntropyBits,
		})
	}
	if n > MaxPasswordLength {
		check.Requirements = append(check.Requirements, Requirement{Text: fmt.Sprintf("At most %d characters", MaxPasswordLength), Met: false})
	}
	return check
}
