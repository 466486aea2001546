package strength

import (
	"unicode"
	"unicode/utf16"
)

// toUnits returns s as UTF-16 code units, the string zxcvbn.js works on. Invalid UTF-8
// bytes become U+FFFD, as a browser would submit them.
func toUnits(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		out = utf16.AppendRune(out, r)
	}
	return out
}

// jsLower returns String.prototype.toLowerCase of u (root locale): the simple Unicode
// lowercase mapping, plus the two special cases JavaScript applies outside any locale:
// U+0130 becomes "i\u0307" (the string grows by one unit) and a final capital sigma
// becomes U+03C2. Lone surrogates are kept as they are.
func jsLower(u []uint16) []uint16 {
	ascii := true
	for _, c := range u {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	out := make([]uint16, 0, len(u))
	if ascii {
		for _, c := range u {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			out = append(out, c)
		}
		return out
	}
	for p := 0; p < len(u); {
		r, size := decodeAt(u, p)
		switch {
		case r < 0x80:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			out = append(out, uint16(r))
		case r == 0x130:
			out = append(out, 'i', 0x307)
		case r == 0x3A3:
			if finalSigma(u, p, size) {
				out = append(out, 0x3C2)
			} else {
				out = append(out, 0x3C3)
			}
		case utf16.IsSurrogate(r):
			out = append(out, uint16(r)) // lone surrogate
		default:
			out = utf16.AppendRune(out, unicode.ToLower(r))
		}
		p += size
	}
	return out
}

// decodeAt decodes the code point at u[p]: a surrogate pair, or one unit (a lone
// surrogate is returned as itself).
func decodeAt(u []uint16, p int) (rune, int) {
	r := rune(u[p])
	if utf16.IsSurrogate(r) && r < 0xDC00 && p+1 < len(u) {
		if r2 := rune(u[p+1]); 0xDC00 <= r2 && r2 < 0xE000 {
			return utf16.DecodeRune(r, r2), 2
		}
	}
	return r, 1
}

// decodeBefore decodes the code point that ends just before u[p].
func decodeBefore(u []uint16, p int) (rune, int) {
	r := rune(u[p-1])
	if 0xDC00 <= r && r < 0xE000 && p >= 2 {
		if r1 := rune(u[p-2]); 0xD800 <= r1 && r1 < 0xDC00 {
			return utf16.DecodeRune(r1, r), 2
		}
	}
	return r, 1
}

// finalSigma reports whether the capital sigma at u[p] is in the Final_Sigma context of
// Unicode's SpecialCasing: a cased letter before it and none after it, skipping
// case-ignorable characters.
func finalSigma(u []uint16, p, size int) bool {
	before := false
	for q := p; q > 0; {
		r, s := decodeBefore(u, q)
		q -= s
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for q := p + size; q < len(u); {
		r, s := decodeAt(u, q)
		q += s
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xA8, 0xAD, 0xAF, 0xB4, 0xB7, 0xB8, 0x2018, 0x2019, 0x2024, 0x2027:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
