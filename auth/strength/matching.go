package strength

import (
	"math/bits"
	"slices"
	"strings"
)

// This file ports zxcvbn 4.4.2's matching.coffee. Strings are UTF-16 code units, as in
// JavaScript, so indexes, lengths and "characters" mean what they mean in zxcvbn.js.

type pattern uint8

const (
	patBruteforce pattern = iota
	patDictionary
	patSpatial
	patRepeat
	patSequence
	patRegex // zxcvbn's only regex: recent_year
	patDate
)

// l33tPair is one substitution: the l33t character and the letter it stands for.
type l33tPair struct{ from, to uint16 }

// match is one of zxcvbn's matches over password units [i, j].
type match struct {
	pattern pattern
	i, j    int

	// dictionary
	dict     int8 // index into dictNames
	rank     float64
	reversed bool
	l33t     bool
	sub      []l33tPair // zxcvbn's match.sub, in JavaScript key order

	// spatial
	graph   int8
	turns   int
	shifted int

	// repeat
	baseLen     int
	baseGuesses float64
	repeatCount int

	// sequence
	ascending bool

	// regex (recent_year) and date
	year   int
	hasSep bool

	guesses    float64
	hasGuesses bool
}

// newMatch returns a copy of m allocated in blocks (a long password has thousands).
func (sc *scorer) newMatch(m match) *match {
	if len(sc.arena) == cap(sc.arena) {
		sc.arena = make([]match, 0, min(max(32, 2*cap(sc.arena)), 1024))
	}
	sc.arena = append(sc.arena, m)
	return &sc.arena[len(sc.arena)-1]
}

// sortMatches is zxcvbn's `sorted`: a stable sort on i, then j.
func sortMatches(ms []*match) {
	slices.SortStableFunc(ms, func(a, b *match) int {
		if a.i != b.i {
			return a.i - b.i
		}
		return a.j - b.j
	})
}

// omnimatch returns every match in pw, in zxcvbn's order.
func (sc *scorer) omnimatch(pw []uint16) []*match {
	low := jsLower(pw)
	var ms []*match
	ms = append(ms, sc.dictionaryMatch(pw, low)...)
	ms = append(ms, sc.reverseDictionaryMatch(pw)...)
	ms = append(ms, sc.l33tMatch(pw, low, ms)...)
	ms = append(ms, spatialMatch(pw)...)
	ms = append(ms, sc.repeatMatch(pw)...)
	ms = append(ms, sequenceMatch(pw)...)
	ms = append(ms, regexMatch(pw)...)
	ms = append(ms, sc.dateMatch(pw)...)
	sortMatches(ms)
	return ms
}

// --- dictionary ---------------------------------------------------------------------

// indexMatches appends a dictionary match for every word of x found in low at [i, j],
// j < n, one per dictionary that has the word.
func (sc *scorer) indexMatches(low []uint16, n int, x *wordIndex, dictOffset int, out []*match) []*match {
	n = min(n, len(low))
	for i := 0; i < n; i++ {
		lo, hi := 0, x.size()
		for d := 0; i+d < n; d++ {
			lo, hi = x.narrow(lo, hi, d, low[i+d])
			if lo >= hi {
				break
			}
			if x.wordLen(lo) != d+1 {
				continue
			}
			for k := range x.nd {
				if r := x.ranks[lo*x.nd+k]; r != 0 {
					out = append(out, sc.newMatch(match{pattern: patDictionary, i: i, j: i + d, dict: int8(dictOffset + k), rank: rankValue(r)}))
				}
			}
		}
	}
	return out
}

// dictionaryMatch is zxcvbn's dictionary_match; low is jsLower(pw).
func (sc *scorer) dictionaryMatch(pw, low []uint16) []*match {
	var out []*match
	out = sc.indexMatches(low, len(pw), sc.static, 0, out)
	out = sc.indexMatches(low, len(pw), sc.user, userInputsDict, out)
	sortMatches(out)
	return out
}

func reverseUnits(u []uint16) []uint16 {
	r := make([]uint16, len(u))
	for i, c := range u {
		r[len(u)-1-i] = c
	}
	return r
}

// reverseDictionaryMatch is zxcvbn's reverse_dictionary_match.
func (sc *scorer) reverseDictionaryMatch(pw []uint16) []*match {
	rev := reverseUnits(pw)
	out := sc.dictionaryMatch(rev, jsLower(rev))
	n := len(pw)
	for _, m := range out {
		m.reversed = true
		m.i, m.j = n-1-m.j, n-1-m.i
	}
	sortMatches(out)
	return out
}

