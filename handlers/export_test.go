package handlers

import "github.com/weftid/weftid/services/signin"

// SafeReturnTo exposes signin.SafeReturnTo to the external tests.
var SafeReturnTo = signin.SafeReturnTo
