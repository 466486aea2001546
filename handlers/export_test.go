package handlers

import "github.com/weftid/weftid/services/account"

// SafeReturnTo exposes safeReturnTo to the external tests.
var SafeReturnTo = safeReturnTo

// PasswordRecord is account.PasswordRecord, where the breach tests look for it (it moved from
// handlers/password_set.go to services/account).
var PasswordRecord = account.PasswordRecord
