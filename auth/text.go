package auth

import (
	"unicode"
	"unicode/utf8"
)

// MsgNameNotPlain refuses a name that is not PlainText, in the words every form uses.
const MsgNameNotPlain = "Names cannot contain control characters or text-direction characters."

// PlainText reports whether s may be stored as a name or description that people read and
// that goes on into pages, events, mail, ID tokens, SAML attributes and HTTP headers: valid
// UTF-8 without control characters (C0 and C1, NUL, tab and line breaks included), and without
// the bidirectional formatting characters that make text read differently from how it is
// stored (U+202A to U+202E, U+2066 to U+2069, the marks U+200E, U+200F and U+061C), nor the
// line and paragraph separators U+2028 and U+2029. Multi-line text uses PlainLines.
func PlainText(s string) bool {
	return plain(s, false)
}

// PlainLines is PlainText allowing line breaks (\n, and \r\n): a description.
func PlainLines(s string) bool {
	return plain(s, true)
}

func plain(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case lines && (r == '\n' || r == '\r' && i+1 < len(s) && s[i+1] == '\n'):
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069,
			r == 0x200E, r == 0x200F, r == 0x061C, r == 0x2028, r == 0x2029:
			return false
		}
	}
	return true
}
