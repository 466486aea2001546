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

// dpEntry is optimal.{m,pi,g}[k][l] of zxcvbn's search. A bruteforce match is kept
// inline (kind entryBruteforce, over bfStart..k) and made a match only if it ends up
// in the result: the search tries thousands of them on a long password.
type dpEntry struct {
	m       *match
	pi, g   float64
	bfStart int32
	kind    uint8
}

const (
	entryNone uint8 = iota
	entryMatch
	entryBruteforce
)

// dpRow is optimal.*[k]: entries by sequence length l (index 0 unused), and pm[l], the
// least g among the entries of length <= l (NaN g excluded; NaN when there is none).
// zxcvbn's update rejects a length-l candidate when some entry of length <= l has
// g <= the candidate's g, that is when pm[l] <= g.
type dpRow struct {
	e  []dpEntry
	pm []float64
}

func (r *dpRow) threshold(l int) float64 {
	if len(r.pm) == 0 {
		return math.NaN()
	}
	if l >= len(r.pm) {
		return r.pm[len(r.pm)-1]
	}
	return r.pm[l]
}

func (r *dpRow) set(l int, e dpEntry) {
	for len(r.e) <= l {
		carry := math.NaN() // new empty slots inherit the running minimum below them
		if len(r.pm) > 0 {
			carry = r.pm[len(r.pm)-1]
		}
		r.e = append(r.e, dpEntry{})
		r.pm = append(r.pm, carry)
	}
	old := r.e[l]
	r.e[l] = e
	if g := e.g; g == g {
		// the minima can only fall: lower them until one is already <= g.
		for x := l; x < len(r.pm) && !(r.pm[x] <= g); x++ {
			r.pm[x] = g
		}
		return
	}
	if old.kind == entryNone || old.g != old.g {
		return // NaN over nothing or over NaN: the minima do not change
	}
	// NaN over a number: recompute the minima from l on.
	for x := l; x < len(r.e); x++ {
		m := math.NaN()
		if x > 0 {
			m = r.pm[x-1]
		}
		if g := r.e[x].g; r.e[x].kind != entryNone && g == g && !(m <= g) {
			m = g
		}
		r.pm[x] = m
	}
}

// bfTail is a finished entry (position p, length l, product pi) whose last match is not
// bruteforce: a sequence that a bruteforce match starting at p+1 may extend.
type bfTail struct {
	p, l int
	pi   float64
	lc   float64 // log((l+1)! * pi / 10^(p+1)), for pruning
}

// pruneMargin is the relative margin the pruning below keeps: far above the rounding of
// the few float operations in a candidate's g, so a pruned candidate is one zxcvbn's
// update would certainly reject.
const pruneMargin = 1e-6

