package strength

// This file holds the search for the most guessable sequence of matches (most_guessable_match_sequence).

import (
	"math"
)

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
