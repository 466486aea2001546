package strength

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// longInputs are 256-character passwords of the kinds that make zxcvbn slow or that
// take the scorer's less common paths. Allowed passwords are at most 256 characters.
func longInputs() map[string]string {
	r := rand.New(rand.NewPCG(1, 2))
	rs := func(alphabet string, n int) string {
		a := []rune(alphabet)
		var b strings.Builder
		for range n {
			b.WriteRune(a[r.IntN(len(a))])
		}
		return b.String()
	}
	rep := func(s string) string {
		rs := []rune(strings.Repeat(s, 256/utf8.RuneCountInString(s)+1))
		return string(rs[:256])
	}
	var printable strings.Builder
	for c := byte(0x21); c < 0x7f; c++ {
		printable.WriteByte(c)
	}
	words := "correct horse battery staple sunflower meadow breeze mountain river sunset purple monkey dishwasher "
	return map[string]string{
		"random printable":      rs(printable.String(), 256),
		"random lowercase":      rs("abcdefghijklmnopqrstuvwxyz", 256),
		"random l33t chars":     rs("4@8({[<3691!|70$5+%2", 256),
		"random l33t and words": rs("4@8({[<3691!|70$5+%2abcdefghijklmnopqrstuvwxyz", 256),
		"repeated a":            strings.Repeat("a", 256),
		"repeated abc":          rep("abc"),
		"repeated l33t":         rep("4@1!0$"),
		"repeated all l33t":     rep("4@8({[<3691!|70$5+%2"),
		"l33t words":            rep("p@ssw0rd!|l0v3y0u$7r0ng"),
		"digits":                rs("0123456789", 256),
		"dates":                 rep("19/06/2004-"),
		"keyboard walk":         rep("qwertyuiop"),
		"keypad walk":           rep("7894561230"),
		"words":                 rep(words),
		"words no spaces":       rep(strings.ReplaceAll(words, " ", "")),
		"words and constructor": rep("constructor " + words),
		"constructor l33t":      rep("c0n57ruc70r|__pr0t0__"),
		"dotted I and l33t":     rep("İ4@8({[<3691!|70$5+%2"),
		"emoji":                 rs("😀😃😄😁🔒🔑👍", 256),
		"emoji and words":       rep("😀correct🔑horse"),
		"cyrillic":              rs("абвгдежзийклмнопрстуфхцчшщъыьэюя", 256),
		"sequence":              rep("abcdefghijklmnopqrstuvwxyz"),
		"newlines":              rep("ab\nab\r"),
		"ambiguous l33t":        rs("1|!7il", 256),
		"constructor between":   rep("constructorX"),
		"dotted I constructor":  rep("İc0nstruct0r"),
		"separated digits":      rep("1/1/1-1-"),
		"random half repeated":  strings.Repeat(rs(printable.String(), 128), 2),
		"words half repeated":   strings.Repeat(rep(words)[:128], 2),
		"user inputs repeated":  rep("alice@example.comweftid"),
		"emoji and constructor": rep("😀😀😀😀😀😀😀😀😀😀😀c0nstructor"),
		"emoji and NaN l33t":    rep("😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀_pr0t0_"),
	}
}

// TestLongInputsFinish scores 256-character inputs of many kinds. It asserts nothing
// about time (run with -v to see the slowest); it checks that scoring finishes and gives
// a sane verdict.
func TestLongInputsFinish(t *testing.T) {
	staticIndex() // built once per process, on first use: not part of a scoring
	var worst time.Duration
	worstName := ""
	for name, pw := range longInputs() {
		var slowest time.Duration
		var r Result
		for range 3 {
			start := time.Now()
			r = Score(pw, []string{"alice@example.com", "alice", "weftid"})
			slowest = max(slowest, time.Since(start))
		}
		if r.Score < 0 || r.Score > 4 || !(r.Guesses >= 1) || r.CrackTime == "" || r.Suggestions == nil {
			t.Errorf("%s: %+v", name, r)
		}
		t.Logf("%-22s %8.3f ms (slowest of 3)  score %d  guesses %.3g", name, ms(slowest), r.Score, r.Guesses)
		if slowest > worst {
			worst, worstName = slowest, name
		}
	}
	t.Logf("slowest: %s, %.3f ms", worstName, ms(worst))
}