// --- l33t ---------------------------------------------------------------------------

// l33tTable is zxcvbn's L33T_TABLE, in its order.
var l33tTable = []struct {
	letter uint16
	subs   string
}{
	{'a', "4@"}, {'b', "8"}, {'c', "({[<"}, {'e', "3"}, {'g', "69"}, {'i', "1!|"},
	{'l', "1|7"}, {'o', "0"}, {'s', "$5"}, {'t', "+7"}, {'x', "%"}, {'z', "2"},
}

// isL33tChar reports whether c is a substitute in l33tTable.
func isL33tChar(c uint16) bool {
	return c < 128 && strings.IndexByte("4@8({[<3691!|70$5+%2", byte(c)) >= 0
}

// l33tSub is one of zxcvbn's substitution lists: at most one pair per letter of
// l33tTable, so at most 12, in order; unused pairs are zero (subs compare with ==).
type l33tSub struct {
	n int
	p [12]l33tPair
}

func (s *l33tSub) pairs() []l33tPair { return s.p[:s.n] }

// enumerateL33tSubs is zxcvbn's enumerate_l33t_subs(relevant_l33t_subtable(pw)): every
// substitution list, in zxcvbn's order. Its dedup removes only identical lists.
func enumerateL33tSubs(pw []uint16) []l33tSub {
	var present [128]bool
	for _, c := range pw {
		if c < 128 {
			present[c] = true
		}
	}
	subs := []l33tSub{{}}
	var next []l33tSub
	seen := map[l33tSub]bool{}
	for _, row := range l33tTable {
		next = next[:0]
		for k := 0; k < len(row.subs); k++ {
			c := uint16(row.subs[k])
			if !present[c] {
				continue
			}
			pair := l33tPair{c, row.letter}
			for _, sub := range subs {
				dup := -1
				for x, p := range sub.pairs() {
					if p.from == c {
						dup = x
						break
					}
				}
				if dup == -1 {
					ext := sub
					ext.p[ext.n] = pair
					ext.n++
					next = append(next, ext)
				} else {
					alt := sub
					copy(alt.p[dup:], alt.p[dup+1:alt.n])
					alt.p[alt.n-1] = pair
					next = append(next, sub, alt)
				}
			}
		}
		if len(next) == 0 {
			continue // no substitute of this letter in pw: not in the relevant subtable
		}
		clear(seen)
		subs = subs[:0]
		for _, sub := range next {
			if !seen[sub] {
				seen[sub] = true
				subs = append(subs, sub)
			}
		}
	}
	return subs
}

// jsKeyOrder orders pairs as a JavaScript object with those keys iterates: integer-like
// keys (the digits) ascending first, then the others in insertion order.
func jsKeyOrder(ps []l33tPair) []l33tPair {
	out := make([]l33tPair, 0, len(ps))
	for c := uint16('0'); c <= '9'; c++ {
		for _, p := range ps {
			if p.from == c {
				out = append(out, p)
			}
		}
	}
	for _, p := range ps {
		if p.from < '0' || p.from > '9' {
			out = append(out, p)
		}
	}
	return out
}

type bitset []uint64

func (b bitset) first() int {
	for w, x := range b {
		if x != 0 {
			return w*64 + bits.TrailingZeros64(x)
		}
	}
	return -1
}

// l33tCand is a l33t dictionary match before it becomes a match.
type l33tCand struct {
	i, j, sub, dict int
	rank            float64
	pairs           []l33tPair
}

