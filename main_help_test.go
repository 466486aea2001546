package main

import (
	"strings"
	"testing"
)

// weftid help, -h and --help list every command and flag on stdout and succeed; so does -h after
// a command (its flags); an unknown command or flag is still an error (exit 1).
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}} {
		out, err := runCLI(t, "", args...)
		if err != nil {
			t.Errorf("%v: %v, want success", args, err)
		}
		for _, want := range []string{
			"weftid [serve]", "weftid user add", "weftid backup", "weftid events verify", "weftid version",
			"-addr", "-db", "-base-url", "-smtp", "-mail-from", "-hibp-url", "-secret-key-file", "-trusted-proxies",
			"-saml-metadata-allowed-hosts",
			"weftid restore --from URL [--at RFC3339] DEST", "-replicate", "-replicate-interval", "-metrics-addr", "-from", "-at",
			"-email", "-name", "-role", "--hibp-url off",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: the help does not mention %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"serve", "-h"}, {"user", "add", "--help"}, {"backup", "-h"}, {"events", "verify", "-h"}} {
		out, err := runCLI(t, "", args...)
		if err != nil || !strings.Contains(out, "-db") {
			t.Errorf("%v: %q %v, want its flags and success", args, out, err)
		}
	}
	if out, _ := runCLI(t, "", "user", "add", "-h"); !strings.Contains(out, "-email") {
		t.Errorf("user add -h does not list -email:\n%s", out)
	}
	for _, args := range [][]string{{"frobnicate"}, {"--frobnicate"}, {"serve", "--frobnicate"}, {"help-me"}} {
		if _, err := runCLI(t, "", args...); err == nil {
			t.Errorf("%v: success, want an error", args)
		}
	}
}
