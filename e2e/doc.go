// Package e2e holds the end-to-end tests of weftid: a real Chromium, driven
// over the DevTools protocol with chromedp, against the real weftid binary,
// which sends its mail to an in-process SMTP server (mail/mailtest). The
// operations tests (ops_*, replication_test.go, shutdown_test.go) drive the
// binary without a browser: continuous replication, restore, graceful shutdown.
//
// Run them with
//
//	go test ./e2e/
//
// They need Chromium: `apt-get install chromium`, or set CHROMIUM_PATH to a
// Chromium or Chrome executable. Without one every browser test fails; none is
// skipped. TestMain builds the server binary once, from the module root.
//
// On a failure a test logs the page's URL and text and saves a screenshot; the
// log says where (E2E_ARTIFACTS, or a new directory under the system's
// temporary directory).
package e2e
