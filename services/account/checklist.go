package account

import (
	"context"

	"github.com/weftid/weftid/store"
)

// Checklist is the first-run checklist of a super admin's dashboard, each item ticked from the
// real state.
type Checklist struct {
	store.FirstRun
	// MailConfigured says mail goes to an SMTP server (--smtp); otherwise it only goes to the log.
	MailConfigured bool
}

// FirstRunChecklist is u's checklist and whether their dashboard shows it: to super admins
// until they dismiss it.
func (s *Service) FirstRunChecklist(ctx context.Context, u store.User) (Checklist, bool, error) {
	if u.Role != store.RoleSuperAdmin {
		return Checklist{}, false, nil
	}
	f, err := s.store.FirstRun(ctx, u.ID)
	if err != nil {
		return Checklist{}, false, err
	}
	c := Checklist{FirstRun: f, MailConfigured: s.mailConfigured()}
	return c, !f.Dismissed, nil
}

// DismissChecklist hides the first-run checklist from u's dashboard.
func (s *Service) DismissChecklist(ctx context.Context, u store.User) error {
	return s.store.DismissChecklist(ctx, u.ID, s.now())
}

// mailConfigured says whether mail leaves the server: a mailer that reports it only logs
// (mail.Mailer without --smtp) does not count, nor does none at all.
func (s *Service) mailConfigured() bool {
	if s.mailer == nil {
		return false
	}
	if l, ok := s.mailer.(interface{ Logging() bool }); ok {
		return !l.Logging()
	}
	return true
}
