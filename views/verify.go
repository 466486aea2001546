package views

import "github.com/weftid/weftid/auth"

// Offer turns on the parts of the form for the second-factor methods the sign-in may use
// (auth.SecondFactorMethods).
func (f *VerifyForm) Offer(methods []auth.Method) {
	for _, m := range methods {
		switch m {
		case auth.MethodEmail:
			f.EmailCode = true
		case auth.MethodTOTP:
			f.TOTP = true
		case auth.MethodPasskey:
			f.Passkey = true
		}
	}
}

// Title is the page's title: it asks to check the e-mail when a code was mailed.
func (f VerifyForm) Title() string {
	if f.EmailCode {
		return "Check your email"
	}
	return "Two-step verification"
}
