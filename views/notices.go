package views

// The fixed messages pages show after a redirect: the redirect's ?notice= names one, never its
// text, so no link can make a page say anything else.

// Notices is the set of messages one page (or group of pages) may show.
type Notices int

// The pages' sets of messages.
const (
	LoginNotices            Notices = iota // /login
	UsersNotices                           // /users
	UsersErrors                            // /users, shown as an error
	UserNotices                            // a user's detail page
	SecurityNotices                        // Account > Security
	ApplicationNotices                     // the Applications pages (OpenID Connect clients)
	SAMLAppsNotices                        // the list of SAML service providers
	SAMLAppNotices                         // a SAML service provider's page
	AccountPasswordNotices                 // Account > Password
	AuthenticationNotices                  // Settings > Security > Authentication
	PasswordSettingsNotices                // Settings > Security > Passwords
	BreachNotices                          // the breach check's part of the Passwords page (?breach=)
	VerifyNotices                          // the second-factor step (?sent=)
	VerifyErrors                           // the second-factor step (?sent=), shown as an error
	GroupsNotices                          // the list of groups
	GroupNotices                           // a group's page
	AccountProfileNotices                  // Account > Profile
	IdleNotices                            // Settings > Security > Idle users
)

var notices = map[Notices]map[string]string{
	LoginNotices: {
		"signed_out": "You have signed out.",
		"expired":    "Your sign-in expired or was finished elsewhere. Please start again.",
		"setup_done": "Your super admin account is ready. Sign in to continue.",
		// reset_required: the session ended because an admin (or the breach check) requires a new password.
		"reset_required": "You have been signed out: you must choose a new password. Sign in to set it.",
		// password_reset: the self-service reset link set a new password.
		"password_reset": "Your new password is set. Sign in with it.",
		// signed_out_partial: a SAML application did not confirm the sign-out weftid sent it.
		"signed_out_partial": "You have signed out of weftid, but not every application confirmed that it signed you out. Close the browser to be sure.",
	},
	UsersNotices: {
		"invited": "The user was added. An email with a link to set their password is on its way.",
		"deleted": "The user was deleted. The event log keeps what they did, under their address.",
	},
	UsersErrors: {
		"invite_failed": "The user was added, but the invitation email could not be sent. The server log says why.",
	},
	UserNotices: {
		"mfa_reset":             "Two-step verification was reset. The user was told by email.",
		"mfa_reset_unmailed":    "Two-step verification was reset, but the email to the user could not be sent. Tell them yourself.",
		"deactivated":           "The user was deactivated. They cannot sign in, and their sessions have ended.",
		"reactivated":           "The user was reactivated. They can sign in again.",
		"role_changed":          "The role was changed.",
		"passkey_revoked":       "The passkey was revoked.",
		"group_added":           "The user was added to the group.",
		"group_removed":         "The user was removed from the group. Their next sign-in to an application that only this group opened to them is refused.",
		"signed_out_everywhere": "The user was signed out everywhere: their sessions ended and their application tokens were revoked.",
		"profile_saved":         "The name and email address are saved.",
		"email_changed":         "Saved. The new email address is in use: the user was signed out everywhere, and both the old and the new address were told by email.",
		"email_changed_invited": "Saved. Their invitation link went to the old address and no longer works: send a new invitation below. " +
			"Both the old and the new address were told by email.",
		"password_reset_forced": "A password reset is required. The user's sessions end at their next request, their " +
			"OAuth2 tokens were revoked, and they must choose a new password at their next sign-in.",
	},
	SecurityNotices: {
		"totp_removed":    "TOTP was removed. You will sign in with an email code again.",
		"passkey_added":   "Your passkey was registered.",
		"passkey_renamed": "The passkey was renamed.",
		"passkey_deleted": "The passkey was deleted.",
		"device_removed":  "The device was removed. It is trusted again once you sign in with it.",
	},
	ApplicationNotices: {
		"created":     "The app is registered.",
		"saved":       "The changes are saved.",
		"deleted":     "The app was removed. Every token issued to it stopped working.",
		"key_rotated": "A new signing key signs ID tokens from now on. The old one stays published until its tokens expire.",
		// The SAML signing key (its part of the Applications page).
		"saml_key_rotated": "A new SAML signing key is published. It signs in 7 days; service providers that refresh weftid's metadata meanwhile need nothing else.",
		"saml_key_now":     "The new SAML signing key signs from now on, and the others left the metadata. Service providers need weftid's metadata again.",
		"proxy_created":    "The proxied app is registered. Point its proxy at weftid (below) if it is not yet.",
		"proxy_deleted":    "The proxied app was removed. Its proxy refuses every request to it now.",
	},
	SAMLAppsNotices: {
		"deleted": "The service provider was removed.",
	},
	SAMLAppNotices: {
		"created":   "The service provider is registered. Give it weftid's metadata URL (below) if it has not got it yet.",
		"saved":     "Saved.",
		"refreshed": "The metadata was fetched again from its URL and saved.",
		"unchanged": "The metadata was fetched again from its URL; it has not changed.",
	},
	AccountPasswordNotices: {
		"changed": "Your password was changed. Your other sessions were signed out.",
	},
	AuthenticationNotices: {
		"saved": "Saved. The policy applies to every new sign-in; existing sessions are not interrupted.",
	},
	PasswordSettingsNotices: {
		"saved": "Saved. The new requirements apply to every password set from now on.",
	},
	BreachNotices: {
		"requested": "The breach check is running. Reload this page to follow it.",
		"off":       "Breach checking is off: there is nothing to run.",
	},
	VerifyNotices: {
		"1": "We sent a new code.",
	},
	AccountProfileNotices: {
		"saved": "Your name is saved.",
	},
	IdleNotices: {
		"saved": "Saved. The next check applies the setting within 15 minutes.",
	},
	VerifyErrors: {
		"0":       "We could not send the code, try again.",
		"limited": "You can ask for a new code 3 times in 5 minutes. Wait a few minutes, or use the latest code we sent.",
	},
	GroupsNotices: {
		"deleted": "The group was deleted. Its members left it, and it was taken off every application's list.",
	},
	GroupNotices: {
		"created":        "The group was created. Add its members below.",
		"saved":          "Saved.",
		"member_added":   "The user was added to the group.",
		"member_removed": "The user was removed from the group. Their next sign-in to an application that only this group opened to them is refused.",
	},
}

// Notice is the message key names in the set n ("" for none, or a key it does not know).
func (n Notices) Notice(key string) string { return notices[n][key] }
