package account_test

import (
	"strings"
	"testing"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// TestNoticeMails: every notice says what happened, when, from which IP and browser, and what to
// do if it was not them, and links to where they can act; one done by an admin names the admin.
func TestNoticeMails(t *testing.T) {
	l := newLife(t)
	ada := l.user("ada@example.com", "Ada", store.RoleUser, "h")
	admin := l.user("admin@example.com", "Grace", store.RoleAdmin, "h")
	at := l.now()
	kinds := []struct {
		kind    account.NoticeKind
		by      *store.User
		subject string
		says    string
		link    string
	}{
		{account.NoticeNewSignIn, nil, "New sign-in to your weftid account", "a browser it was not used from before", "/account/security"},
		{account.NoticePasswordChanged, nil, "Your weftid password was changed", "password of your weftid account (ada@example.com) was changed", "/password/forgot"},
		{account.NoticeTOTPEnabled, nil, "An authenticator app was set up for your weftid account", "authenticator app (TOTP) was set up", "/account/security"},
		{account.NoticeTOTPRemoved, nil, "The authenticator app was removed from your weftid account", "was removed", "/account/security"},
		{account.NoticeBackupCodesRenewed, nil, "New backup codes for your weftid account", "old ones no longer work", "/account/security"},
		{account.NoticePasskeyAdded, nil, "A passkey was added to your weftid account", "“Laptop”, was added to your weftid account (ada@example.com)", "/account/security"},
		{account.NoticePasskeyRemoved, &admin, "A passkey was removed from your weftid account", "An administrator did it: Grace (admin@example.com)", "/account/security"},
	}
	for _, k := range kinds {
		l.svc.Notify(account.Notice{Kind: k.kind, User: ada, At: at, Origin: origin, By: k.by, Detail: "Laptop"})
	}
	mails := l.mailsTo(ada.Email)
	if len(mails) != len(kinds) {
		t.Fatalf("%d notices mailed, want %d", len(mails), len(kinds))
	}
	for _, k := range kinds {
		var text string
		for _, m := range mails {
			if m.Subject == k.subject {
				text = m.Text
			}
		}
		if text == "" {
			t.Errorf("no notice with the subject %q", k.subject)
			continue
		}
		advice := "If it was not"
		if k.by != nil {
			advice = "If you did not expect this, ask them why."
		}
		for _, want := range []string{"Hello Ada,", k.says, "Time: Sunday 1 March 2026, 12:00 UTC", "IP address: 192.0.2.7", "Browser: Firefox on Linux", advice, "http://localhost" + k.link} {
			if !strings.Contains(text, want) {
				t.Errorf("%q does not say %q:\n%s", k.subject, want, text)
			}
		}
	}
}
