package oidc

// Who may sign in to an OIDC app (services/groups keeps the rule), and the groups claim.

import (
	"context"
	"errors"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// ScopeGroups asks for the groups claim: the names of the user's groups, in the ID token and
// at userinfo.
const ScopeGroups = "groups"

// DeniedDescription is the error_description of access_denied at the redirect URI: the
// application may show it.
const DeniedDescription = "The user may not sign in to this application: they are not in a group it lets in. An administrator of weftid can add them."

// clientApp names client clientID for the access check.
func clientApp(clientID string) store.AppRef { return store.AppRef{Kind: store.AppOIDC, ID: clientID} }

// admit is the access check of Complete, at every authorization: a user outside the client's
// groups gets a *groups.Denied, with Redirect set for prompt=none (no page may be shown). The
// handler sets its ReturnURL: the request's redirect URI with error=access_denied,
// DeniedDescription, the state and iss (Provider.ErrorRedirect).
func (s *Service) admit(ctx context.Context, r store.OIDCAuthRequest, name string, a Actor) error {
	if s.access == nil {
		return nil
	}
	err := s.access.Admit(ctx, a.UserID, groups.App{AppRef: clientApp(r.ClientID), Name: name}, store.Origin{IP: a.IP, UserAgent: a.UserAgent})
	var d *groups.Denied
	if errors.As(err, &d) {
		d.Redirect = slices.Contains(r.Prompt, zoidc.PromptNone)
	}
	return err
}

// mayOpen says whether user userID may sign in to client clientID (nothing is logged).
func (s *Service) mayOpen(ctx context.Context, clientID string, userID int64) (bool, error) {
	if s.access == nil {
		return true, nil
	}
	ok, _, err := s.access.AllowedFor(ctx, userID, store.AppOIDC, clientID)
	return ok, err
}

// saveAccess stores who may sign in to client clientID, on the transaction of its create or
// update, and puts it into that change's event details d.
func saveAccess(ctx context.Context, tx *store.Tx, clientID string, access groups.Setting, d map[string]any, now time.Time) error {
	if _, err := access.Save(ctx, tx, clientApp(clientID), now); err != nil {
		return err
	}
	access.AddDetails(d)
	return nil
}

// groupsClaim sets the groups claim: the names of the user's groups (an empty list for none).
func (st *storage) groupsClaim(ctx context.Context, ui *zoidc.UserInfo, userID int64) error {
	names, err := st.st.GroupNamesOfUser(ctx, userID)
	if err != nil {
		return err
	}
	ui.AppendClaims(ScopeGroups, names)
	return nil
}
