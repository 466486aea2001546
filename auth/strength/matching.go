package strength

import (
	"slices"
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
