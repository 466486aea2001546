package auth_test

import (
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
)

func TestPlainText(t *testing.T) {
	for _, c := range []struct {
		s           string
		text, lines bool
	}{
		{"Grace Hopper", true, true},
		{"Zoë Ångström 李", true, true},
		{"", true, true},
		{"Ok\x00null", false, false},
		{"Ctl\x01\x07\x1b[31mX", false, false},
		{"New\nLine", false, true},
		{"Inj\r\nX-Evil: 1", false, true},
		{"tab\there", false, false},
		{"c1\u0085", false, false},
		{"\u202Eevil", false, false},
		{"iso\u2067late", false, false},
		{"bad \xff utf-8", false, false},
		{"mark\u200Fhere", false, false},
		{"arabic\u061Cmark", false, false},
		{"line\u2028sep", false, false},
		{"bare\rreturn", false, false},
		{"ends with\r", false, false},
	} {
		if got := auth.PlainText(c.s); got != c.text {
			t.Errorf("PlainText(%q) = %v, want %v", c.s, got, c.text)
		}
		if got := auth.PlainLines(c.s); got != c.lines {
			t.Errorf("PlainLines(%q) = %v, want %v", c.s, got, c.lines)
		}
	}
}

func TestDNSName(t *testing.T) {
	for name, want := range map[string]bool{
		"wiki.example.com": true, "App-1.Example.com": true, "localhost": true, "x": true,
		"": false, "*.example.com": false, "app_example.com": false, "-bad.example.com": false,
		"bad-.example.com": false, "a..b": false, "example.com.": false, "wiki.example.com:8443": false,
		strings.Repeat("a", 64) + ".com": false, strings.Repeat("a.", 126) + "ab": false,
	} {
		if got := auth.DNSName(name); got != want {
			t.Errorf("DNSName(%q) = %v, want %v", name, got, want)
		}
	}
}
