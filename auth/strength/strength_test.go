package strength

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn/adjacency"
	"github.com/trustelem/zxcvbn/frequency"
)

// TestDictionaryFingerprint proves the word lists and keyboard graphs used here are
// zxcvbn@4.4.2's: gen-corpus.mjs records digests of them in corpus.json.
func TestDictionaryFingerprint(t *testing.T) {
	c := loadCorpus(t)
	if !slices.Equal(c.FrequencyListsOrder, dictNames[:numStaticDicts]) {
		t.Errorf("dictionary order %v, zxcvbn's %v", dictNames[:numStaticDicts], c.FrequencyListsOrder)
	}
	var b strings.Builder
	for _, name := range c.FrequencyListsOrder {
		b.WriteString(name + "\n")
		for _, w := range frequency.FrequencyLists[name] {
			b.WriteString(fixWord(w) + "\n")
		}
	}
	if got := sha256Hex(b.String()); got != c.FrequencyListsSHA256 {
		t.Errorf("frequency lists digest %s, zxcvbn's %s", got, c.FrequencyListsSHA256)
	}
	b.Reset()
	for _, name := range []string{"qwerty", "dvorak", "keypad", "mac_keypad"} {
		g := adjacency.Graphs[name].Graph
		b.WriteString(name + "\n")
		keys := make([]string, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(strings.Join(append([]string{k}, g[k]...), "\t") + "\n")
		}
	}
	if got := sha256Hex(b.String()); got != c.AdjacencyGraphsSHA256 {
		t.Errorf("adjacency graphs digest %s, zxcvbn's %s", got, c.AdjacencyGraphsSHA256)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestAverageDegrees(t *testing.T) {
	// zxcvbn's calc_average_degree, from the graphs, equals the generated constants.
	for _, c := range []struct {
		name string
		want float64
	}{{"qwerty", keyboardAvgDeg}, {"keypad", keypadAvgDeg}} {
		g := adjacency.Graphs[c.name].Graph
		n := 0
		for _, v := range g {
			for _, x := range v {
				if x != "" {
					n++
				}
			}
		}
		if got := float64(n) / float64(len(g)); got != c.want {
			t.Errorf("%s: %v, table %v", c.name, got, c.want)
		}
	}
	if pow10.at(26) == 1e26 || pow10.at(22) != 1e22 || !math.IsInf(pow10.at(309), 1) || !math.IsInf(pow10.at(5000), 1) {
		t.Errorf("pow10 table is not V8's Math.pow(10, n)")
	}
}

func TestEmptyPassword(t *testing.T) {
	r := Score("", nil)
	want := Result{Score: 0, Guesses: 1, CrackTime: "less than a second", Warning: "",
		Suggestions: []string{"Use a few words, avoid common phrases", "No need for symbols, digits, or uppercase letters"}}
	if r.Score != want.Score || r.Guesses != want.Guesses || r.CrackTime != want.CrackTime || r.Warning != want.Warning || !slices.Equal(r.Suggestions, want.Suggestions) {
		t.Errorf("Score(\"\") = %+v, want %+v", r, want)
	}
	// the default suggestions are not shared between results
	r.Suggestions[0] = "changed"
	if Score("", nil).Suggestions[0] != want.Suggestions[0] {
		t.Error("default suggestions were modified through a result")
	}
}

func TestFeedback(t *testing.T) {
	for _, c := range []struct {
		pw      string
		inputs  []string
		warning string
		sugg    []string
	}{
		{"password", nil, "This is a top-10 common password", []string{extraFeedback}},
		{"P@ssw0rd", nil, "This is similar to a commonly used password", []string{extraFeedback, "Capitalization doesn't help very much", "Predictable substitutions like '@' instead of 'a' don't help very much"}},
		{"drowssap", nil, "This is similar to a commonly used password", []string{extraFeedback, "Reversed words aren't much harder to guess"}},
		{"PASSWORD", nil, "This is a top-10 common password", []string{extraFeedback, "All-uppercase is almost as easy to guess as all-lowercase"}},
		{"elephant", nil, "This is a very common password", []string{extraFeedback}},
		{"dictionary", nil, "A word by itself is easy to guess", []string{extraFeedback}},
		{"jennifer", nil, "Names and surnames by themselves are easy to guess", []string{extraFeedback}},
		{"qwertyuiop", nil, "This is a top-100 common password", []string{extraFeedback}},
		{"zxcvbnm,./", nil, "Straight rows of keys are easy to guess", []string{extraFeedback, "Use a longer keyboard pattern with more turns"}},
		{"aaaaaaaa", nil, `Repeats like "aaa" are easy to guess`, []string{extraFeedback, "Avoid repeated words and characters"}},
		{"abcabcabc", nil, `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`, []string{extraFeedback, "Avoid repeated words and characters"}},
		{"acegik", nil, "Sequences like abc or 6543 are easy to guess", []string{extraFeedback, "Avoid sequences"}},
		{"12/25/1985", nil, "Dates are often easy to guess", []string{extraFeedback, "Avoid dates and years that are associated with you"}},
		{"weftid", []string{"weftid"}, "", []string{extraFeedback}},
		{"correct horse battery staple", nil, "", []string{}},
	} {
		r := scoreAt(c.pw, c.inputs, 2026)
		if r.Warning != c.warning || !slices.Equal(r.Suggestions, c.sugg) {
			t.Errorf("%q: warning %q suggestions %q, want %q %q", c.pw, r.Warning, r.Suggestions, c.warning, c.sugg)
		}
	}
}

func TestRecentYearFeedback(t *testing.T) {
	// A recent year alone is a date match as well; zxcvbn keeps the regex match
	// when it is as cheap. (Checked in the corpus too.)
	r := scoreAt("1996", nil, 2026)
	if r.Warning != "Recent years are easy to guess" || !slices.Equal(r.Suggestions, []string{extraFeedback, "Avoid recent years", "Avoid years that are associated with you"}) {
		t.Errorf("1996: %+v", r)
	}
}

func TestReferenceYear(t *testing.T) {
	// zxcvbn 4.4.2 reads the year at load time: dates near it are cheaper.
	a := scoreAt("12/25/2026", nil, 2026)
	b := scoreAt("12/25/2026", nil, 2096)
	if a.Guesses >= b.Guesses {
		t.Errorf("a date in the reference year should be cheaper: %v vs %v", a.Guesses, b.Guesses)
	}
}

func TestGuessesToScore(t *testing.T) {
	for _, c := range []struct {
		g    float64
		want int
	}{{1, 0}, {1004.99, 0}, {1005, 1}, {1e6 + 4.9, 1}, {1e6 + 5, 2}, {1e8 + 5, 3}, {1e10 + 4, 3}, {1e10 + 5, 4}, {math.Inf(1), 4}, {math.NaN(), 4}} {
		if got := guessesToScore(c.g); got != c.want {
			t.Errorf("guessesToScore(%v) = %d, want %d", c.g, got, c.want)
		}
	}
}

func TestDisplayTime(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{
		{0, "less than a second"}, {0.999, "less than a second"}, {1, "1 second"}, {1.49, "1 second"},
		{1.5, "2 seconds"}, {59.5, "60 seconds"}, {60, "1 minute"}, {89.99, "1 minute"}, {90, "2 minutes"},
		{3600, "1 hour"}, {86400 * 1.5, "2 days"}, {86400 * 31, "1 month"}, {86400 * 31 * 12, "1 year"},
		{86400 * 31 * 12 * 99.6, "100 years"}, {86400 * 31 * 12 * 100, "centuries"}, {math.Inf(1), "centuries"},
	} {
		if got := displayTime(c.s); got != c.want {
			t.Errorf("displayTime(%v) = %q, want %q", c.s, got, c.want)
		}
	}
	if jsRound(0.49999999999999994) != 0 || jsRound(2.5) != 3 || jsRound(-2.5) != -2 {
		t.Error("jsRound is not Math.round")
	}
}

func TestJSLower(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ABC", "abc"},
		{"İstanbul", "i\u0307stanbul"}, // grows by one unit, as in JavaScript
		{"ΟΔΟΣ", "οδος"},               // final sigma
		{"ΣΑ", "σα"},
		{"Σ", "σ"},
		{"\u212Aing", "king"}, // Kelvin sign
		{"ÄÖÜ", "äöü"},
		{"𐐀", "𐐨"}, // astral letters lowercase as a pair
	} {
		if got := string(utf16Decode(jsLower(toUnits(c.in)))); got != c.want {
			t.Errorf("jsLower(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	lone := []uint16{0xD83D, 'A'}
	if got := jsLower(lone); got[0] != 0xD83D || got[1] != 'a' {
		t.Errorf("lone surrogate: %x", got)
	}
}

func utf16Decode(u []uint16) []rune {
	var out []rune
	for p := 0; p < len(u); {
		r, n := decodeAt(u, p)
		out = append(out, r)
		p += n
	}
	return out
}

func TestL33tSubs(t *testing.T) {
	// zxcvbn's enumerate_l33t_subs gives 736 lists when every substitute is present,
	// keeping duplicates that differ only in order.
	if n := len(enumerateL33tSubs(toUnits("4@8({[<3691!|70$5+%2"))); n != 736 {
		t.Errorf("%d substitution lists, zxcvbn has 736", n)
	}
	// zxcvbn's enumerate_l33t_subs(relevant_l33t_subtable("1|")), from node.
	want := []map[uint16]uint16{{'1': 'i'}, {'1': 'l'}, {'1': 'l', '|': 'i'}, {'1': 'i', '|': 'l'}, {'|': 'i'}, {'|': 'l'}}
	subs := enumerateL33tSubs(toUnits("1|"))
	if len(subs) != len(want) {
		t.Fatalf("%d lists, want %d", len(subs), len(want))
	}
	for k, sub := range subs {
		got := map[uint16]uint16{}
		for _, p := range sub.pairs() {
			got[p.from] = p.to
		}
		if !maps.Equal(got, want[k]) {
			t.Errorf("list %d: %v, want %v", k, got, want[k])
		}
	}
	if enumerateL33tSubs(toUnits("abc")) == nil || enumerateL33tSubs(toUnits("abc"))[0].n != 0 {
		t.Error("a password with no l33t character has the one empty list")
	}
}

func TestRepeatRegexes(t *testing.T) {
	for _, c := range []struct {
		pw                    string
		s, greedy, lazy, root int
	}{
		{"aabaab", 0, 6, 2, 3},
		{"aaaaa", 0, 4, 5, 1},
		{"abababab", 0, 8, 8, 2},
		{"xyzabcabc", 3, 6, 6, 3},
		{"ab\nab", -1, 0, 0, 0}, // "." does not match a line terminator
	} {
		pw := toUnits(c.pw)
		s, g, _, l, _, ok, _ := findRepeat(pw, 0, nil)
		if !ok {
			if c.s != -1 {
				t.Errorf("%q: no repeat", c.pw)
			}
			continue
		}
		if s != c.s || g != c.greedy || l != c.lazy {
			t.Errorf("%q: start %d greedy %d lazy %d, want %d %d %d", c.pw, s, g, l, c.s, c.greedy, c.lazy)
		}
		if g > l {
			if r := primitiveRoot(pw[s : s+g]); r != c.root {
				t.Errorf("%q: root %d, want %d", c.pw, r, c.root)
			}
		}
	}
}

func TestDates(t *testing.T) {
	for _, c := range []struct {
		ints [3]int
		ok   bool
		want dmy
	}{
		{[3]int{1, 1, 91}, true, dmy{1991, 1, 1}},
		{[3]int{12, 25, 1985}, true, dmy{1985, 12, 25}},
		{[3]int{1985, 12, 25}, true, dmy{1985, 12, 25}},
		{[3]int{13, 13, 2000}, false, dmy{}},
		{[3]int{0, 0, 0}, false, dmy{}},
		{[3]int{1, 32, 91}, false, dmy{}},
		{[3]int{11, 15, 4}, true, dmy{2004, 11, 15}},
		{[3]int{500, 1, 1}, false, dmy{}},
		{[3]int{2051, 1, 1}, false, dmy{}},
	} {
		got, ok := mapIntsToDMY(c.ints)
		if ok != c.ok || got != c.want {
			t.Errorf("mapIntsToDMY(%v) = %v %v, want %v %v", c.ints, got, ok, c.want, c.ok)
		}
	}
}

func TestUserInputs(t *testing.T) {
	// user inputs are lowercased and count as the user_inputs dictionary
	with := Score("Alice1985weftid", []string{"ALICE", "weftid"})
	without := Score("Alice1985weftid", nil)
	if with.Guesses >= without.Guesses {
		t.Errorf("user inputs should make the password cheaper: %v vs %v", with.Guesses, without.Guesses)
	}
	// an input given twice keeps its last rank, as zxcvbn's build_ranked_dict does
	x := userIndex([]string{"bob", "alice", "bob"})
	lo, hi := 0, x.size()
	for d, c := range toUnits("bob") {
		lo, hi = x.narrow(lo, hi, d, c)
	}
	if hi-lo != 1 || x.ranks[lo] != 3 {
		t.Errorf("bob: rank %d", x.ranks[lo])
	}
}

func TestObjectPrototypeWords(t *testing.T) {
	// zxcvbn.js finds "constructor" and "__proto__" in every dictionary through
	// Object.prototype; the corpus holds zxcvbn's verdicts on them. Here: the quirk
	// does not leak into a plain word and the verdict is a number.
	for _, pw := range []string{"constructor", "__proto__", "c0nstructor", "xconstructor"} {
		r := Score(pw, nil)
		if math.IsNaN(r.Guesses) || r.Guesses < 1 {
			t.Errorf("%s: guesses %v", pw, r.Guesses)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	a := Score("pass\xffword", nil)
	b := Score("pass\uFFFDword", nil)
	if a.Guesses != b.Guesses || a.Score != b.Score {
		t.Errorf("invalid UTF-8: %+v vs %+v", a, b)
	}
}

func TestSuggestionsNeverNil(t *testing.T) {
	for _, pw := range []string{"", "a", "correct horse battery staple", "Tr0ub4dor&3", strings.Repeat("x", 300)} {
		if Score(pw, nil).Suggestions == nil {
			t.Errorf("%q: nil suggestions", pw)
		}
	}
}
