package strength

import (
	"math"
)

// This file ports zxcvbn 4.4.2's scoring.coffee.

const (
	minGuessesBeforeGrowingSequence = 10000
	minSubmatchGuessesSingleChar    = 10
	minSubmatchGuessesMultiChar     = 50
	minYearSpace                    = 20
)

// jsMax is Math.max for two numbers: NaN if either is NaN.
func jsMax(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	if a >= b {
		return a
	}
	return b
}

// nCk is zxcvbn's nCk, with its float rounding.
func nCk(n, k int) float64 {
	if k > n {
		return 0
	}
	if k == 0 {
		return 1
	}
	r := 1.0
	for d := 1; d <= k; d++ {
		r *= float64(n)
		r /= float64(d)
		n--
	}
	return r
}

// estimate is zxcvbn's estimate_guesses for m in a password of n units (cached on m).
func (sc *scorer) estimate(m *match, pw []uint16) float64 {
	if m.hasGuesses {
		return m.guesses
	}
	tokLen := m.j - m.i + 1
	minGuesses := 1.0
	if tokLen < len(pw) {
		if tokLen == 1 {
			minGuesses = minSubmatchGuessesSingleChar
		} else {
			minGuesses = minSubmatchGuessesMultiChar
		}
	}
	var g float64
	switch m.pattern {
	case patBruteforce:
		g = bruteforceGuesses(tokLen)
	case patDictionary:
		g = dictionaryGuesses(m, pw[m.i:m.j+1])
	case patSpatial:
		g = spatialGuesses(m, tokLen)
	case patRepeat:
		g = m.baseGuesses * float64(m.repeatCount)
	case patSequence:
		g = sequenceGuesses(m, pw[m.i:m.j+1])
	case patRegex:
		g = float64(max(abs(m.year-sc.refYear), minYearSpace))
	case patDate:
		g = float64(max(abs(m.year-sc.refYear), minYearSpace) * 365)
		if m.hasSep {
			g *= 4
		}
	}
	m.guesses = jsMax(g, minGuesses)
	m.hasGuesses = true
	return m.guesses
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// bruteforceGuesses is zxcvbn's bruteforce_guesses for a token of tokLen units.
func bruteforceGuesses(tokLen int) float64 {
	g := pow10.at(tokLen)
	if math.IsInf(g, 1) {
		g = math.MaxFloat64
	}
	if tokLen == 1 {
		return jsMax(g, minSubmatchGuessesSingleChar+1)
	}
	return jsMax(g, minSubmatchGuessesMultiChar+1)
}

func sequenceGuesses(m *match, tok []uint16) float64 {
	var base int
	switch c := tok[0]; {
	case c == 'a' || c == 'A' || c == 'z' || c == 'Z' || c == '0' || c == '1' || c == '9':
		base = 4
	case isDigit(c):
		base = 10
	default:
		base = 26
	}
	if !m.ascending {
		base *= 2
	}
	return float64(base * len(tok))
}

func spatialGuesses(m *match, tokLen int) float64 {
	var s float64
	var pow powTable
	if graphs()[m.graph].keyboard {
		s, pow = keyboardStartingPositions, powKeyboardDeg
	} else {
		s, pow = keypadStartingPositions, powKeypadDeg
	}
	guesses := 0.0
	for i := 2; i <= tokLen; i++ {
		possibleTurns := min(m.turns, i-1)
		for j := 1; j <= possibleTurns; j++ {
			guesses += nCk(i-1, j-1) * s * pow.at(j)
		}
	}
	if m.shifted > 0 {
		S := m.shifted
		U := tokLen - m.shifted
		if S == 0 || U == 0 {
			guesses *= 2
		} else {
			v := 0.0
			for i := 1; i <= min(S, U); i++ {
				v += nCk(S+U, i)
			}
			guesses *= v
		}
	}
	return guesses
}

func isUpperASCII(c uint16) bool { return 'A' <= c && c <= 'Z' }
func isLowerASCII(c uint16) bool { return 'a' <= c && c <= 'z' }

// startUpper is /^[A-Z][^A-Z]+$/.
func startUpper(t []uint16) bool {
	if len(t) < 2 || !isUpperASCII(t[0]) {
		return false
	}
	for _, c := range t[1:] {
		if isUpperASCII(c) {
			return false
		}
	}
	return true
}

// endUpper is /^[^A-Z]+[A-Z]$/.
func endUpper(t []uint16) bool {
	if len(t) < 2 || !isUpperASCII(t[len(t)-1]) {
		return false
	}
	for _, c := range t[:len(t)-1] {
		if isUpperASCII(c) {
			return false
		}
	}
	return true
}

// noneOf reports whether t is not empty and has no unit for which f is true
// (/^[^A-Z]+$/ and /^[^a-z]+$/).
func noneOf(t []uint16, f func(uint16) bool) bool {
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if f(c) {
			return false
		}
	}
	return true
}

func equalUnits(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func uppercaseVariations(t []uint16) float64 {
	// zxcvbn: word.match(ALL_LOWER) or word.toLowerCase() == word. A token with a unit
	// in A-Z is never its own lowercase, so the first test decides.
	if noneOf(t, isUpperASCII) {
		return 1
	}
	if startUpper(t) || endUpper(t) || noneOf(t, isLowerASCII) {
		return 2
	}
	U, L := 0, 0
	for _, c := range t {
		if isUpperASCII(c) {
			U++
		} else if isLowerASCII(c) {
			L++
		}
	}
	v := 0.0
	for i := 1; i <= min(U, L); i++ {
		v += nCk(U+L, i)
	}
	return v
}

func l33tVariations(m *match, t []uint16) float64 {
	if !m.l33t {
		return 1
	}
	v := 1.0
	low := jsLower(t)
	for _, p := range m.sub {
		S, U := 0, 0
		for _, c := range low {
			if c == p.from {
				S++
			}
			if c == p.to {
				U++
			}
		}
		if S == 0 || U == 0 {
			v *= 2
			continue
		}
		possibilities := 0.0
		for i := 1; i <= min(U, S); i++ {
			possibilities += nCk(U+S, i)
		}
		v *= possibilities
	}
	return v
}

func dictionaryGuesses(m *match, t []uint16) float64 {
	rev := 1.0
	if m.reversed {
		rev = 2
	}
	return m.rank * uppercaseVariations(t) * l33tVariations(m, t) * rev
}