// l33tMatch is zxcvbn's l33t_match. zxcvbn runs dictionary_match once per substitution
// list (up to 736 of them) and keeps every result; this walks the dictionaries once per
// start, branching on each l33t character over the substitutions still consistent with
// the path, and then lists the matches zxcvbn's loop produces, in zxcvbn's order.
//
// zxcvbn's list repeats a match once per substitution list that yields it. A repeat
// cannot change the search (mostGuessable): all matches over one span extend the same
// finished row, so when the repeat comes, each of its finite candidates meets a
// competitor no worse than the one its first copy met or left, and its NaN candidates
// (extending NaN entries) rewrite NaN over NaN. Only a NaN-ranked match (see rankNaN)
// over the same span, which overwrites finite entries, could make a repeat count; so
// repeats are dropped except on such spans. prior holds the other dictionary matches.
func (sc *scorer) l33tMatch(pw, low []uint16, prior []*match) []*match {
	subs := enumerateL33tSubs(pw)
	if len(subs) == 0 || subs[0].n == 0 {
		return nil
	}
	nsubs := len(subs)
	words := (nsubs + 63) / 64
	// opts[c]: for l33t character c, the units it becomes and under which substitutions.
	type option struct {
		to  uint16
		set bitset
	}
	var opts [128][]option
	for s := range subs {
		sub := subs[s].pairs()
		for _, c := range []uint16{'4', '@', '8', '(', '{', '[', '<', '3', '6', '9', '1', '!', '|', '7', '0', '$', '5', '+', '%', '2'} {
			to := c
			for _, p := range sub {
				if p.from == c {
					to = p.to
				}
			}
			k := slices.IndexFunc(opts[c], func(o option) bool { return o.to == to })
			if k < 0 {
				opts[c] = append(opts[c], option{to: to, set: make(bitset, words)})
				k = len(opts[c]) - 1
			}
			opts[c][k].set[s/64] |= 1 << (s % 64)
		}
	}
	n := min(len(pw), len(low))
	shifted := len(low) != len(pw) // toLowerCase grew the string: indexes no longer line up

	type raw struct {
		i, j, word int
		x          *wordIndex
		dictOffset int
		set        bitset
	}
	var raws []raw
	var stack []bitset
	var walk func(x *wordIndex, off, i, d, lo, hi int, set bitset, mapped bool)
	walk = func(x *wordIndex, off, i, d, lo, hi int, set bitset, mapped bool) {
		if i+d >= n {
			return
		}
		step := func(to uint16, set bitset, mapped bool) {
			nlo, nhi := x.narrow(lo, hi, d, to)
			if nlo >= nhi {
				return
			}
			if x.wordLen(nlo) == d+1 && d > 0 && (mapped || shifted) {
				raws = append(raws, raw{i: i, j: i + d, word: nlo, x: x, dictOffset: off, set: slices.Clone(set)})
			}
			walk(x, off, i, d+1, nlo, nhi, set, mapped)
		}
		c := low[i+d]
		if c >= 128 || opts[c] == nil {
			step(c, set, mapped)
			return
		}
		for len(stack) <= d {
			stack = append(stack, make(bitset, words))
		}
		for _, o := range opts[c] {
			nset := stack[d]
			any := uint64(0)
			for w := range nset {
				nset[w] = set[w] & o.set[w]
				any |= nset[w]
			}
			if any == 0 {
				continue
			}
			// stack[d] is reused by the recursion only at depths > d.
			step(o.to, nset, mapped || o.to != c)
		}
	}
	all := make(bitset, words)
	for s := range nsubs {
		all[s/64] |= 1 << (s % 64)
	}
	for _, ix := range []struct {
		x   *wordIndex
		off int
	}{{sc.static, 0}, {sc.user, userInputsDict}} {
		for i := 0; i < n; i++ {
			walk(ix.x, ix.off, i, 0, 0, ix.x.size(), all, false)
		}
	}

	// Spans holding a NaN-ranked dictionary match: there zxcvbn's repeated matches can
	// matter (see mostGuessable), so all of them are kept.
	type span struct{ i, j int }
	nanSpans := map[span]bool{}
	for _, m := range prior {
		if m.rank != m.rank {
			nanSpans[span{m.i, m.j}] = true
		}
	}
	for _, r := range raws {
		for k := range r.x.nd {
			if r.x.ranks[r.word*r.x.nd+k] == rankNaN {
				nanSpans[span{r.i, r.j}] = true
			}
		}
	}

	var cands []l33tCand
	emit := func(r raw, s int, token []uint16) {
		var ms []l33tPair
		for _, p := range jsKeyOrder(subs[s].pairs()) {
			if slices.Contains(token, p.from) {
				ms = append(ms, p)
			}
		}
		for k := range r.x.nd {
			if rk := r.x.ranks[r.word*r.x.nd+k]; rk != 0 {
				cands = append(cands, l33tCand{i: r.i, j: r.j, sub: s, dict: r.dictOffset + k, rank: rankValue(rk), pairs: ms})
			}
		}
	}
	for _, r := range raws {
		token := pw[r.i : r.j+1]
		if shifted && slices.Equal(jsLower(token), r.x.word(r.word)) {
			continue // zxcvbn: only matches that contain an actual substitution
		}
		if nanSpans[span{r.i, r.j}] || sc.keepAllL33t {
			for s := range nsubs {
				if r.set[s/64]&(1<<(s%64)) != 0 {
					emit(r, s, token)
				}
			}
			continue
		}
		// The substitution lists in r.set all give this word here; they give different
		// matches only where they treat a l33t character of the token differently
		// (possible only when toLowerCase shifted the indexes). Keep the first list of
		// each group: the others repeat its match.
		var chars []uint16
		for _, c := range token {
			if isL33tChar(c) && !slices.Contains(chars, c) {
				chars = append(chars, c)
			}
		}
		var firsts []int
		var split func(set bitset, depth int)
		split = func(set bitset, depth int) {
			if depth == len(chars) {
				if f := set.first(); f >= 0 {
					firsts = append(firsts, f)
				}
				return
			}
			for _, o := range opts[chars[depth]] {
				part := make(bitset, len(set))
				any := uint64(0)
				for w := range set {
					part[w] = set[w] & o.set[w]
					any |= part[w]
				}
				if any != 0 {
					split(part, depth+1)
				}
			}
		}
		split(r.set, 0)
		slices.Sort(firsts)
		for _, s := range firsts {
			emit(r, s, token)
		}
	}
	slices.SortFunc(cands, func(a, b l33tCand) int {
		switch {
		case a.i != b.i:
			return a.i - b.i
		case a.j != b.j:
			return a.j - b.j
		case a.sub != b.sub:
			return a.sub - b.sub
		}
		return a.dict - b.dict
	})
	out := make([]*match, 0, len(cands))
	for _, c := range cands {
		out = append(out, sc.newMatch(match{pattern: patDictionary, i: c.i, j: c.j, dict: int8(c.dict), rank: c.rank, l33t: true, sub: c.pairs}))
	}
	return out
}

