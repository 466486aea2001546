package auth

import "slices"

// Factors is the set of ways a sign-in proved who it is, kept on the sign-in as its steps pass
// and on the session it makes (a bit set, stored as an integer). Applications are told which
// (AMR, ACR), and one that requires Enhanced sends a session that is not Strong through a
// step-up.
type Factors int64

// The factors a sign-in can use.
const (
	FactorPassword  Factors = 1 << iota // the password
	FactorEmailCode                     // a code mailed to the user's address
	FactorOTP                           // a TOTP code, or a backup code made with TOTP
	FactorPasskeyHW                     // a device-bound passkey (the authenticator says it cannot be backed up)
	FactorPasskeySW                     // a synced passkey (backup-eligible: it lives in a cloud keychain too)
)

// PasskeyFactor is the factor of a passkey: synced when the authenticator flags its credential
// backup-eligible (WebAuthn's BE flag), device-bound otherwise.
func PasskeyFactor(backupEligible bool) Factors {
	if backupEligible {
		return FactorPasskeySW
	}
	return FactorPasskeyHW
}

// Has reports whether every factor of g was used.
func (f Factors) Has(g Factors) bool { return g != 0 && f&g == g }

// Strong reports whether a factor was TOTP (or a backup code) or a passkey: what Enhanced asks.
// An email code is not.
func (f Factors) Strong() bool { return f&(FactorOTP|FactorPasskeyHW|FactorPasskeySW) != 0 }

// The authentication context classes weftid asserts (acr), also the values an application may
// ask for with acr_values.
const (
	// ACRBaseline: a password and an email code (or a session whose factors are unknown).
	ACRBaseline = "urn:weftid:loa:baseline"
	// ACREnhanced: TOTP, a backup code or a passkey was used.
	ACREnhanced = "urn:weftid:loa:enhanced"
)

// ACRValues are the classes weftid can assert, weakest first (discovery's acr_values_supported).
var ACRValues = []string{ACRBaseline, ACREnhanced}

// ACR is the class a sign-in with these factors meets.
func (f Factors) ACR() string {
	if f.Strong() {
		return ACREnhanced
	}
	return ACRBaseline
}

// The RFC 8176 authentication method references weftid uses, and "email" (not registered there)
// for a code sent by email, as Okta names it: RFC 8176's "otp" would tell an application that
// a one-time-password device was used, which is what Enhanced is about.
const (
	AMRPassword = "pwd"   // RFC 8176: password
	AMREmail    = "email" // a code mailed to the user's address
	AMROTP      = "otp"   // RFC 8176: one-time password (TOTP, or a backup code)
	AMRHardware = "hwk"   // RFC 8176: proof of possession of a hardware-secured key (device-bound passkey)
	AMRSoftware = "swk"   // RFC 8176: proof of possession of a software-secured key (synced passkey)
	AMRMFA      = "mfa"   // RFC 8176: multiple-factor authentication
)

// AMR lists the methods of f (RFC 8176), with "mfa" when two factors were used. A passkey is
// always verified with the user's PIN or biometric (user verification required), so it counts as
// two factors on its own. Nothing is listed for a session whose factors were not recorded.
func (f Factors) AMR() []string {
	var amr []string
	for _, m := range []struct {
		f   Factors
		amr string
	}{{FactorPassword, AMRPassword}, {FactorEmailCode, AMREmail}, {FactorOTP, AMROTP}, {FactorPasskeyHW, AMRHardware}, {FactorPasskeySW, AMRSoftware}} {
		if f&m.f != 0 {
			amr = append(amr, m.amr)
		}
	}
	if len(amr) >= 2 || f&(FactorPasskeyHW|FactorPasskeySW) != 0 {
		amr = append(amr, AMRMFA)
	}
	return amr
}

// The required authentication strength of an application.
const (
	AppStrengthTenant   = "tenant"   // what the tenant's policy requires
	AppStrengthEnhanced = "enhanced" // TOTP or a passkey, whatever the tenant's policy
)

// ValidAppStrength reports whether s is a required authentication strength an application may
// have.
func ValidAppStrength(s string) bool { return s == AppStrengthTenant || s == AppStrengthEnhanced }

// RequiresEnhanced says whether a sign-in for an application must be Enhanced: the application
// requires it, or its request asked for it (acr_values with ACREnhanced).
func RequiresEnhanced(appStrength string, acrValues []string) bool {
	return appStrength == AppStrengthEnhanced || slices.Contains(acrValues, ACREnhanced)
}
