package auth

import "slices"

// Step is one step of a sign-in.
type Step string

// The steps of a sign-in, in the order NextStep asks for them. Later features add theirs
// (forced password reset, enrollment) between these.
const (
	StepPassword     Step = "password"
	StepSecondFactor Step = "second_factor"
	StepDone         Step = "done"
)

// Method is a way to pass the second-factor step.
type Method string

// The second-factor methods.
const (
	MethodEmail   Method = "email"
	MethodTOTP    Method = "totp"
	MethodBackup  Method = "backup"
	MethodPasskey Method = "passkey"
)

// SignInState is what a sign-in has done so far and what is known of its user: everything
// NextStep needs to decide, with no HTTP and no SQL. A passkey sign-in does the password and
// second-factor steps at once.
type SignInState struct {
	PasswordDone     bool
	SecondFactorDone bool
	HasTOTP          bool
	HasPasskey       bool
}

// NextStep decides what a sign-in must do next. The policy is read at each new sign-in; only
// StepDone may create a session (and, later, issue an SSO assertion or code).
func NextStep(s SignInState) Step {
	switch {
	case !s.PasswordDone:
		return StepPassword
	case !s.SecondFactorDone:
		return StepSecondFactor
	}
	return StepDone
}

// SecondFactorMethods lists the methods the second-factor step accepts for this sign-in: a user
// with TOTP gives a TOTP or backup code instead of an e-mail code; a user with a passkey may
// also use it.
func SecondFactorMethods(s SignInState) []Method {
	var methods []Method
	if s.HasTOTP {
		methods = append(methods, MethodTOTP, MethodBackup)
	} else {
		methods = append(methods, MethodEmail)
	}
	if s.HasPasskey {
		methods = append(methods, MethodPasskey)
	}
	return methods
}

// Allows reports whether the second-factor step of this sign-in accepts method.
func (s SignInState) Allows(m Method) bool { return slices.Contains(SecondFactorMethods(s), m) }
