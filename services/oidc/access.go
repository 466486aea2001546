package oidc

// Who may sign in to an OIDC app (services/groups keeps the rule), and the groups claim.

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// ScopeGroups asks for the groups claim: the names of the user's groups, in the ID token and
// at userinfo.
const ScopeGroups = "groups"

// What discovery advertises: op's defaults and the groups scope and claim.
var (
	supportedScopes = append(slices.Clone(op.DefaultSupportedScopes), ScopeGroups)
	supportedClaims = append(slices.Clone(op.DefaultSupportedClaims), ScopeGroups)
)

// deniedDescription is the error_description of access_denied: the application may show it.
const deniedDescription = "The user may not sign in to this application: they are not in a group it lets in. An administrator of weftid can add them."

// clientApp names client clientID for the access check.
func clientApp(clientID string) store.AppRef { return store.AppRef{Kind: store.AppOIDC, ID: clientID} }

// admit is the access check of Complete, at every authorization: a user outside the client's
// groups gets a *groups.Denied whose ReturnURL answers the RP's redirect URI with
// error=access_denied (at once, without a page, for prompt=none).
func (s *Service) admit(ctx context.Context, r store.OIDCAuthRequest, name string, a Actor) error {
	if s.access == nil {
		return nil
	}
	err := s.access.Admit(ctx, a.UserID, groups.App{AppRef: clientApp(r.ClientID), Name: name}, store.Origin{IP: a.IP, UserAgent: a.UserAgent})
	var d *groups.Denied
	if errors.As(err, &d) {
		d.ReturnURL = ErrorRedirect(r, "access_denied") + "&" + url.Values{"error_description": {deniedDescription}}.Encode()
		d.Redirect = slices.Contains(r.Prompt, zoidc.PromptNone)
	}
	return err
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
