package views

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/weftid/weftid/store"
)

// eventGroup is one heading of the event log's type filter and the types under it.
type eventGroup struct {
	Label string
	Types []store.EventType
}

// eventGroups sorts every event type under one heading of the type filter, each with the label
// the log shows for it. views/event_labels_test.go fails when a type of store.EventTypes is
// missing here, so a new type cannot reach the log as a bare snake_case name.
var eventGroups = []struct {
	label  string
	labels map[store.EventType]string
}{
	{"Sign-in", map[store.EventType]string{
		store.EventUserSignedIn:            "Signed in",
		store.EventLoginFailed:             "Sign-in failed",
		store.EventLoginThrottled:          "Sign-in throttled",
		store.EventEmailCodeSent:           "Sign-in code emailed",
		store.EventUserSignedOut:           "Signed out",
		store.EventUserSignedOutEverywhere: "Signed out everywhere",
	}},
	{"Passwords", map[store.EventType]string{
		store.EventPasswordChanged:              "Password changed",
		store.EventPasswordChangeFailed:         "Password change failed",
		store.EventPasswordResetRequested:       "Password reset requested",
		store.EventPasswordSelfResetCompleted:   "Password reset by email link",
		store.EventPasswordResetForced:          "Password reset required",
		store.EventPasswordResetCompleted:       "Required password reset done",
		store.EventPasswordBreachCheckRequested: "Breach check requested",
		store.EventPasswordBreachCheckCompleted: "Breach check completed",
		store.EventPasswordBreachCheckSkipped:   "Breach check skipped",
		store.EventPasswordBreachDetected:       "Breached password found",
	}},
	{"Second factors", map[store.EventType]string{
		store.EventMFATOTPEnabled:            "TOTP set up",
		store.EventMFATOTPSetupFailed:        "TOTP set-up failed",
		store.EventMFATOTPRemoved:            "TOTP removed",
		store.EventMFATOTPRemoveFailed:       "TOTP removal failed",
		store.EventMFABackupCodesRegenerated: "Backup codes renewed",
		store.EventMFAResetByAdmin:           "Two-step verification reset",
		store.EventPasskeyRegistered:         "Passkey added",
		store.EventPasskeyRenamed:            "Passkey renamed",
		store.EventPasskeyRevoked:            "Passkey removed",
		store.EventUserEnhancedAuthEnrolled:  "Enrolled a second factor",
	}},
	{"Devices", map[store.EventType]string{
		store.EventDeviceRemoved: "Device removed",
	}},
	{"Users and policy", map[store.EventType]string{
		store.EventUserCreated:                   "User created",
		store.EventUserUpdated:                   "Name or email changed",
		store.EventUserDeleted:                   "User deleted",
		store.EventUserInvitationResent:          "Invitation sent again",
		store.EventIdleDeactivationPolicyUpdated: "Idle-user rule changed",
		store.EventUserInvitationAccepted:        "Invitation accepted",
		store.EventUserRoleChanged:               "Role changed",
		store.EventUserDeactivated:               "User deactivated",
		store.EventUserReactivated:               "User reactivated",
		store.EventPasswordPolicyUpdated:         "Password rule changed",
		store.EventTenantAuthPolicyUpdated:       "Sign-in policy changed",
	}},
	{"Applications", map[store.EventType]string{
		store.EventOAuth2Authorized:              "App sign-in (OpenID Connect)",
		store.EventSAMLAssertionIssued:           "App sign-in (SAML)",
		store.EventOAuth2ClientAuthFailed:        "App secret refused",
		store.EventOAuth2ClientCreated:           "OpenID Connect app added",
		store.EventOAuth2ClientUpdated:           "OpenID Connect app changed",
		store.EventOAuth2ClientDeleted:           "OpenID Connect app deleted",
		store.EventOAuth2ClientSecretRegenerated: "App secret renewed",
		store.EventOAuth2CodeReused:              "Authorization code reused",
		store.EventOAuth2RefreshTokenReused:      "Refresh token reused",
		store.EventOAuth2UserTokensRevoked:       "App tokens revoked",
		store.EventOIDCSigningKeyRotated:         "Signing key rotated",
		store.EventSAMLSPCreated:                 "SAML app added",
		store.EventSAMLSPUpdated:                 "SAML app changed",
		store.EventSAMLSPDeleted:                 "SAML app deleted",
		store.EventAppAccessDenied:               "App sign-in refused (not in its groups)",
		store.EventSAMLLogout:                    "App sign-out (SAML)",
		store.EventSAMLSigningKeyRotated:         "SAML signing key rotated",
		store.EventProxySessionCreated:           "App sign-in (forward auth)",
		store.EventProxyAppCreated:               "Proxied app added",
		store.EventProxyAppUpdated:               "Proxied app changed",
		store.EventProxyAppDeleted:               "Proxied app deleted",
	}},
	{"Groups", map[store.EventType]string{
		store.EventGroupCreated:       "Group created",
		store.EventGroupUpdated:       "Group changed",
		store.EventGroupDeleted:       "Group deleted",
		store.EventGroupMemberAdded:   "Added to a group",
		store.EventGroupMemberRemoved: "Removed from a group",
	}},
}

// EventLabel is how the event log names an event type: a few plain words ("Role changed"), or
// the type itself for one that has no label.
func EventLabel(t store.EventType) string {
	for _, g := range eventGroups {
		if l, ok := g.labels[t]; ok {
			return l
		}
	}
	return string(t)
}

// eventTypeGroups puts types under the type filter's headings, each group sorted by label;
// a type no group holds goes under "Other".
func eventTypeGroups(types []store.EventType) []eventGroup {
	var out []eventGroup
	placed := map[store.EventType]bool{}
	for _, g := range eventGroups {
		e := eventGroup{Label: g.label}
		for _, t := range types {
			if _, ok := g.labels[t]; ok && !placed[t] {
				e.Types, placed[t] = append(e.Types, t), true
			}
		}
		if len(e.Types) > 0 {
			slices.SortFunc(e.Types, func(a, b store.EventType) int { return strings.Compare(EventLabel(a), EventLabel(b)) })
			out = append(out, e)
		}
	}
	other := eventGroup{Label: "Other"}
	for _, t := range types {
		if !placed[t] {
			other.Types = append(other.Types, t)
		}
	}
	if len(other.Types) > 0 {
		out = append(out, other)
	}
	return out
}

// detail is one line of an event's details: a readable key and its value.
type detail struct{ Key, Value string }

// eventDetails are an event's details as lines of "key: value", sorted by key; keys are words
// ("passkey_id" reads "Passkey ID"), yes/no stand for booleans, and a nested value
// is shown as JSON. Empty values are left out.
func eventDetails(d map[string]any) []detail {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []detail
	for _, k := range keys {
		v := detailValue(d[k])
		if v == "" {
			continue
		}
		out = append(out, detail{Key: detailKey(k), Value: v})
	}
	return out
}

// acronyms are the words of detail keys written in capitals.
var acronyms = map[string]string{"id": "ID", "ip": "IP", "totp": "TOTP", "url": "URL", "uri": "URI",
	"oidc": "OIDC", "saml": "SAML", "sp": "SP", "mfa": "MFA", "kid": "Key ID"}

// detailKey is a details key as words: "passkey_id" reads "Passkey ID".
func detailKey(k string) string {
	words := strings.Split(k, "_")
	for i, w := range words {
		if a, ok := acronyms[w]; ok {
			words[i] = a
		}
	}
	s := strings.Join(words, " ")
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// detailValue is one detail's value as text.
func detailValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}
