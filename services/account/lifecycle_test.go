package account_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// life is the account service over a real SQLite file, a real mailer talking to an in-process
// SMTP server, a job runner for the mail sent after a commit, and a clock the tests move by hand
// (only the test's own goroutine reads it: the mail sent in the background is built before).
type life struct {
	t     *testing.T
	svc   *account.Service
	store *store.Store
	mail  *mailtest.Server
	jobs  *jobs.Runner
	at    time.Time
}

// now is the clock's time; advance moves it on.
func (l *life) now() time.Time          { return l.at }
func (l *life) advance(d time.Duration) { l.at = l.at.Add(d) }

var origin = store.Origin{IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"}

func newLife(t *testing.T) *life {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := mailtest.Start(t)
	mailer, err := mail.New(mail.Config{SMTPURL: srv.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := auth.NewHasher(testParams, 1, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	runner := jobs.New(ctx, log)
	t.Cleanup(func() { runner.Stop(context.Background()) })
	keys := auth.NewKeys(make([]byte, 32))
	l := &life{t: t, store: st, mail: srv, jobs: runner, at: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l.svc = account.New(account.Config{Store: st, Hasher: hasher, Keys: keys, Mailer: mailer, Jobs: runner, Log: log, Now: l.now})
	return l
}

// user stores an active user with a password (hash "" for an invited user).
func (l *life) user(email, name string, role store.Role, hash string) store.User {
	l.t.Helper()
	u, err := l.store.CreateUser(context.Background(), store.User{Email: email, Name: name, Role: role, PasswordHash: hash}, l.now())
	if err != nil {
		l.t.Fatal(err)
	}
	return u
}

// events are the events of one type, oldest first.
func (l *life) events(typ store.EventType) []store.Event {
	l.t.Helper()
	evs, err := l.store.ListEvents(context.Background(), store.EventFilter{Type: typ, Limit: 1000})
	if err != nil {
		l.t.Fatal(err)
	}
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs
}

// mailsTo are the messages accepted for addr once the background work is done.
func (l *life) mailsTo(addr string) []mailtest.Received {
	l.jobs.Wait()
	var out []mailtest.Received
	for _, m := range l.mail.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// session gives u a session and a sign-in in progress.
func (l *life) session(u store.User, id string) {
	l.t.Helper()
	ctx, now := context.Background(), l.now()
	if err := l.store.CreateSession(ctx, store.Session{IDHash: []byte("s" + id), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		l.t.Fatal(err)
	}
	if err := l.store.CreateSignIn(ctx, store.SignIn{IDHash: []byte("i" + id), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		l.t.Fatal(err)
	}
}

// liveRows counts u's sessions and sign-ins in progress.
func (l *life) liveRows(u store.User) int {
	l.t.Helper()
	f, err := l.store.UserFootprint(context.Background(), u.ID)
	if err != nil {
		l.t.Fatal(err)
	}
	return f.Sessions + f.SignIns
}

func TestUpdateProfile(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	super := l.user("root@example.com", "Root", store.RoleSuperAdmin, "h")
	admin := l.user("admin@example.com", "Admin", store.RoleAdmin, "h")
	ada := l.user("ada@example.com", "Ada", store.RoleUser, "h")
	l.user("taken@example.com", "Taken", store.RoleUser, "h")
	l.session(ada, "ada")
	if err := l.store.CreatePasswordReset(ctx, []byte("reset"), ada.ID, l.now(), l.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	// A new name alone: logged, nobody signed out, no mail.
	ch, err := l.svc.UpdateProfile(ctx, admin, ada.ID, "  Ada Lovelace ", "ada@example.com", origin)
	if err != nil || ch.EmailChanged || ch.User.Name != "Ada Lovelace" {
		t.Fatalf("rename: %+v, %v", ch, err)
	}
	if n := l.liveRows(ada); n != 2 {
		t.Errorf("a rename ended sessions: %d left, want 2", n)
	}
	ev := l.events(store.EventUserUpdated)
	if len(ev) != 1 || *ev[0].ActorID != admin.ID || *ev[0].UserID != ada.ID ||
		ev[0].Details["old"].(map[string]any)["name"] != "Ada" || ev[0].Details["new"].(map[string]any)["name"] != "Ada Lovelace" ||
		ev[0].Details["new"].(map[string]any)["email"] != nil {
		t.Errorf("user_updated after a rename: %+v", ev)
	}

	// The same values again: nothing to do, nothing logged.
	if _, err := l.svc.UpdateProfile(ctx, admin, ada.ID, "Ada Lovelace", "ADA@example.com", origin); err != nil {
		t.Fatal(err)
	}
	if n := len(l.events(store.EventUserUpdated)); n != 1 {
		t.Errorf("%d user_updated after no change, want still 1", n)
	}

	// Refusals: the fields, a taken address, a super admin for an admin, yourself.
	var problems account.Problems
	if _, err := l.svc.UpdateProfile(ctx, admin, ada.ID, "", "not an address", origin); !errors.As(err, &problems) || len(problems) != 2 {
		t.Errorf("empty name and bad address: %v, want two problems", err)
	}
	if _, err := l.svc.UpdateProfile(ctx, admin, ada.ID, "Ada", "Taken@Example.com", origin); !errors.Is(err, account.ErrEmailTaken) || !errors.As(err, &problems) {
		t.Errorf("a taken address: %v, want ErrEmailTaken with its problem", err)
	}
	if _, err := l.svc.UpdateProfile(ctx, admin, super.ID, "Root", "root2@example.com", origin); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("an admin editing a super admin: %v, want ErrForbidden", err)
	}
	if _, err := l.svc.UpdateProfile(ctx, admin, admin.ID, "Me", "me@example.com", origin); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("an admin editing themselves: %v, want ErrForbidden", err)
	}
	if _, err := l.svc.UpdateProfile(ctx, admin, 999, "X", "x@example.com", origin); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("nobody: %v, want ErrNotFound", err)
	}
	if got, _ := l.store.UserByID(ctx, ada.ID); got.Email != "ada@example.com" {
		t.Errorf("a refused change changed the address to %q", got.Email)
	}

	// A new address: sessions, sign-ins and reset links end; both addresses are told.
	ch, err = l.svc.UpdateProfile(ctx, super, ada.ID, "Ada Lovelace", "ada.lovelace@example.com", origin)
	if err != nil || !ch.EmailChanged || ch.InvitationVoided {
		t.Fatalf("new address: %+v, %v", ch, err)
	}
	if n := l.liveRows(ada); n != 0 {
		t.Errorf("%d sessions and sign-ins left after an address change, want 0", n)
	}
	if _, err := l.svc.ResetLinkUser(ctx, "reset"); !errors.Is(err, account.ErrInvalidLink) {
		t.Errorf("reset link after an address change: %v, want ErrInvalidLink", err)
	}
	ev = l.events(store.EventUserUpdated)
	last := ev[len(ev)-1]
	if last.Details["old"].(map[string]any)["email"] != "ada@example.com" || last.Details["new"].(map[string]any)["email"] != "ada.lovelace@example.com" ||
		last.Details["sessions_ended"] != float64(1) {
		t.Errorf("user_updated after an address change: %v", last.Details)
	}
	old, fresh := l.mailsTo("ada@example.com"), l.mailsTo("ada.lovelace@example.com")
	if len(old) != 1 || len(fresh) != 1 {
		t.Fatalf("%d mails to the old address and %d to the new, want one each", len(old), len(fresh))
	}
	for _, want := range []string{"ada.lovelace@example.com", "Root (root@example.com)", "192.0.2.7", "Firefox on Linux", "UTC"} {
		if !strings.Contains(old[0].Text, want) || !strings.Contains(fresh[0].Text, want) {
			t.Errorf("the two mails do not both say %q:\n%s\n---\n%s", want, old[0].Text, fresh[0].Text)
		}
	}
	if !strings.Contains(old[0].Subject, "changed") || !strings.Contains(fresh[0].Text, "/login") {
		t.Errorf("mails: %q to the old address; to the new:\n%s", old[0].Subject, fresh[0].Text)
	}
}

// TestUpdateProfileVoidsInvitation: the invitation of a user whose address changes went to the
// old address, so its link stops working.
func TestUpdateProfileVoidsInvitation(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	admin := l.user("admin@example.com", "Admin", store.RoleAdmin, "h")
	created, err := l.svc.CreateUser(ctx, account.NewUser{Email: "typo@exmaple.com", Name: "New", Role: store.RoleUser, By: &admin}, origin)
	if err != nil {
		t.Fatal(err)
	}
	link := token(t, l.mailsTo("typo@exmaple.com")[0].Text)
	if _, err := l.svc.InvitedUser(ctx, link); err != nil {
		t.Fatalf("the invitation does not work before the change: %v", err)
	}
	ch, err := l.svc.UpdateProfile(ctx, admin, created.User.ID, "New", "new@example.com", origin)
	if err != nil || !ch.InvitationVoided {
		t.Fatalf("UpdateProfile: %+v, %v; want the invitation voided", ch, err)
	}
	if _, err := l.svc.InvitedUser(ctx, link); !errors.Is(err, account.ErrInvalidLink) {
		t.Errorf("the old invitation link after the change: %v, want ErrInvalidLink", err)
	}
	if inv, err := l.svc.InvitationOf(ctx, ch.User); err != nil || !inv.Pending || inv.Live {
		t.Errorf("InvitationOf = %+v, %v; want pending, no live link", inv, err)
	}
}

func TestUpdateOwnName(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	u := l.user("ada@example.com", "Ada", store.RoleUser, "h")
	l.session(u, "ada")
	got, err := l.svc.UpdateOwnName(ctx, u, " Ada Lovelace ", origin)
	if err != nil || got.Name != "Ada Lovelace" {
		t.Fatalf("UpdateOwnName = %+v, %v", got, err)
	}
	if n := l.liveRows(u); n != 2 {
		t.Errorf("a new name ended sessions: %d left", n)
	}
	ev := l.events(store.EventUserUpdated)
	if len(ev) != 1 || *ev[0].ActorID != u.ID || ev[0].Details["new"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Errorf("user_updated: %+v", ev)
	}
	var problems account.Problems
	if _, err := l.svc.UpdateOwnName(ctx, u, strings.Repeat("x", 201), origin); !errors.As(err, &problems) || problems[0] != account.MsgInvalidName {
		t.Errorf("a long name: %v, want %q", err, account.MsgInvalidName)
	}
	if _, err := l.svc.UpdateOwnName(ctx, u, "Ada Lovelace", origin); err != nil || len(l.events(store.EventUserUpdated)) != 1 {
		t.Errorf("the same name again: %v, or it was logged", err)
	}
}

// TestDeleteUser: only a super admin, never themselves or the last active super admin, with
// the address typed; the user's things go, their events stay and name them, and the event chain
// still verifies.
func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	super := l.user("root@example.com", "Root", store.RoleSuperAdmin, "h")
	other := l.user("other@example.com", "Other", store.RoleSuperAdmin, "h")
	admin := l.user("admin@example.com", "Admin", store.RoleAdmin, "h")
	gone := l.user("gone@example.com", "Gone", store.RoleUser, "h")
	l.session(gone, "gone")
	if _, err := l.svc.UpdateOwnName(ctx, gone, "Gone Away", origin); err != nil { // an event they did
		t.Fatal(err)
	}
	if _, err := l.svc.DeleteUser(ctx, admin, gone.ID, gone.Email, origin); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("an admin deleting: %v, want ErrForbidden", err)
	}
	if _, err := l.svc.DeleteUser(ctx, super, super.ID, super.Email, origin); !errors.Is(err, account.ErrDeleteSelf) {
		t.Errorf("deleting yourself: %v, want ErrDeleteSelf", err)
	}
	var problems account.Problems
	if _, err := l.svc.DeleteUser(ctx, super, gone.ID, "someone@example.com", origin); !errors.As(err, &problems) || problems[0] != account.MsgConfirmEmail {
		t.Errorf("a wrong address typed: %v, want %q", err, account.MsgConfirmEmail)
	}
	if _, err := l.svc.DeleteUser(ctx, super, 999, "x@example.com", origin); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("nobody: %v, want ErrNotFound", err)
	}
	if _, err := l.store.UserByID(ctx, gone.ID); err != nil {
		t.Fatalf("a refused deletion deleted: %v", err)
	}

	was, err := l.svc.DeleteUser(ctx, super, gone.ID, "  GONE@Example.com ", origin)
	if err != nil || was.Email != "gone@example.com" {
		t.Fatalf("DeleteUser = %+v, %v", was, err)
	}
	if _, err := l.store.UserByID(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the user is still there: %v", err)
	}
	if n := l.liveRows(gone); n != 0 {
		t.Errorf("%d sessions and sign-ins of the deleted user left", n)
	}
	ev := l.events(store.EventUserDeleted)
	if len(ev) != 1 || *ev[0].ActorID != super.ID || *ev[0].UserID != gone.ID || ev[0].Details["email"] != "gone@example.com" ||
		ev[0].Details["name"] != "Gone Away" || ev[0].Details["sessions"] != float64(1) {
		t.Errorf("user_deleted: %+v", ev)
	}
	if r := l.events(store.EventOAuth2UserTokensRevoked); len(r) != 1 || r[0].Details["reason"] != "user_deleted" {
		t.Errorf("oauth2_user_tokens_revoked: %+v", r)
	}
	// Their events stay and name them by the address they had.
	a := audit.New(audit.Config{Store: l.store, Now: l.now})
	page, err := a.Events(ctx, audit.Filter{User: "gone@example.com"})
	if err != nil || len(page.Rows) != 3 { // user_updated by them, the revocation and user_deleted
		t.Fatalf("events of the deleted user's address: %d, %v; want 3", len(page.Rows), err)
	}
	for _, r := range page.Rows {
		if r.User != "gone@example.com (deleted)" || r.UserFound {
			t.Errorf("%s names its user %q (found %v), want gone@example.com (deleted)", r.Event.Type, r.User, r.UserFound)
		}
	}
	if res, err := a.Verify(ctx); err != nil || !res.Intact {
		t.Errorf("the event chain after a deletion: %+v, %v; want intact", res, err)
	}

	// The last active super admin stays, even for a super admin whose own account was
	// deactivated while they were at it.
	if err := l.store.SetUserStatus(ctx, super.ID, store.StatusInactive, l.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.svc.DeleteUser(ctx, super, other.ID, other.Email, origin); !errors.Is(err, account.ErrLastSuperAdminDelete) {
		t.Errorf("deleting the last active super admin: %v, want ErrLastSuperAdminDelete", err)
	}
}

func TestResendInvitation(t *testing.T) {
	ctx := context.Background()
	l := newLife(t)
	super := l.user("root@example.com", "Root", store.RoleSuperAdmin, "h")
	admin := l.user("admin@example.com", "Admin", store.RoleAdmin, "h")
	withPassword := l.user("set@example.com", "Set", store.RoleUser, "h")
	created, err := l.svc.CreateUser(ctx, account.NewUser{Email: "new@example.com", Name: "New", Role: store.RoleUser, By: &admin}, origin)
	if err != nil {
		t.Fatal(err)
	}
	u := created.User
	first := token(t, l.mailsTo(u.Email)[0].Text)

	l.advance(time.Hour)
	r, err := l.svc.ResendInvitation(ctx, admin, u.ID, origin)
	if err != nil || !r.Mailed || !strings.Contains(r.Link, "/invite/") || !r.Expires.Equal(l.now().Add(account.InviteTTL)) {
		t.Fatalf("ResendInvitation = %+v, %v", r, err)
	}
	second := token(t, r.Link)
	if second == first {
		t.Fatal("the new link is the old one")
	}
	if _, err := l.svc.InvitedUser(ctx, first); !errors.Is(err, account.ErrInvalidLink) {
		t.Errorf("the old link: %v, want ErrInvalidLink", err)
	}
	if got, err := l.svc.InvitedUser(ctx, second); err != nil || got.ID != u.ID {
		t.Errorf("the new link: %+v, %v", got, err)
	}
	mails := l.mailsTo(u.Email)
	if len(mails) != 2 || !strings.Contains(mails[1].Text, r.Link) {
		t.Errorf("%d mails; the second does not carry the new link", len(mails))
	}
	inv, err := l.svc.InvitationOf(ctx, u)
	if err != nil || !inv.Live || !inv.Sent.Equal(l.now()) || !inv.Expires.Equal(r.Expires) {
		t.Errorf("InvitationOf = %+v, %v", inv, err)
	}
	if ev := l.events(store.EventUserInvitationResent); len(ev) != 1 || *ev[0].ActorID != admin.ID || *ev[0].UserID != u.ID {
		t.Errorf("user_invitation_resent: %+v", ev)
	}

	// Five an hour per user, whoever asks.
	for i := 2; i <= 5; i++ {
		if _, err := l.svc.ResendInvitation(ctx, super, u.ID, origin); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	if _, err := l.svc.ResendInvitation(ctx, super, u.ID, origin); !errors.Is(err, account.ErrResendLimited) {
		t.Errorf("6th resend in an hour: %v, want ErrResendLimited", err)
	}
	l.advance(time.Hour)
	if _, err := l.svc.ResendInvitation(ctx, admin, u.ID, origin); err != nil {
		t.Errorf("a resend an hour later: %v", err)
	}

	// Refusals.
	if _, err := l.svc.ResendInvitation(ctx, admin, withPassword.ID, origin); !errors.Is(err, account.ErrNotInvited) {
		t.Errorf("a user with a password: %v, want ErrNotInvited", err)
	}
	invitedSuper, err := l.svc.CreateUser(ctx, account.NewUser{Email: "boss@example.com", Name: "Boss", Role: store.RoleSuperAdmin, By: &super}, origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.svc.ResendInvitation(ctx, admin, invitedSuper.User.ID, origin); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("an admin, for a super admin: %v, want ErrForbidden", err)
	}
	if err := l.svc.SetStatus(ctx, admin, u.ID, store.StatusInactive, origin); err != nil {
		t.Fatal(err)
	}
	if _, err := l.svc.ResendInvitation(ctx, admin, u.ID, origin); !errors.Is(err, account.ErrInviteInactive) {
		t.Errorf("a deactivated user: %v, want ErrInviteInactive", err)
	}
}

// token is the invitation token of the first link in text.
func token(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, "/invite/")
	if i < 0 {
		t.Fatalf("no invitation link in %q", text)
	}
	return strings.Fields(text[i+len("/invite/"):])[0]
}
