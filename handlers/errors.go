package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/views"
)

// answer is how the handlers answer one sentinel error of a service: its status, and the words
// a page that shows its form again (or a passkey call) says ("" where no form shows it: the
// error page says what the status means).
type answer struct {
	err    error
	status int
	msg    string
}

// answers maps the services' sentinel errors to a status and a message, in one place. A handler
// returns such an error and handleError answers with its status; a form shows its message.
var answers = []answer{
	{signin.ErrIncomplete, fiber.StatusUnprocessableEntity, "Enter your email and password."},
	// The one message for every failed password step: it never says whether the address
	// exists, the password was wrong, or the account is inactive.
	{signin.ErrFailed, fiber.StatusUnauthorized, "Incorrect email or password, or the account cannot sign in."},
	// Limits are counted per address whether or not it has an account, so this says nothing
	// about which addresses exist.
	{signin.ErrThrottled, fiber.StatusTooManyRequests, "Too many attempts. Wait a few minutes and try again."},
	{signin.ErrTooManyCeremonies, fiber.StatusTooManyRequests, "Too many passkey sign-ins started from this address. Wait a few minutes and try again."},
	{signin.ErrWrongCode, fiber.StatusUnauthorized, "That code is incorrect or has expired. Check your latest email, or send a new code."},
	{signin.ErrWrongOTP, fiber.StatusUnauthorized, "That code is incorrect or was used already. Enter the current code from your authenticator app, or a backup code."},
	{signin.ErrTooManyTries, fiber.StatusUnauthorized, "Too many wrong codes. Send a new code to try again."},
	{signin.ErrPasskeyFailed, fiber.StatusUnauthorized, "That passkey could not sign you in."},
	{signin.ErrNoPasskey, fiber.StatusBadRequest, "You have no passkey yet."},
	{signin.ErrNoSignIn, fiber.StatusBadRequest, "Your sign-in expired. Please start again."},
	{signin.ErrInvalidPassword, fiber.StatusUnprocessableEntity, ""},

	{account.ErrThrottled, fiber.StatusTooManyRequests, "Too many attempts. Wait a few minutes and try again."},
	{account.ErrForbidden, fiber.StatusForbidden, ""},
	{account.ErrNotFound, fiber.StatusNotFound, ""},
	{account.ErrInvalidSetupLink, fiber.StatusNotFound, ""},
	// A user who changed (name, address or role) while choosing a password chooses again.
	{account.ErrUserChanged, fiber.StatusConflict, ""},
	{account.ErrWrongPassword, fiber.StatusUnprocessableEntity, "Your current password is not correct."},
	{account.ErrWrongCode, fiber.StatusUnprocessableEntity, "That code is not right. Check the time on your device and enter the code the app shows now."},
	// TOTP was turned on meanwhile, elsewhere: this setup is void.
	{account.ErrTOTPOn, fiber.StatusConflict, "An authenticator app was set up for this account meanwhile. Start again."},
	{account.ErrNoTOTP, fiber.StatusConflict, "Backup codes come with TOTP: set up TOTP first."},
	{account.ErrNotProved, fiber.StatusUnprocessableEntity, "To remove TOTP, enter your password or a current code from the app."},
	{account.ErrPasskeyExists, fiber.StatusConflict, "This passkey is registered already."},
	{account.ErrChallengeGone, fiber.StatusBadRequest, "The request expired. Please try again."},
	{account.ErrPasskeyRefused, fiber.StatusBadRequest, "The passkey could not be registered. Please try again."},
	{account.ErrResendLimited, fiber.StatusTooManyRequests, ""},
	{account.ErrPasskeysOff, fiber.StatusServiceUnavailable, "Passkeys are not available on this server: its address must be a domain name, not an IP address."},

	{groups.ErrNotFound, fiber.StatusNotFound, ""},

	{oidc.ErrClientNotFound, fiber.StatusNotFound, ""},
	{oidc.ErrPublicClient, fiber.StatusBadRequest, ""},
	{oidc.ErrTooManyRequests, fiber.StatusTooManyRequests, ""},
	// An authorize request whose error cannot go back to the application gets its page in words.
	{oidc.ErrAuthorizeUnreadable, fiber.StatusBadRequest, "The application's sign-in request could not be read. Go back to the application and try again."},
	{oidc.ErrAuthorizeNoClient, fiber.StatusBadRequest, "The application's sign-in request does not say which application it is (client_id is missing)."},
	{oidc.ErrAuthorizeUnknown, fiber.StatusBadRequest, "This application is not registered with weftid. Ask an administrator to register it under Applications."},
	{oidc.ErrAuthorizeNoRedirect, fiber.StatusBadRequest, "The application's sign-in request does not say where to answer (redirect_uri is missing)."},
	// Why RP-initiated logout will not return to the application (its page still signs out).
	{oidc.ErrLogoutBadHint, fiber.StatusBadRequest, "The application's sign-out request could not be verified, so weftid will not return to it."},
	{oidc.ErrLogoutClientHint, fiber.StatusBadRequest, "The application's sign-out request names two different applications, so weftid will not return to it."},
	{oidc.ErrLogoutUnknownApp, fiber.StatusBadRequest, "The application that asked to sign you out is not registered with weftid."},
	{oidc.ErrLogoutNoApp, fiber.StatusBadRequest, "The application did not say which application it is, so weftid cannot check where it asked to return to."},
	{oidc.ErrLogoutUnregistered, fiber.StatusBadRequest, "The application asked to return to an address it has not registered for sign-out (post_logout_redirect_uri), so weftid will not send you there."},
	{oidc.ErrAuthorizeBadRedirect, fiber.StatusBadRequest, "The application asked to be answered at an address it has not registered (redirect_uri). An administrator can add it to the app's redirect URIs under Applications."},

	// The SAML service refuses a request in words (samlError shows them); a held request that
	// is gone is 404, and a full table of held requests 503.
	{saml.ErrUnreadable, fiber.StatusBadRequest, "The application's sign-in request could not be read. Go back to the application and try again."},
	{saml.ErrUnknownSP, fiber.StatusBadRequest, "This application is not registered with weftid. Ask an administrator to register it under Applications > SAML."},
	{saml.ErrACS, fiber.StatusBadRequest, "The application asked for its answer at an address its registered metadata does not list. An administrator can replace its metadata under Applications > SAML."},
	{saml.ErrBinding, fiber.StatusBadRequest, "The application asks for its answer by a binding weftid does not offer: weftid answers by HTTP-POST only."},
	{saml.ErrExpired, fiber.StatusNotFound, "The application's sign-in request expired or was used already. Go back to the application and sign in again."},
	{saml.ErrNotFound, fiber.StatusNotFound, ""},
	{saml.ErrFull, fiber.StatusServiceUnavailable, ""},
	{saml.ErrTooManyRequests, fiber.StatusTooManyRequests, "Too many sign-in requests from this address. Wait a few minutes and try again."},
	// Single Logout, the signing keys and metadata by URL.
	{saml.ErrLogoutUnreadable, fiber.StatusBadRequest, "The application's sign-out message could not be read. Close the browser to be sure you are signed out of it."},
	{saml.ErrLogoutGone, fiber.StatusNotFound, "weftid is not waiting for this application's sign-out answer: the sign-out finished or expired."},
	{saml.ErrNoLogoutService, fiber.StatusBadRequest, "weftid refused the application's sign-out request and cannot answer it: the application's registered metadata lists no single logout service."},
	{saml.ErrRotationPending, fiber.StatusConflict, ""},
	{saml.ErrNoPendingKey, fiber.StatusConflict, ""},
	{saml.ErrNoMetadataURL, fiber.StatusConflict, ""},
	{proxy.ErrNotFound, fiber.StatusNotFound, ""},
	// A continuation to a proxied app that is not one (a link someone made up, or an app
	// removed meanwhile).
	{proxy.ErrBadTarget, fiber.StatusBadRequest, "This sign-in link is not for an application weftid protects."},
	{auth.ErrBusy, fiber.StatusServiceUnavailable, ""},
}

