package handlers

// SafeReturnTo exposes safeReturnTo to the external tests.
var SafeReturnTo = safeReturnTo
