package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// errSetupLink is the one answer for a setup link that is wrong, used or expired.
var errSetupLink = fiber.NewError(fiber.StatusNotFound, "setup link invalid")

// CreateSetupLink stores a new one-time setup token when the database has no users and returns
// the /setup link to print ("" when users exist). Only the newest link works.
func CreateSetupLink(ctx context.Context, s *store.Store, keys auth.Keys, base string, now time.Time) (string, error) {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := auth.NewToken()
	if err := s.ReplaceSetupToken(ctx, keys.HashToken("setup", token), now.Add(auth.SetupLinkTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(base, "/") + "/setup?token=" + token, nil
}

func (h *Handler) setupTokenValid(c *fiber.Ctx, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	return h.store.SetupTokenValid(c.UserContext(), h.keys.HashToken("setup", token), h.now())
}

// showSetup renders the first super admin's form for a valid setup link.
func (h *Handler) showSetup(c *fiber.Ctx) error {
	token := c.Query("token")
	ok, err := h.setupTokenValid(c, token)
	if err != nil {
		return err
	}
	if !ok {
		return errSetupLink
	}
	return render(c, fiber.StatusOK, views.SetupPage(h.pageBase(c, "Set up weftid", ""), h.setupForm(c.UserContext(), token, "", "", nil, "")))
}

// setupForm fills the setup page, its meter showing the verdict on password ("" for the empty
// field of a new or refused form).
func (h *Handler) setupForm(ctx context.Context, token, name, email string, problems []string, password string) views.SetupForm {
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		policy = auth.PasswordPolicy{}
	}
	subject := auth.PasswordSubject{Email: email, Name: name, SuperAdmin: true}
	return views.SetupForm{Token: token, Name: name, Email: email, Errors: problems,
		MinLen: policy.MinLengthFor(subject), Check: auth.CheckPassword(password, subject, policy)}
}

// NewUserInput is what is needed to create an account with a password, from the setup page or
// the command line.
type NewUserInput struct {
	Email, Name, Password, Confirm string
	Role                           store.Role
}

// Subject is the new account as the password rule sees it.
func (in NewUserInput) Subject() auth.PasswordSubject {
	return auth.PasswordSubject{Email: in.Email, Name: strings.TrimSpace(in.Name), SuperAdmin: in.Role == store.RoleSuperAdmin}
}

// ValidateNewUser checks the fields of a new account and its password against the one password
// rule, returning every problem in words, and the policy it checked against.
func ValidateNewUser(ctx context.Context, s *store.Store, in NewUserInput) ([]string, auth.PasswordPolicy, error) {
	var problems []string
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		problems = append(problems, "Enter a name of at most 200 characters.")
	}
	addr, err := mail.ParseAddress(in.Email)
	if err != nil || addr.Address != strings.TrimSpace(in.Email) || len(in.Email) > 254 {
		problems = append(problems, "Enter a valid email address.")
	}
	if !in.Role.Valid() {
		problems = append(problems, "Choose a role: super_admin, admin or user.")
	}
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, auth.PasswordPolicy{}, err
	}
	policy := auth.PasswordPolicy{MinLength: settings.MinimumPasswordLength, MinScore: settings.MinimumStrengthScore}
	check := auth.CheckPassword(in.Password, in.Subject(), policy)
	for _, unmet := range check.Unmet() {
		problems = append(problems, "Password: "+unmet+".")
	}
	if check.Warning != "" && !check.OK() {
		problems = append(problems, check.Warning)
	}
	if in.Password != in.Confirm {
		problems = append(problems, "The two passwords do not match.")
	}
	return problems, policy, nil
}

// submitSetup creates the first super admin and uses up the link, in one transaction.
func (h *Handler) submitSetup(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := h.now()
	ip := h.clientIP(c)
	n, err := h.store.CountFailures(ctx, store.AttemptSetup, throttle.IPKey(ip), throttle.WindowStart(now, throttle.SetupPerIP.Window()), false)
	if err != nil {
		return err
	}
	if n >= throttle.SetupPerIP.Max() {
		return fiber.ErrTooManyRequests
	}
	token := c.FormValue("token")
	ok, err := h.setupTokenValid(c, token)
	if err != nil {
		return err
	}
	if !ok {
		if err := h.store.RecordAttempt(ctx, store.AttemptSetup, []string{throttle.IPKey(ip)}, false, now); err != nil {
			return err
		}
		return errSetupLink
	}
	in := NewUserInput{
		Email:    store.NormalizeEmail(c.FormValue("email")),
		Name:     strings.TrimSpace(c.FormValue("name")),
		Password: c.FormValue("new_password"),
		Confirm:  c.FormValue("confirm_password"),
		Role:     store.RoleSuperAdmin,
	}
	problems, policy, err := ValidateNewUser(ctx, h.store, in)
	if err != nil {
		return err
	}
	problems, verdict := h.breach.Screen(ctx, in.Password, problems)
	if len(problems) > 0 {
		form := h.setupForm(ctx, token, in.Name, in.Email, problems, "")
		return render(c, fiber.StatusUnprocessableEntity, views.SetupPage(h.pageBase(c, "Set up weftid", ""), form))
	}
	hash, err := h.hasher.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ConsumeSetupToken(ctx, h.keys.HashToken("setup", token), now); err != nil {
			return err
		}
		if n, err := tx.CountUsers(ctx); err != nil || n > 0 {
			return errors.Join(err, store.ErrNotFound)
		}
		u, err := tx.CreateUser(ctx, store.User{Email: in.Email, Name: in.Name, Role: store.RoleSuperAdmin}, now)
		if err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, u.ID, breach.Record(h.keys, hash, in.Password, in.Subject(), policy), now); err != nil {
			return err
		}
		if err := verdict.LogSkipped(ctx, tx, h.event(c, "", nil, ptr(u.ID), nil)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserCreated, nil, ptr(u.ID), map[string]any{"role": string(u.Role), "via": "setup"}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return errSetupLink
	}
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	h.log.Info("first super admin created", "email", in.Email)
	return redirect(c, "/login?notice=setup_done")
}
