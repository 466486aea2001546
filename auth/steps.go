package auth

import "slices"

// Step is one step of a sign-in.
type Step string

// The steps of a sign-in, in the order NextStep asks for them.
const (
	StepPassword      Step = "password"
	StepResetPassword Step = "reset_password"
	StepSecondFactor  Step = "second_factor"
	StepEnroll        Step = "enroll"
	StepDone          Step = "done"
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

// SignInState is what a sign-in has done so far, what is known of its user and the tenant's
// policy: everything NextStep needs to decide, with no HTTP and no SQL. A passkey sign-in does
// the password and second-factor steps at once.
type SignInState struct {
	PasswordDone     bool
	SecondFactorDone bool
	// ResetRequired says the user is flagged for a forced password reset (by an admin, a
	// stricter policy or a breach hit): a new password comes before anything else.
	ResetRequired bool
	HasTOTP       bool
	HasPasskey    bool
	Enhanced      bool // the tenant requires TOTP or a passkey (required_auth_strength enhanced)
	// AppEnhanced says the application this sign-in returns to requires TOTP or a passkey (its
	// required_auth_strength, or acr_values): the sign-in must be Enhanced whatever the tenant's
	// policy. A step-up of an existing session is such a sign-in.
	AppEnhanced bool
	// OnlyEmailCode says the second factor was an e-mail code and this sign-in enrolled nothing.
	OnlyEmailCode bool
}

// NextStep decides what a sign-in must do next. The policy is read at each new sign-in; only
// StepDone may create a session (and, later, issue an SSO assertion or code).
func NextStep(s SignInState) Step {
	enhanced := s.enhanced()
	switch {
	case !s.PasswordDone:
		return StepPassword
	case s.ResetRequired:
		// Right after the password (or a passkey): the old password proved who this is and must
		// not be kept, so the second factor and enrollment come after the new one is set.
		return StepResetPassword
	case !s.SecondFactorDone:
		return StepSecondFactor
	case enhanced && s.OnlyEmailCode && (s.HasTOTP || s.HasPasskey):
		// Under Enhanced an e-mail code only ever leads to enrollment. If the user gained a
		// strong factor meanwhile (another sign-in enrolled it), this sign-in did not, and must
		// present that factor itself. This is also the step-up: a sign-in with only an email
		// code, for an application that requires Enhanced.
		return StepSecondFactor
	case enhanced && !s.HasTOTP && !s.HasPasskey:
		return StepEnroll
	}
	return StepDone
}

// SecondFactorMethods lists the methods the second-factor step accepts for this sign-in: a user
// with TOTP gives a TOTP or backup code instead of an e-mail code; a user with a passkey may
// also use it. Under Enhanced an e-mail code is accepted only from a user who has nothing
// else, and then only to prove the mailbox before enrollment (StepEnroll), never as the factor
// that completes a sign-in; there is no other way around Enhanced.
func SecondFactorMethods(s SignInState) []Method {
	var methods []Method
	switch {
	case s.HasTOTP:
		methods = append(methods, MethodTOTP, MethodBackup)
	case !s.enhanced() || !s.HasPasskey:
		methods = append(methods, MethodEmail)
	}
	if s.HasPasskey {
		methods = append(methods, MethodPasskey)
	}
	return methods
}

// enhanced says whether this sign-in must be Enhanced: the tenant or the application asks it.
func (s SignInState) enhanced() bool { return s.Enhanced || s.AppEnhanced }

// Allows reports whether the second-factor step of this sign-in accepts method.
func (s SignInState) Allows(m Method) bool { return slices.Contains(SecondFactorMethods(s), m) }