// messageFor is the words of err's answer ("" when it has none).
func messageFor(err error) string {
	a, _ := answerFor(err)
	return a.msg
}

// answerFor is the answer to err, if it is one of the sentinels in answers.
func answerFor(err error) (answer, bool) {
	if err == nil {
		return answer{}, false
	}
	for _, a := range answers {
		if errors.Is(err, a.err) {
			return a, true
		}
	}
	return answer{}, false
}

// refusedForm is what is wrong with a form the services refused as a whole (account.Problems,
// groups.Problems, saml.Problems, oidc.FormError): the page shows the form again with them, as 422.
func refusedForm(err error) ([]string, bool) {
	var ap account.Problems
	var sp saml.Problems
	var fe oidc.FormError
	var gp groups.Problems
	var pp proxy.Problems
	switch {
	case errors.As(err, &pp):
		return pp, true
	case errors.As(err, &ap):
		return ap, true
	case errors.As(err, &gp):
		return gp, true
	case errors.As(err, &sp):
		return sp, true
	case errors.As(err, &fe):
		return []string{string(fe)}, true
	}
	return nil, false
}

// formProblems is how a page that shows its form again answers err: a refused form (422 with
// its problems) or a sentinel with words in answers (its status and message). ok is false for
// any other error, nil included: the handler returns it.
func formProblems(err error) (status int, msgs []string, ok bool) {
	if p, ok := refusedForm(err); ok {
		return fiber.StatusUnprocessableEntity, p, true
	}
	if a, ok := answerFor(err); ok && a.msg != "" {
		return a.status, []string{a.msg}, true
	}
	return 0, nil, false
}

// handleError renders every error as a friendly page with its status: a fiber error's, or the
// one answers gives a service's sentinel; a change to a user the rules refuse (account.Refusal)
// says why, with the way back to the user. Internal errors are logged, never shown.
func (h *Handler) handleError(c *fiber.Ctx, err error) error {
	status := fiber.StatusInternalServerError
	var fe *fiber.Error
	var refusal account.Refusal
	var denied *groups.Denied
	if errors.As(err, &denied) {
		return h.accessDenied(c, denied) // an application refused this user: no code, no assertion
	}
	if errors.As(err, &fe) {
		status = fe.Code
	} else if a, ok := answerFor(err); ok {
		status = a.status
	} else if errors.As(err, &refusal) {
		return render(c, fiber.StatusConflict, views.UserActionRefusedPage(h.pageBase(c, refusal.Title, "users"), formInt(c.Params("id")), refusal.Message))
	}
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	status, title, text := views.ErrorWords(status)
	if status >= 500 && status != fiber.StatusServiceUnavailable {
		h.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if c.Get("HX-Request") == "true" && c.Method() == fiber.MethodGet && status != fiber.StatusServiceUnavailable && status != fiber.StatusTooManyRequests {
		// htmx swaps no error answer, so a tab or search that failed (an admin demoted while
		// the page was open: 403) would do nothing at all. Loading the URL as a page shows why.
		c.Set("HX-Redirect", string(c.Request().URI().RequestURI()))
	}
	// The page renders even when the request's context ran out or was cancelled.
	c.SetUserContext(context.WithoutCancel(c.UserContext()))
	return render(c, status, views.ErrorPage(h.pageBase(c, title, ""), status, text))
}

// forbidden is the 403 for a signed-in user below the needed role.
var errForbidden = fiber.NewError(fiber.StatusForbidden)