// mostGuessable is zxcvbn's most_guessable_match_sequence: the guesses of pw and the
// sequence of matches (bruteforce filling the gaps) that gives them.
//
// It computes exactly what zxcvbn's dynamic programme computes, in the same order, with
// changes that only skip work. A row's "any competitor of length <= l with g <= this g"
// test reads a running minimum instead of looping over the row. And the bruteforce step,
// which in zxcvbn tries every earlier finished sequence against every end k (quadratic
// in the length, times the number of sequence lengths: the reason zxcvbn.js takes
// seconds on long random input), skips sequences whose candidates are certain to be
// rejected at every later k:
//
//   - dead: (l+1)!*pi >= 10^(p+1) (with margin). Its candidate at k is then >= the
//     single bruteforce match over 0..k, which the same step has just tried at length 1.
//   - dominated: an earlier-tried sequence (p1, l1) with l1 <= l and
//     (l1+1)!*pi1/10^(p1+1) <= (l+1)!*pi/10^(p+1) (with margin). At every k its
//     candidate comes first, has length <= and g <= this one's, and so leaves a
//     competitor that rejects this one.
//
// NaN (see rankNaN) is handled as zxcvbn.js handles it: a NaN candidate is never
// rejected and rejects nothing, so it can overwrite a finite entry. Sequences with a NaN
// product are never skipped, and a sequence dominates another only if no NaN sequence
// short enough to overwrite its competitor is tried between them.
func (sc *scorer) mostGuessable(pw []uint16, matches []*match) (float64, []*match) {
	if sc.reference != nil {
		return sc.reference(sc, pw, matches)
	}
	n := len(pw)
	if n == 0 {
		return 1, nil
	}
	byJ := make([][]*match, n)
	for _, m := range matches {
		byJ[m.j] = append(byJ[m.j], m)
	}
	// the bruteforce estimate (with estimate_guesses's floor) by token length.
	bfEst := make([]float64, n+1)
	for t := 1; t <= n; t++ {
		bfEst[t] = jsMax(bruteforceGuesses(t), minGuessOf(t, n))
	}
	// dead sequences are skipped only while 10^(k+1) is finite (the argument compares
	// with the bruteforce match over 0..k).
	pruneDead := n <= 300

	// Row k holds lengths l with 10000^(l-1) < g(bruteforce over 0..k) ~ 10^(k+1), so
	// at most (k+1)/4+2 of them, and never more than 78 (10000^78 overflows); NaN
	// entries aside: those rows grow as needed. Carve the rows from two blocks.
	rows := make([]dpRow, n)
	caps := make([]int, n+1)
	for k := range n {
		caps[k+1] = caps[k] + min(k+2, (k+1)/4+3, 80)
	}
	eBlock := make([]dpEntry, caps[n])
	pmBlock := make([]float64, caps[n])
	for k := range rows {
		rows[k].e = eBlock[caps[k]:caps[k]:caps[k+1]]
		rows[k].pm = pmBlock[caps[k]:caps[k]:caps[k+1]]
	}
	update := func(m *match, est float64, l int) {
		k := m.j
		pi := est
		if l > 1 {
			pi *= rows[m.i-1].e[l-1].pi
		}
		g := factorial(l)*pi + pow1e4.at(l-1)
		if rows[k].threshold(l) <= g {
			return
		}
		rows[k].set(l, dpEntry{m: m, pi: pi, g: g, kind: entryMatch})
	}

	var tails []bfTail
	for k := 0; k < n; k++ {
		for _, m := range byJ[k] {
			est := sc.estimate(m, pw)
			if m.i > 0 {
				prev := rows[m.i-1].e
				for l := 1; l < len(prev); l++ {
					if prev[l].kind != entryNone {
						update(m, est, l+1)
					}
				}
			} else {
				update(m, est, 1)
			}
		}
		// bruteforce_update(k)
		row := &rows[k]
		if g := bfEst[k+1] + 1; !(row.threshold(1) <= g) {
			row.set(1, dpEntry{pi: bfEst[k+1], g: g, kind: entryBruteforce})
		}
		for _, t := range tails {
			l := t.l + 1
			if t.pi != t.pi {
				// NaN: always accepted; writing NaN over a NaN bruteforce entry changes nothing.
				if l < len(row.e) && row.e[l].kind == entryBruteforce && row.e[l].g != row.e[l].g {
					continue
				}
			}
			est := bfEst[k-t.p]
			g := factorial(l)*(est*t.pi) + pow1e4.at(t.l)
			if row.threshold(l) <= g {
				continue
			}
			row.set(l, dpEntry{pi: est * t.pi, g: g, bfStart: int32(t.p + 1), kind: entryBruteforce})
		}
		// row k is final: offer its sequences to the bruteforce steps of later ends.
		for l := 1; l < len(row.e); l++ {
			e := row.e[l]
			if e.kind != entryMatch {
				continue
			}
			t := bfTail{p: k, l: l, pi: e.pi, lc: math.Log(factorial(l+1)*e.pi) - float64(k+1)*math.Ln10}
			if t.lc != t.lc { // NaN: never skipped
				tails = append(tails, t)
				continue
			}
			if pruneDead && t.lc >= pruneMargin {
				continue
			}
			dominated := false
			minNaNLen := math.MaxInt
			for x := len(tails) - 1; x >= 0; x-- {
				o := &tails[x]
				if o.lc != o.lc {
					minNaNLen = min(minNaNLen, o.l)
					if minNaNLen <= t.l {
						break
					}
					continue
				}
				if o.l <= t.l && o.lc+pruneMargin <= t.lc {
					dominated = true
					break
				}
			}
			if !dominated {
				tails = append(tails, t)
			}
		}
	}

	// unwind
	k := n - 1
	last := rows[k].e
	bestL := -1
	bestG := math.Inf(1)
	for l := 1; l < len(last); l++ {
		if last[l].kind != entryNone && last[l].g < bestG {
			bestL, bestG = l, last[l].g
		}
	}
	if bestL < 0 { // unreachable: zxcvbn.js would throw here
		return math.Inf(1), nil
	}
	var seq []*match
	l := bestL
	for k >= 0 {
		e := rows[k].e[l]
		m := e.m
		if e.kind == entryBruteforce {
			i := int(e.bfStart)
			m = &match{pattern: patBruteforce, i: i, j: k, guesses: bfEst[k-i+1], hasGuesses: true}
		}
		seq = append(seq, m)
		k = m.i - 1
		l--
	}
	for a, b := 0, len(seq)-1; a < b; a, b = a+1, b-1 {
		seq[a], seq[b] = seq[b], seq[a]
	}
	return last[len(seq)].g, seq
}

// minGuessOf is estimate_guesses's floor for a token of tokLen units in n.
func minGuessOf(tokLen, n int) float64 {
	if tokLen < n {
		if tokLen == 1 {
			return minSubmatchGuessesSingleChar
		}
		return minSubmatchGuessesMultiChar
	}
	return 1
}
