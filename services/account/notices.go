package account

// Notices by mail: a user hears of a sign-in from a browser their account was never used from,
// of each second factor added or removed, and of each change of their password, with the time,
// the IP address and the browser, and what to do if it was not them. A notice is mailed in the
// background (services/jobs) once the change it tells of is committed; a failed mail is logged
// and changes nothing.

import (
	"context"
	"fmt"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/store"
)

// NoticeKind is what a notice tells.
type NoticeKind int

// The notices.
const (
	// NoticeNewSignIn: a sign-in finished in a browser that had no device cookie of the user.
	NoticeNewSignIn NoticeKind = iota
	// NoticePasswordChanged: the password was changed (Account > Password, a reset link, or the
	// new password of a forced reset).
	NoticePasswordChanged
	NoticeTOTPEnabled
	NoticeTOTPRemoved
	NoticeBackupCodesRenewed
	NoticePasskeyAdded
	NoticePasskeyRemoved
)

// Notice is one notice to a user: what happened (Kind; Detail names the passkey), when, from
// where, and by whom when it was an admin (By; nil: the user, or a browser signed in as them).
type Notice struct {
	Kind   NoticeKind
	User   store.User
	At     time.Time
	Origin store.Origin
	By     *store.User
	Detail string
}

// noticeTimeout bounds the sending of one notice, retries included.
const noticeTimeout = 2 * time.Minute

// Notify mails n to its user in the background. Call it only after the change it tells of was
// committed. Nothing is sent without a mailer.
func (s *Service) Notify(n Notice) {
	s.mailLater(fmt.Sprintf("notice %d", n.Kind), n.User.ID, s.noticeMail(n))
}

// mailLater sends msg in the background (services/jobs), logging a failure; userID names whom it
// concerns in the log.
func (s *Service) mailLater(what string, userID int64, msg mail.Message) {
	if s.mailer == nil {
		return
	}
	s.jobs.Go(what, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, noticeTimeout)
		defer cancel()
		if err := s.mailer.Send(ctx, msg); err != nil {
			s.log.Warn("mail not sent", "what", what, "user_id", userID, "err", err)
		}
	})
}

// noticeFacts are the time, the IP address and the browser of a change, as a notice lists them.
func noticeFacts(at time.Time, o store.Origin) []mail.Fact {
	ip := o.IP
	if ip == "" {
		ip = "unknown"
	}
	return []mail.Fact{
		{Label: "Time", Value: at.UTC().Format("Monday 2 January 2006, 15:04 UTC")},
		{Label: "IP address", Value: ip},
		{Label: "Browser", Value: auth.BrowserName(o.UserAgent)},
	}
}

// noticeWords is what a notice says of one kind: its subject, what happened (to follow "Hello
// NAME,"; %s is the account's address, and for a passkey then its name), the advice, and the
// page its button opens.
type noticeWords struct {
	subject, what, advice, linkText, path string
}

const (
	adviceFactor = "If this was you, there is nothing to do. If it was not, someone can sign in as you: " +
		"change your password, check your second factors and devices under Account > Security, and tell your administrator."
	advicePassword = "If this was you, there is nothing to do. If it was not, someone may be signed in as you: " +
		"choose a new password at once with \"Forgot password?\" (the button below) and tell your administrator."
)

var noticeText = map[NoticeKind]noticeWords{
	NoticeNewSignIn: {"New sign-in to your weftid account",
		"Your weftid account (%s) was just signed in to from a browser it was not used from before.",
		"If this was you, there is nothing to do. If it was not, someone knows your password and got past your second step: " +
			"change your password at once, remove the devices you do not know under Account > Security, and tell your administrator.",
		"Review your devices", "/account/security"},
	NoticePasswordChanged: {"Your weftid password was changed",
		"The password of your weftid account (%s) was changed.", advicePassword, "Forgot password?", "/password/forgot"},
	NoticeTOTPEnabled: {"An authenticator app was set up for your weftid account",
		"An authenticator app (TOTP) was set up for your weftid account (%s), with a new set of backup codes.",
		adviceFactor, "Open Account > Security", "/account/security"},
	NoticeTOTPRemoved: {"The authenticator app was removed from your weftid account",
		"The authenticator app (TOTP) of your weftid account (%s) was removed, and its backup codes with it.",
		adviceFactor, "Open Account > Security", "/account/security"},
	NoticeBackupCodesRenewed: {"New backup codes for your weftid account",
		"New backup codes were made for your weftid account (%s). The old ones no longer work.",
		adviceFactor, "Open Account > Security", "/account/security"},
	NoticePasskeyAdded: {"A passkey was added to your weftid account",
		"A passkey, “%[2]s”, was added to your weftid account (%[1]s).",
		adviceFactor, "Open Account > Security", "/account/security"},
	NoticePasskeyRemoved: {"A passkey was removed from your weftid account",
		"The passkey “%[2]s” was removed from your weftid account (%[1]s). It no longer signs you in.",
		adviceFactor, "Open Account > Security", "/account/security"},
}

// noticeMail is the message of n.
func (s *Service) noticeMail(n Notice) mail.Message {
	w := noticeText[n.Kind]
	what := w.what
	if n.Kind == NoticePasskeyAdded || n.Kind == NoticePasskeyRemoved {
		what = fmt.Sprintf(what, n.User.Email, n.Detail)
	} else {
		what = fmt.Sprintf(what, n.User.Email)
	}
	facts := noticeFacts(n.At, n.Origin)
	advice := w.advice
	if n.By != nil {
		what += fmt.Sprintf(" An administrator did it: %s (%s).", displayName(*n.By), n.By.Email)
		facts = append(facts, mail.Fact{Label: "By", Value: n.By.Email})
		advice = "If you did not expect this, ask them why."
	}
	intro := fmt.Sprintf("Hello %s,\n\n%s", displayName(n.User), what)
	return mail.Notice(n.User.Email, w.subject, intro, facts, advice, w.linkText, s.link(w.path))
}

// emailChangedMails are the two messages of an email change: to the old address, that the
// account moved away from it, and to the new one, that it is the account's address now.
func (s *Service) emailChangedMails(u store.User, oldEmail string, by store.User, at time.Time, o store.Origin) (toOld, toNew mail.Message) {
	facts := append(noticeFacts(at, o), mail.Fact{Label: "By", Value: by.Email})
	admin := fmt.Sprintf("%s (%s)", displayName(by), by.Email)
	toOld = mail.Notice(oldEmail, "The email address of your weftid account was changed",
		fmt.Sprintf("Hello %s,\n\nAn administrator, %s, changed the email address of your weftid account from %s to %s. "+
			"Mail about the account now goes there, and you sign in with that address. You were signed out everywhere.",
			displayName(u), admin, oldEmail, u.Email),
		facts, "If you did not expect this, ask them why.", "", "")
	toNew = mail.Notice(u.Email, "This is now the email address of your weftid account",
		fmt.Sprintf("Hello %s,\n\nAn administrator, %s, made %s the email address of your weftid account (it was %s). "+
			"Sign in with this address from now on.",
			displayName(u), admin, u.Email, oldEmail),
		facts, "If you do not know this account, tell them: someone may have mistyped their address.", "Sign in", s.link("/login"))
	return toOld, toNew
}
