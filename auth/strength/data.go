package strength

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn/adjacency"
	"github.com/trustelem/zxcvbn/frequency"
)

// dictNames are zxcvbn 4.4.2's ranked dictionaries in the order its matcher visits
// them (the order of frequency_lists.js, then the per-call user_inputs). Among
// dictionary matches over the same span that order decides which one wins a tie.
var dictNames = [...]string{
	"passwords",
	"english_wikipedia",
	"female_names",
	"surnames",
	"us_tv_and_film",
	"male_names",
	"user_inputs",
}

const (
	numStaticDicts = 6
	userInputsDict = 6
)

// rankNaN marks a word that zxcvbn.js "finds" in a dictionary only because the
// dictionary is a plain JavaScript object: `"constructor" of ranked_dict` and
// `"__proto__" of ranked_dict` are true through Object.prototype, and the rank read back
// is not a number, so the match's guesses are NaN. zxcvbn 4.4.2's result for passwords
// holding those words depends on it, so the scorer reproduces it.
const rankNaN = -1

// protoWords are the lowercase property names every JavaScript object inherits.
var protoWords = [...]string{"__proto__", "constructor"}

// wordIndex is a sorted list of distinct lowercase words with their rank in each of nd
// dictionaries (0 when absent, rankNaN as above). Matching walks it like a trie: the
// words that start with a given prefix form one contiguous range.
type wordIndex struct {
	nd    int
	text  []uint16 // the words, concatenated
	off   []int32  // word w is text[off[w]:off[w+1]]
	ranks []int32  // ranks[w*nd+d]
	// lo0/hi0 give the range of words starting with each ASCII unit.
	lo0, hi0 [128]int32
}

func (x *wordIndex) size() int { return len(x.off) - 1 }

func (x *wordIndex) wordLen(w int) int { return int(x.off[w+1] - x.off[w]) }

func (x *wordIndex) word(w int) []uint16 { return x.text[x.off[w]:x.off[w+1]] }

// before reports whether word w sorts before every word having unit c at depth d (all
// words in the current range share their first d units); orEqual also counts c itself.
func (x *wordIndex) before(w, d int, c uint16, orEqual bool) bool {
	o, e := int(x.off[w]), int(x.off[w+1])
	if e-o <= d {
		return true
	}
	u := x.text[o+d]
	return u < c || (orEqual && u == c)
}

// narrow returns the part of [lo,hi) whose words continue with unit c at depth d.
func (x *wordIndex) narrow(lo, hi, d int, c uint16) (int, int) {
	if d == 0 && c < 128 && lo == 0 && hi == x.size() {
		return int(x.lo0[c]), int(x.hi0[c])
	}
	a, b := lo, hi
	for a < b {
		m := int(uint(a+b) >> 1)
		if x.before(m, d, c, false) {
			a = m + 1
		} else {
			b = m
		}
	}
	nlo := a
	b = hi
	for a < b {
		m := int(uint(a+b) >> 1)
		if x.before(m, d, c, true) {
			a = m + 1
		} else {
			b = m
		}
	}
	return nlo, a
}

// newWordIndex builds an index from distinct words (UTF-16), keys that sort as they do
// (see unitsKey), and their ranks (ranks[w*nd+d]).
func newWordIndex(nd int, words [][]uint16, keys []string, ranks []int32) *wordIndex {
	order := make([]int, len(words))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	x := &wordIndex{nd: nd, off: make([]int32, 0, len(words)+1), ranks: make([]int32, 0, len(words)*nd)}
	total := 0
	for _, w := range words {
		total += len(w)
	}
	x.text = make([]uint16, 0, total)
	for _, k := range order {
		x.off = append(x.off, int32(len(x.text)))
		x.text = append(x.text, words[k]...)
		x.ranks = append(x.ranks, ranks[k*nd:(k+1)*nd]...)
	}
	x.off = append(x.off, int32(len(x.text)))
	for c := range 128 {
		// first words whose unit 0 is >= c and > c.
		x.lo0[c] = int32(x.search(func(w int) bool { return x.before(w, 0, uint16(c), false) }))
		x.hi0[c] = int32(x.search(func(w int) bool { return x.before(w, 0, uint16(c), true) }))
	}
	return x
}

// search returns the first word for which before is false.
func (x *wordIndex) search(before func(w int) bool) int {
	a, b := 0, x.size()
	for a < b {
		m := int(uint(a+b) >> 1)
		if before(m) {
			a = m + 1
		} else {
			b = m
		}
	}
	return a
}

