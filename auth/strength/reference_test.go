package strength

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/trustelem/zxcvbn/frequency"
)

// referenceSearch is zxcvbn's most_guessable_match_sequence ported line by line, with
// no pruning: every competitor loop and every bruteforce extension zxcvbn tries.
func referenceSearch(sc *scorer, pw []uint16, matches []*match) (float64, []*match) {
	n := len(pw)
	if n == 0 {
		return 1, nil
	}
	byJ := make([][]*match, n)
	for _, m := range matches {
		byJ[m.j] = append(byJ[m.j], m)
	}
	type entry struct {
		m     *match
		pi, g float64
	}
	opt := make([][]entry, n) // opt[k][l], l >= 1
	update := func(m *match, l int) {
		k := m.j
		pi := sc.estimate(m, pw)
		if l > 1 {
			pi *= opt[m.i-1][l-1].pi
		}
		g := factorial(l) * pi
		g += pow1e4.at(l - 1)
		for cl := 1; cl < len(opt[k]); cl++ {
			if opt[k][cl].m == nil || cl > l {
				continue
			}
			if opt[k][cl].g <= g {
				return
			}
		}
		for len(opt[k]) <= l {
			opt[k] = append(opt[k], entry{})
		}
		opt[k][l] = entry{m, pi, g}
	}
	bruteforceUpdate := func(k int) {
		update(&match{pattern: patBruteforce, i: 0, j: k}, 1)
		for i := 1; i <= k; i++ {
			m := &match{pattern: patBruteforce, i: i, j: k}
			for l := 1; l < len(opt[i-1]); l++ {
				last := opt[i-1][l].m
				if last == nil || last.pattern == patBruteforce {
					continue
				}
				update(m, l+1)
			}
		}
	}
	for k := range n {
		for _, m := range byJ[k] {
			if m.i > 0 {
				for l := 1; l < len(opt[m.i-1]); l++ {
					if opt[m.i-1][l].m != nil {
						update(m, l+1)
					}
				}
			} else {
				update(m, 1)
			}
		}
		bruteforceUpdate(k)
	}
	k := n - 1
	bestL, bestG := -1, math.Inf(1)
	for l := 1; l < len(opt[k]); l++ {
		if opt[k][l].m != nil && opt[k][l].g < bestG {
			bestL, bestG = l, opt[k][l].g
		}
	}
	var seq []*match
	for l := bestL; k >= 0; l-- {
		m := opt[k][l].m
		seq = append([]*match{m}, seq...)
		k = m.i - 1
	}
	return opt[n-1][len(seq)].g, seq
}

// TestPruningChangesNothing checks, on inputs up to 256 characters (longer than the node
// corpus can afford in bulk), that the pruned search and the deduplicated l33t matches
// give bit for bit the result of zxcvbn's plain search over zxcvbn's full match list.
func TestPruningChangesNothing(t *testing.T) {
	inputs := map[string]string{}
	for name, pw := range longInputs() {
		inputs[name] = pw
	}
	for _, in := range loadBenchInputs(t) {
		if in.length >= 64 {
			inputs[in.kind+" "+in.password[:12]] = in.password
		}
	}
	for n, pw := range fuzzInputs(60, 100, 256) {
		inputs["fuzz "+strconv.Itoa(n)] = pw
	}
	inputs["constructor and words"] = "constructor correct horse c0nstruct0r battery __proto__ staple rotcurtsnoc"
	inputs["dotted I"] = strings.Repeat("İ|1!7c0nstructor4@", 8)
	users := []string{"alice@example.com", "alice", "constructor", "weftid"}
	for name, pw := range inputs {
		fastSc := &scorer{refYear: 2026, static: staticIndex(), user: userIndex(users)}
		refSc := &scorer{refYear: 2026, static: staticIndex(), user: userIndex(users), reference: referenceSearch, keepAllL33t: true}
		u := toUnits(pw)
		fg, fseq := fastSc.mostGuessable(u, fastSc.omnimatch(u))
		rg, rseq := refSc.mostGuessable(u, refSc.omnimatch(u))
		fast, ref := fastSc.result(u, fg, fseq), refSc.result(u, rg, rseq)
		if !slices.Equal(describe(fseq), describe(rseq)) {
			t.Errorf("%s: sequence %v, reference %v", name, describe(fseq), describe(rseq))
		}
		if fast.Guesses != ref.Guesses && !(fast.Guesses != fast.Guesses && ref.Guesses != ref.Guesses) {
			t.Errorf("%s: guesses %v, reference %v", name, fast.Guesses, ref.Guesses)
		}
		if fast.Score != ref.Score || fast.CrackTime != ref.CrackTime || fast.Warning != ref.Warning || !slices.Equal(fast.Suggestions, ref.Suggestions) {
			t.Errorf("%s: %+v, reference %+v", name, fast, ref)
		}
	}
}

