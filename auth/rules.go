package auth

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Throttle is a limit of Max events per Window.
type Throttle struct {
	Max    int
	Window time.Duration
}

// The sign-in limits. Failures are counted per e-mail address (known or not, so a throttled
// answer says nothing about whether an account exists) and per client IP.
var (
	PasswordFailuresPerAccount = Throttle{Max: 5, Window: 15 * time.Minute}
	PasswordFailuresPerIP      = Throttle{Max: 30, Window: 15 * time.Minute}
	CodeFailuresPerUser        = Throttle{Max: 10, Window: 15 * time.Minute}
	CodeFailuresPerIP          = Throttle{Max: 30, Window: 15 * time.Minute}
	// CodeMails allows the first code of a sign-in and 3 resends in 5 minutes, per user.
	CodeMails          = Throttle{Max: 4, Window: 5 * time.Minute}
	SetupFailuresPerIP = Throttle{Max: 10, Window: 15 * time.Minute}
)

// Code lifetimes and limits.
const (
	EmailCodeTTL      = 10 * time.Minute
	EmailCodeMaxTries = 5
	SignInTTL         = 15 * time.Minute
	SessionTTL        = 14 * 24 * time.Hour
	SetupLinkTTL      = time.Hour
)

// Password length bounds that hold whatever the policy says.
const (
	SuperAdminMinPasswordLength = 14
	MaxPasswordLength           = 256
)

// PasswordPolicy is the tenant's password settings.
type PasswordPolicy struct {
	MinLength int
}

// PasswordSubject is the person a password is for: the rule depends on their role.
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

// PasswordCheck is the verdict on a candidate password: every requirement, met or not.
type PasswordCheck struct {
	Requirements []Requirement
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

// MinLengthFor is the shortest password this subject may set under p.
func (p PasswordPolicy) MinLengthFor(s PasswordSubject) int {
	n := p.MinLength
	if s.SuperAdmin && n < SuperAdminMinPasswordLength {
		n = SuperAdminMinPasswordLength
	}
	return n
}

// CheckPassword is the one rule every place that sets a password calls. Length counts
// characters (Unicode code points), not bytes.
func CheckPassword(password string, s PasswordSubject, p PasswordPolicy) PasswordCheck {
	n := utf8.RuneCountInString(password)
	min := p.MinLengthFor(s)
	return PasswordCheck{Requirements: []Requirement{
		{Text: fmt.Sprintf("At least %d characters", min), Met: n >= min},
		{Text: fmt.Sprintf("At most %d characters", MaxPasswordLength), Met: n <= MaxPasswordLength},
	}}
}