// --- spatial ------------------------------------------------------------------------

func isShiftedKey(c uint16) bool {
	return c < 128 && strings.IndexByte(`~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?`, byte(c)) >= 0
}

// spatialMatch is zxcvbn's spatial_match.
func spatialMatch(pw []uint16) []*match {
	var out []*match
	for gi, g := range graphs() {
		out = spatialHelper(pw, g, gi, out)
	}
	sortMatches(out)
	return out
}

func spatialHelper(pw []uint16, g *graph, gi int, out []*match) []*match {
	n := len(pw)
	i := 0
	for i < n-1 {
		j := i + 1
		lastDir := -2 // null
		turns := 0
		shifted := 0
		if g.keyboard && isShiftedKey(pw[i]) {
			shifted = 1
		}
		for {
			prev := pw[j-1]
			found := false
			var adjs []string
			if prev < 128 {
				adjs = g.adj[prev]
			}
			if j < n {
				cur := pw[j]
				dir := -1
				for _, adj := range adjs {
					dir++
					if adj == "" || cur >= 128 {
						continue
					}
					idx := strings.IndexByte(adj, byte(cur))
					if idx < 0 {
						continue
					}
					found = true
					if idx == 1 {
						shifted++
					}
					if lastDir != dir {
						turns++
						lastDir = dir
					}
					break
				}
			}
			if found {
				j++
				continue
			}
			if j-i > 2 {
				out = append(out, &match{pattern: patSpatial, i: i, j: j - 1, graph: int8(gi), turns: turns, shifted: shifted})
			}
			i = j
			break
		}
	}
	return out
}

// --- repeat -------------------------------------------------------------------------

func isLineTerminator(c uint16) bool {
	return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029
}

// zArray returns z[k] = length of the longest common prefix of t and t[k:] (z[0] = len(t)).
func zArray(t []uint16, z []int) []int {
	n := len(t)
	z = append(z[:0], make([]int, n)...)
	if n == 0 {
		return z
	}
	z[0] = n
	l, r := 0, 0
	for k := 1; k < n; k++ {
		if k < r {
			z[k] = min(r-k, z[k-l])
		}
		for k+z[k] < n && t[z[k]] == t[k+z[k]] {
			z[k]++
		}
		if k+z[k] > r {
			l, r = k, k+z[k]
		}
	}
	return z
}

