package strength

// This file continues matching.go: l33t substitutions.

import (
	"math/bits"
	"slices"
	"strings"
)

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