// fuzzInputs builds count passwords of minLen..maxLen units from the pieces zxcvbn
// matches (words, l33t, reversed and capitalised words, dates, years, keyboard walks,
// repeats, sequences, the NaN words, case-changing and astral characters, random runs).
func fuzzInputs(count, minLen, maxLen int) []string {
	r := rand.New(rand.NewPCG(7, 11))
	var words []string
	for _, d := range dictNames[:numStaticDicts] {
		for i := 0; i < 400; i++ {
			words = append(words, frequency.FrequencyLists[d][r.IntN(min(2000, len(frequency.FrequencyLists[d])))])
		}
	}
	pick := func(a []string) string { return a[r.IntN(len(a))] }
	leet := map[rune]string{'a': "4@", 'b': "8", 'c': "({[<", 'e': "3", 'g': "69", 'i': "1!|", 'l': "1|7", 'o': "0", 's': "$5", 't': "+7", 'x': "%", 'z': "2"}
	pieces := []func() string{
		func() string { return pick(words) },
		func() string {
			var b strings.Builder
			for _, c := range pick(words) {
				if s, ok := leet[c]; ok && r.IntN(10) < 6 {
					b.WriteByte(s[r.IntN(len(s))])
				} else {
					b.WriteRune(c)
				}
			}
			return b.String()
		},
		func() string { w := []rune(pick(words)); slices.Reverse(w); return string(w) },
		func() string { return strings.ToUpper(pick(words)) },
		func() string { w := pick(words); return strings.ToUpper(w[:1]) + w[1:] },
		func() string { return strconv.Itoa(r.IntN(10000)) },
		func() string { return pick([]string{"19", "20"}) + strconv.Itoa(10+r.IntN(90)) },
		func() string {
			return strconv.Itoa(1+r.IntN(12)) + pick([]string{"/", "-", ".", "", " "}) + strconv.Itoa(1+r.IntN(31)) + pick([]string{"/", "-", "."}) + strconv.Itoa(1950+r.IntN(80))
		},
		func() string {
			return pick([]string{"qwerty", "asdf", "zxcvbn", "1qaz2wsx", "7894", "159753", "aoeu", "!@#$", "/*-+"})
		},
		func() string { return strings.Repeat(pick([]string{"a", "ab", "1", "xyz", "lol"}), 2+r.IntN(4)) },
		func() string { return pick([]string{"abc", "xyz", "123", "9876", "acegi", "ZYX"}) },
		func() string { return pick([]string{"constructor", "__proto__", "c0nstruct0r", "rotcurtsnoc"}) },
		func() string { return pick([]string{"İ", "Σ", "ß", "é", "😀", "\u212A", "ǅ", "я"}) },
		func() string {
			var b strings.Builder
			for range 1 + r.IntN(8) {
				b.WriteByte(byte(0x21 + r.IntN(94)))
			}
			return b.String()
		},
		func() string { return pick([]string{"4@8({[<3691!|70$5+%2", "1!|7", "$5", "@4"}) },
		func() string { return pick([]string{" ", "-", "_", ".", "!", "\n"}) },
	}
	out := make([]string, 0, count)
	for len(out) < count {
		target := minLen + r.IntN(maxLen-minLen+1)
		var b []uint16
		for len(b) < target {
			b = append(b, toUnits(pieces[r.IntN(len(pieces))]())...)
		}
		out = append(out, string(utf16.Decode(b[:target])))
	}
	return out
}