// findRepeat emulates /(.+)\1+/g and /(.+?)\1+/g from index from: the leftmost start s
// of a repeat, and the length of the greedy and the lazy match there with their groups.
func findRepeat(pw []uint16, from int, z []int) (s, greedy, greedyUnit, lazy, lazyUnit int, ok bool, zbuf []int) {
	n := len(pw)
	for s = from; s < n; s++ {
		e := s
		for e < n && !isLineTerminator(pw[e]) {
			e++
		}
		if e-s < 2 {
			continue
		}
		z = zArray(pw[s:e], z)
		greedyUnit, lazyUnit = 0, 0
		for l := 1; 2*l <= e-s; l++ {
			if z[l] >= l {
				if lazyUnit == 0 {
					lazyUnit = l
				}
				greedyUnit = l
			}
		}
		if lazyUnit == 0 {
			continue
		}
		greedy = greedyUnit * (1 + z[greedyUnit]/greedyUnit)
		lazy = lazyUnit * (1 + z[lazyUnit]/lazyUnit)
		return s, greedy, greedyUnit, lazy, lazyUnit, true, z
	}
	return 0, 0, 0, 0, 0, false, z
}

// primitiveRoot is what /^(.+?)\1+$/ captures on t, a string made of at least two
// copies of something: the length of its shortest such base.
func primitiveRoot(t []uint16) int {
	n := len(t)
	pi := make([]int, n)
	for q := 1; q < n; q++ {
		k := pi[q-1]
		for k > 0 && t[q] != t[k] {
			k = pi[k-1]
		}
		if t[q] == t[k] {
			k++
		}
		pi[q] = k
	}
	if p := n - pi[n-1]; n%p == 0 {
		return p
	}
	return n
}

// repeatMatch is zxcvbn's repeat_match; the base token is scored recursively with the
// same user inputs, as zxcvbn does.
func (sc *scorer) repeatMatch(pw []uint16) []*match {
	var out []*match
	var z []int
	last := 0
	for last < len(pw) {
		s, g, _, l, lu, ok, zb := findRepeat(pw, last, z)
		z = zb
		if !ok {
			break
		}
		total, baseLen := l, lu
		if g > l {
			total, baseLen = g, primitiveRoot(pw[s:s+g])
		}
		base := pw[s : s+baseLen]
		bg, _ := sc.mostGuessable(base, sc.omnimatch(base))
		out = append(out, &match{pattern: patRepeat, i: s, j: s + total - 1, baseLen: baseLen, baseGuesses: bg, repeatCount: total / baseLen})
		last = s + total
	}
	return out
}

// --- sequence -----------------------------------------------------------------------

// sequenceMatch is zxcvbn's sequence_match.
func sequenceMatch(pw []uint16) []*match {
	n := len(pw)
	if n <= 1 {
		return nil
	}
	var out []*match
	update := func(i, j, delta int) {
		ad := max(delta, -delta)
		if (j-i > 1 || ad == 1) && 0 < ad && ad <= 5 {
			out = append(out, &match{pattern: patSequence, i: i, j: j, ascending: delta > 0})
		}
	}
	i := 0
	lastDelta := 0
	for k := 1; k < n; k++ {
		delta := int(pw[k]) - int(pw[k-1])
		if k == 1 {
			lastDelta = delta
		}
		if delta == lastDelta {
			continue
		}
		j := k - 1
		update(i, j, lastDelta)
		i = j
		lastDelta = delta
	}
	update(i, n-1, lastDelta)
	return out
}

// --- regex --------------------------------------------------------------------------

func isDigit(c uint16) bool { return '0' <= c && c <= '9' }

// regexMatch is zxcvbn's regex_match with its one regex, recent_year: /19\d\d|200\d|201\d/g.
func regexMatch(pw []uint16) []*match {
	var out []*match
	for p := 0; p+4 <= len(pw); {
		t := pw[p : p+4]
		if (t[0] == '1' && t[1] == '9' && isDigit(t[2]) && isDigit(t[3])) ||
			(t[0] == '2' && t[1] == '0' && (t[2] == '0' || t[2] == '1') && isDigit(t[3])) {
			out = append(out, &match{pattern: patRegex, i: p, j: p + 3, year: atoi(t)})
			p += 4
			continue
		}
		p++
	}
	return out
}

func atoi(t []uint16) int {
	v := 0
	for _, c := range t {
		v = v*10 + int(c-'0')
	}
	return v
}

// --- date ---------------------------------------------------------------------------

const (
	dateMaxYear = 2050
	dateMinYear = 1000
)

