package main

import "os"

// The CLI tests must not ask the public breach service: the outcome would depend on the
// network. Tests that want a breach service pass --hibp-url themselves, which wins.
func init() {
	if _, ok := os.LookupEnv("WEFTID_HIBP_URL"); !ok {
		os.Setenv("WEFTID_HIBP_URL", "off")
	}
}
