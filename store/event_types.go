package store

// EventType names what an event records. The names are a contract (DESIGN.md and the product
// documents name many of them): never rename one.
type EventType string

// The event types weftid writes.
const (
	EventAppAccessDenied               EventType = "app_access_denied"
	EventDeviceRemoved                 EventType = "device_removed"
	EventEmailCodeSent                 EventType = "email_code_sent"
	EventGroupCreated                  EventType = "group_created"
	EventGroupDeleted                  EventType = "group_deleted"
	EventGroupMemberAdded              EventType = "group_member_added"
	EventGroupMemberRemoved            EventType = "group_member_removed"
	EventGroupUpdated                  EventType = "group_updated"
	EventIdleDeactivationPolicyUpdated EventType = "idle_deactivation_policy_updated"
	EventLoginFailed                   EventType = "login_failed"
	EventLoginThrottled                EventType = "login_throttled"
	EventMFABackupCodesRegenerated     EventType = "mfa_backup_codes_regenerated"
	EventMFAResetByAdmin               EventType = "mfa_reset_by_admin"
	EventMFATOTPEnabled                EventType = "mfa_totp_enabled"
	EventMFATOTPRemoveFailed           EventType = "mfa_totp_remove_failed"
	EventMFATOTPRemoved                EventType = "mfa_totp_removed"
	EventMFATOTPSetupFailed            EventType = "mfa_totp_setup_failed"
	EventOAuth2Authorized              EventType = "oauth2_authorized"
	EventOAuth2ClientAuthFailed        EventType = "oauth2_client_auth_failed"
	EventOAuth2ClientCreated           EventType = "oauth2_client_created"
	EventOAuth2ClientDeleted           EventType = "oauth2_client_deleted"
	EventOAuth2ClientSecretRegenerated EventType = "oauth2_client_secret_regenerated"
	EventOAuth2ClientUpdated           EventType = "oauth2_client_updated"
	EventOAuth2CodeReused              EventType = "oauth2_code_reused"
	EventOAuth2RefreshTokenReused      EventType = "oauth2_refresh_token_reused"
	EventOAuth2UserTokensRevoked       EventType = "oauth2_user_tokens_revoked"
	EventOIDCSigningKeyRotated         EventType = "oidc_signing_key_rotated"
	EventPasskeyRegistered             EventType = "passkey_registered"
	EventPasskeyRenamed                EventType = "passkey_renamed"
	EventPasskeyRevoked                EventType = "passkey_revoked"
	EventPasswordBreachCheckCompleted  EventType = "password_breach_check_completed"
	EventPasswordBreachCheckRequested  EventType = "password_breach_check_requested"
	EventPasswordBreachCheckSkipped    EventType = "password_breach_check_skipped"
	EventPasswordBreachDetected        EventType = "password_breach_detected"
	EventPasswordChangeFailed          EventType = "password_change_failed"
	EventPasswordChanged               EventType = "password_changed"
	EventPasswordPolicyUpdated         EventType = "password_policy_updated"
	EventPasswordResetCompleted        EventType = "password_reset_completed"
	EventPasswordResetForced           EventType = "password_reset_forced"
	EventPasswordResetRequested        EventType = "password_reset_requested"
	EventPasswordSelfResetCompleted    EventType = "password_self_reset_completed"
	EventProxyAppCreated               EventType = "proxy_app_created"
	EventProxyAppDeleted               EventType = "proxy_app_deleted"
	EventProxyAppUpdated               EventType = "proxy_app_updated"
	EventProxySessionCreated           EventType = "proxy_session_created"
	EventSAMLAssertionIssued           EventType = "saml_assertion_issued"
	EventSAMLLogout                    EventType = "saml_logout"
	EventSAMLSigningKeyRotated         EventType = "saml_signing_key_rotated"
	EventSAMLSPCreated                 EventType = "saml_sp_created"
	EventSAMLSPDeleted                 EventType = "saml_sp_deleted"
	EventSAMLSPUpdated                 EventType = "saml_sp_updated"
	EventTenantAuthPolicyUpdated       EventType = "tenant_auth_policy_updated"
	EventUserCreated                   EventType = "user_created"
	EventUserDeactivated               EventType = "user_deactivated"
	EventUserDeleted                   EventType = "user_deleted"
	EventUserEnhancedAuthEnrolled      EventType = "user_enhanced_auth_enrolled"
	EventUserInvitationAccepted        EventType = "user_invitation_accepted"
	EventUserInvitationResent          EventType = "user_invitation_resent"
	EventUserReactivated               EventType = "user_reactivated"
	EventUserRoleChanged               EventType = "user_role_changed"
	EventUserSignedIn                  EventType = "user_signed_in"
	EventUserSignedOut                 EventType = "user_signed_out"
	EventUserSignedOutEverywhere       EventType = "user_signed_out_everywhere"
	EventUserUpdated                   EventType = "user_updated"
)

// EventTypes is every type weftid writes, in alphabetical order: the event log's type filter
// offers exactly these.
var EventTypes = []EventType{
	EventAppAccessDenied,
	EventDeviceRemoved,
	EventEmailCodeSent,
	EventGroupCreated,
	EventGroupDeleted,
	EventGroupMemberAdded,
	EventGroupMemberRemoved,
	EventGroupUpdated,
	EventIdleDeactivationPolicyUpdated,
	EventLoginFailed,
	EventLoginThrottled,
	EventMFABackupCodesRegenerated,
	EventMFAResetByAdmin,
	EventMFATOTPEnabled,
	EventMFATOTPRemoveFailed,
	EventMFATOTPRemoved,
	EventMFATOTPSetupFailed,
	EventOAuth2Authorized,
	EventOAuth2ClientAuthFailed,
	EventOAuth2ClientCreated,
	EventOAuth2ClientDeleted,
	EventOAuth2ClientSecretRegenerated,
	EventOAuth2ClientUpdated,
	EventOAuth2CodeReused,
	EventOAuth2RefreshTokenReused,
	EventOAuth2UserTokensRevoked,
	EventOIDCSigningKeyRotated,
	EventPasskeyRegistered,
	EventPasskeyRenamed,
	EventPasskeyRevoked,
	EventPasswordBreachCheckCompleted,
	EventPasswordBreachCheckRequested,
	EventPasswordBreachCheckSkipped,
	EventPasswordBreachDetected,
	EventPasswordChangeFailed,
	EventPasswordChanged,
	EventPasswordPolicyUpdated,
	EventPasswordResetCompleted,
	EventPasswordResetForced,
	EventPasswordResetRequested,
	EventPasswordSelfResetCompleted,
	EventProxyAppCreated,
	EventProxyAppDeleted,
	EventProxyAppUpdated,
	EventProxySessionCreated,
	EventSAMLAssertionIssued,
	EventSAMLLogout,
	EventSAMLSigningKeyRotated,
	EventSAMLSPCreated,
	EventSAMLSPDeleted,
	EventSAMLSPUpdated,
	EventTenantAuthPolicyUpdated,
	EventUserCreated,
	EventUserDeactivated,
	EventUserDeleted,
	EventUserEnhancedAuthEnrolled,
	EventUserInvitationAccepted,
	EventUserInvitationResent,
	EventUserReactivated,
	EventUserRoleChanged,
	EventUserSignedIn,
	EventUserSignedOut,
	EventUserSignedOutEverywhere,
	EventUserUpdated,
}
