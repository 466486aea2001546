package strength

// This file continues matching.go: spatial, repeat, sequence, regex and date matches.

import (
	"strings"
)

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