var dateSplits = map[int][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// isJSSpace is JavaScript's \s.
func isJSSpace(c uint16) bool {
	switch c {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= c && c <= 0x200A
}

func isDateSeparator(c uint16) bool {
	return isJSSpace(c) || c == '/' || c == '\\' || c == '_' || c == '.' || c == '-'
}

type dmy struct{ year, month, day int }

func mapIntsToDM(a, b int) (int, int, bool) {
	if 1 <= a && a <= 31 && 1 <= b && b <= 12 {
		return a, b, true
	}
	if 1 <= b && b <= 31 && 1 <= a && a <= 12 {
		return b, a, true
	}
	return 0, 0, false
}

func twoToFourDigitYear(y int) int {
	switch {
	case y > 99:
		return y
	case y > 50:
		return y + 1900
	}
	return y + 2000
}

// mapIntsToDMY is zxcvbn's map_ints_to_dmy.
func mapIntsToDMY(ints [3]int) (dmy, bool) {
	if ints[1] > 31 || ints[1] <= 0 {
		return dmy{}, false
	}
	over12, over31, under1 := 0, 0, 0
	for _, v := range ints {
		if (99 < v && v < dateMinYear) || v > dateMaxYear {
			return dmy{}, false
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			under1++
		}
	}
	if over31 >= 2 || over12 == 3 || under1 >= 2 {
		return dmy{}, false
	}
	splits := [2][3]int{{ints[2], ints[0], ints[1]}, {ints[0], ints[1], ints[2]}}
	for _, s := range splits {
		if dateMinYear <= s[0] && s[0] <= dateMaxYear {
			d, m, ok := mapIntsToDM(s[1], s[2])
			if !ok {
				return dmy{}, false
			}
			return dmy{s[0], m, d}, true
		}
	}
	for _, s := range splits {
		if d, m, ok := mapIntsToDM(s[1], s[2]); ok {
			return dmy{twoToFourDigitYear(s[0]), m, d}, true
		}
	}
	return dmy{}, false
}

func digitRun(t []uint16, p int) int {
	q := p
	for q < len(t) && isDigit(t[q]) {
		q++
	}
	return q - p
}

// dateMatch is zxcvbn's date_match.
func (sc *scorer) dateMatch(pw []uint16) []*match {
	n := len(pw)
	var ms []*match
	// dates without separators: 4 to 8 digits.
	for i := 0; i <= n-4; i++ {
		for j := i + 3; j <= i+7 && j < n; j++ {
			tok := pw[i : j+1]
			if digitRun(tok, 0) != len(tok) {
				continue
			}
			var best dmy
			found := false
			bestDist := 0
			for _, s := range dateSplits[len(tok)] {
				c, ok := mapIntsToDMY([3]int{atoi(tok[:s[0]]), atoi(tok[s[0]:s[1]]), atoi(tok[s[1]:])})
				if !ok {
					continue
				}
				dist := max(c.year-sc.refYear, sc.refYear-c.year)
				if !found || dist < bestDist {
					best, bestDist, found = c, dist, true
				}
			}
			if found {
				ms = append(ms, &match{pattern: patDate, i: i, j: j, year: best.year})
			}
		}
	}
	// dates with separators: ^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$, 6 to 10 units.
	for i := 0; i <= n-6; i++ {
		for j := i + 5; j <= i+9 && j < n; j++ {
			tok := pw[i : j+1]
			a := digitRun(tok, 0)
			if a < 1 || a > 4 || a >= len(tok) || !isDateSeparator(tok[a]) {
				continue
			}
			sep := tok[a]
			b := digitRun(tok, a+1)
			if b < 1 || b > 2 || a+1+b >= len(tok) || tok[a+1+b] != sep {
				continue
			}
			p := a + 2 + b
			c := digitRun(tok, p)
			if c < 1 || c > 4 || p+c != len(tok) {
				continue
			}
			d, ok := mapIntsToDMY([3]int{atoi(tok[:a]), atoi(tok[a+1 : a+1+b]), atoi(tok[p:])})
			if !ok {
				continue
			}
			ms = append(ms, &match{pattern: patDate, i: i, j: j, year: d.year, hasSep: true})
		}
	}
	// drop date matches inside other date matches (spans are at most 10 units long).
	type span struct{ i, j int }
	spans := make(map[span]bool, len(ms))
	for _, m := range ms {
		spans[span{m.i, m.j}] = true
	}
	out := ms[:0]
	for _, m := range ms {
		sub := false
		for i := max(0, m.j-9); i <= m.i && !sub; i++ {
			for j := m.j; j <= i+9; j++ {
				if (i != m.i || j != m.j) && spans[span{i, j}] {
					sub = true
					break
				}
			}
		}
		if !sub {
			out = append(out, m)
		}
	}
	sortMatches(out)
	return out
}
