package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// Mail counts as configured only when it leaves the server: a mailer that only logs (no --smtp)
// does not tick the checklist's mail item.
func TestFirstRunChecklistMail(t *testing.T) {
	ctx := context.Background()
	_, st := newService(t, 14, 3)
	sam, err := st.CreateUser(ctx, store.User{Email: "sam@example.com", Name: "Sam", Role: store.RoleSuperAdmin, Status: store.StatusActive}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logOnly, err := mail.New(mail.Config{From: "weftid@localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := mail.New(mail.Config{SMTPURL: "smtp://127.0.0.1:2525", From: "weftid@localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mailer account.Mailer
		want   bool
	}{"none": {nil, false}, "log only": {logOnly, false}, "smtp": {smtp, true}} {
		svc := account.New(account.Config{Store: st, Keys: auth.NewKeys(make([]byte, 32)), Mailer: tt.mailer})
		c, show, err := svc.FirstRunChecklist(ctx, sam)
		if err != nil {
			t.Fatal(err)
		}
		if !show || c.MailConfigured != tt.want {
			t.Errorf("%s: shown %v, mail configured %v; want shown, %v", name, show, c.MailConfigured, tt.want)
		}
	}
	user := sam
	user.Role = store.RoleAdmin
	svc := account.New(account.Config{Store: st, Keys: auth.NewKeys(make([]byte, 32))})
	if _, show, _ := svc.FirstRunChecklist(ctx, user); show {
		t.Error("an admin is shown the checklist")
	}
}
