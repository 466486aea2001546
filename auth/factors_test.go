package auth_test

import (
	"slices"
	"testing"

	"github.com/weftid/weftid/auth"
)

func TestFactorsAMRAndACR(t *testing.T) {
	tests := []struct {
		f   auth.Factors
		amr []string
		acr string
	}{
		{0, nil, auth.ACRBaseline}, // a session from before factors were recorded
		{auth.FactorPassword, []string{"pwd"}, auth.ACRBaseline},
		{auth.FactorPassword | auth.FactorEmailCode, []string{"pwd", "email", "mfa"}, auth.ACRBaseline},
		{auth.FactorPassword | auth.FactorOTP, []string{"pwd", "otp", "mfa"}, auth.ACREnhanced},
		{auth.FactorPasskeyHW, []string{"hwk", "mfa"}, auth.ACREnhanced},
		{auth.FactorPasskeySW, []string{"swk", "mfa"}, auth.ACREnhanced},
		{auth.FactorPassword | auth.FactorPasskeyHW, []string{"pwd", "hwk", "mfa"}, auth.ACREnhanced},
		{auth.FactorPassword | auth.FactorEmailCode | auth.FactorOTP, []string{"pwd", "email", "otp", "mfa"}, auth.ACREnhanced},
	}
	for _, tt := range tests {
		if got := tt.f.AMR(); !slices.Equal(got, tt.amr) {
			t.Errorf("Factors(%d).AMR() = %q, want %q", tt.f, got, tt.amr)
		}
		if got := tt.f.ACR(); got != tt.acr {
			t.Errorf("Factors(%d).ACR() = %q, want %q", tt.f, got, tt.acr)
		}
	}
	if auth.PasskeyFactor(true) != auth.FactorPasskeySW || auth.PasskeyFactor(false) != auth.FactorPasskeyHW {
		t.Error("PasskeyFactor: a backup-eligible passkey is synced (swk), any other device-bound (hwk)")
	}
}

func TestRequiresEnhanced(t *testing.T) {
	tests := []struct {
		strength string
		acr      []string
		want     bool
	}{
		{auth.AppStrengthTenant, nil, false},
		{auth.AppStrengthEnhanced, nil, true},
		{auth.AppStrengthTenant, []string{auth.ACRBaseline}, false},
		{auth.AppStrengthTenant, []string{"urn:other", auth.ACREnhanced}, true},
		{auth.AppStrengthEnhanced, []string{auth.ACRBaseline}, true}, // an app's requirement is not asked away
	}
	for _, tt := range tests {
		if got := auth.RequiresEnhanced(tt.strength, tt.acr); got != tt.want {
			t.Errorf("RequiresEnhanced(%q, %q) = %v, want %v", tt.strength, tt.acr, got, tt.want)
		}
	}
	for s, want := range map[string]bool{"tenant": true, "enhanced": true, "baseline": false, "": false} {
		if auth.ValidAppStrength(s) != want {
			t.Errorf("ValidAppStrength(%q) = %v", s, !want)
		}
	}
}