// buildIndex indexes word lists: lists[d] is dictionary d's words in rank order. As in
// zxcvbn's build_ranked_dict, a word listed twice keeps its last rank. The inherited
// JavaScript property names get rankNaN where a dictionary lacks them.
func buildIndex(lists [][][]uint16) *wordIndex {
	nd := len(lists)
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	wide := false
	for _, l := range lists {
		for _, w := range l {
			for _, c := range w {
				wide = wide || c >= 0x80
			}
		}
	}
	pos := make(map[string]int32, total+len(protoWords))
	words := make([][]uint16, 0, total+len(protoWords))
	keys := make([]string, 0, total+len(protoWords))
	ranks := make([]int32, 0, (total+len(protoWords))*nd)
	add := func(w []uint16) int {
		k := unitsKey(w, wide)
		p, ok := pos[k]
		if !ok {
			p = int32(len(words))
			pos[k] = p
			words = append(words, w)
			keys = append(keys, k)
			ranks = append(ranks, make([]int32, nd)...)
		}
		return int(p)
	}
	for d, list := range lists {
		for r, w := range list {
			ranks[add(w)*nd+d] = int32(r + 1)
		}
	}
	for _, pw := range protoWords {
		p := add(toUnits(pw))
		for d := range nd {
			if ranks[p*nd+d] == 0 || pw == "__proto__" {
				ranks[p*nd+d] = rankNaN
			}
		}
	}
	return newWordIndex(nd, words, keys, ranks)
}

// unitsKey turns UTF-16 units into a string that sorts as the units do: one byte a
// unit when every word of the index is ASCII (wide false), else two, big-endian.
func unitsKey(u []uint16, wide bool) string {
	if !wide {
		b := make([]byte, len(u))
		for i, c := range u {
			b[i] = byte(c)
		}
		return string(b)
	}
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return string(b)
}

// rankValue converts a stored rank to zxcvbn's number.
func rankValue(r int32) float64 {
	if r == rankNaN {
		return math.NaN()
	}
	return float64(r)
}

// staticIndex holds zxcvbn 4.4.2's frequency lists. The word lists are those of
// github.com/trustelem/zxcvbn, which carries zxcvbn's data; its passwords list has one
// entry escaped differently from zxcvbn's ("pic\'s" for "pic's"), corrected here.
// TestDictionaryFingerprint checks the result against a digest of zxcvbn@4.4.2's
// frequency_lists.js recorded by testdata/gen-corpus.mjs.
var staticIndex = sync.OnceValue(func() *wordIndex {
	total := 0
	for d := range numStaticDicts {
		for _, w := range frequency.FrequencyLists[dictNames[d]] {
			total += len(w)
		}
	}
	buf := make([]uint16, 0, total) // the words are ASCII: one unit a byte
	lists := make([][][]uint16, numStaticDicts)
	for d := range numStaticDicts {
		src := frequency.FrequencyLists[dictNames[d]]
		l := make([][]uint16, len(src))
		for i, w := range src {
			start := len(buf)
			for _, c := range []byte(fixWord(w)) {
				buf = append(buf, uint16(c))
			}
			l[i] = buf[start:len(buf):len(buf)]
		}
		lists[d] = l
	}
	return buildIndex(lists)
})

func fixWord(w string) string {
	if w == `pic\'s` {
		return "pic's"
	}
	return w
}

// graph is one of zxcvbn's keyboard adjacency graphs, indexed by ASCII unit: adj[c] lists
// c's neighbours by direction ("" where there is none), nil when c is not on it.
type graph struct {
	name     string
	adj      [128][]string
	keyboard bool // qwerty or dvorak (else a keypad)
}

// graphs are zxcvbn's GRAPHS in its order.
var graphs = sync.OnceValue(func() []*graph {
	var out []*graph
	for _, name := range []string{"qwerty", "dvorak", "keypad", "mac_keypad"} {
		g := &graph{name: name, keyboard: name == "qwerty" || name == "dvorak"}
		for k, v := range adjacency.Graphs[name].Graph {
			if len(k) == 1 && k[0] < 128 {
				g.adj[k[0]] = v
			}
		}
		out = append(out, g)
	}
	return out
})

// powTable converts generated bits; index past the end is +Inf (every base is > 1).
type powTable []float64

// powTables reads powtables.txt: a paragraph per table, its name and then one float64's bits
// a line in hex. A malformed file is a build defect, so it panics at start-up.
func powTables(text string) map[string]powTable {
	tables := map[string]powTable{}
	var name string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			name = ""
		case name == "":
			name = line
		default:
			b, err := strconv.ParseUint(line, 16, 64)
			if err != nil {
				panic(fmt.Sprintf("strength: powtables.txt, table %s: %v", name, err))
			}
			tables[name] = append(tables[name], math.Float64frombits(b))
		}
	}
	return tables
}

func (t powTable) at(n int) float64 {
	if n < len(t) {
		return t[n]
	}
	return math.Inf(1)
}

var (
	pows           = powTables(powTablesText)
	pow10          = pows["pow10Bits"]
	pow1e4         = pows["pow1e4Bits"]
	powKeyboardDeg = pows["powKeyboardDegreeBits"]
	powKeypadDeg   = pows["powKeypadDegreeBits"]
	keyboardAvgDeg = math.Float64frombits(keyboardAverageDegreeBits)
	keypadAvgDeg   = math.Float64frombits(keypadAverageDegreeBits)
)

// factorials[n] is n! computed as zxcvbn does (1*2*...*n in float64); +Inf from 171 on.
var factorials = func() []float64 {
	f := make([]float64, 172)
	f[0], f[1] = 1, 1
	for n := 2; n < len(f); n++ {
		f[n] = f[n-1] * float64(n)
	}
	return f
}()

func factorial(n int) float64 {
	if n < len(factorials) {
		return factorials[n]
	}
	return math.Inf(1)
}
