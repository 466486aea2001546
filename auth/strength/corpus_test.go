package strength

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// corpus is testdata/corpus.json, written by testdata/gen-corpus.mjs with zxcvbn@4.4.2.
type corpus struct {
	ZXCVBN                string        `json:"zxcvbn"`
	ReferenceYear         int           `json:"reference_year"`
	FrequencyListsSHA256  string        `json:"frequency_lists_sha256"`
	FrequencyListsOrder   []string      `json:"frequency_lists_order"`
	AdjacencyGraphsSHA256 string        `json:"adjacency_graphs_sha256"`
	Entries               []corpusEntry `json:"entries"`
}

type corpusEntry struct {
	Password    string   `json:"password"`
	UserInputs  []string `json:"user_inputs"`
	Source      string   `json:"source"`
	Score       int      `json:"score"`
	Guesses     float64  `json:"guesses"`
	GuessesText string   `json:"guesses_text"`
	CrackTime   string   `json:"crack_time"`
	Warning     string   `json:"warning"`
	Suggestions []string `json:"suggestions"`
	Sequence    []string `json:"sequence"`
}

func loadCorpus(t testing.TB) *corpus {
	t.Helper()
	path := "testdata/corpus.json"
	if p := os.Getenv("WEFTID_STRENGTH_CORPUS"); p != "" {
		path = p // a corpus written elsewhere by gen-corpus.mjs (CORPUS_OUT)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.ZXCVBN != "4.4.2" || c.ReferenceYear == 0 || len(c.Entries) == 0 {
		t.Fatalf("corpus: zxcvbn %q, reference year %d, %d entries", c.ZXCVBN, c.ReferenceYear, len(c.Entries))
	}
	return &c
}

// describe renders our sequence the way gen-corpus.mjs renders zxcvbn's.
func describe(seq []*match) []string {
	names := map[pattern]string{patBruteforce: "bruteforce", patDictionary: "dictionary", patSpatial: "spatial",
		patRepeat: "repeat", patSequence: "sequence", patRegex: "regex", patDate: "date"}
	out := []string{}
	for _, m := range seq {
		s := names[m.pattern] + " " + strconv.Itoa(m.i) + "-" + strconv.Itoa(m.j)
		if m.pattern == patDictionary {
			s += " " + dictNames[m.dict]
			if m.l33t {
				s += " l33t"
			}
			if m.reversed {
				s += " reversed"
			}
		}
		out = append(out, s)
	}
	return out
}

// TestCorpus requires, for every entry of testdata/corpus.json (zxcvbn@4.4.2's verdicts
// computed in node), the same score, the same guesses (the same float64), the same crack
// time display, warning and suggestions, and the same match sequence.
func TestCorpus(t *testing.T) {
	c := loadCorpus(t)
	bad := 0
	for n, e := range c.Entries {
		got := scoreAt(e.Password, e.UserInputs, c.ReferenceYear)
		var problems []string
		if got.Score != e.Score {
			problems = append(problems, "score "+strconv.Itoa(got.Score)+" want "+strconv.Itoa(e.Score))
		}
		// Guesses must be the very same float64 (JSON carries JavaScript's shortest
		// round-trip form, which parses back to the exact number).
		if got.Guesses != e.Guesses {
			problems = append(problems, "guesses "+strconv.FormatFloat(got.Guesses, 'g', -1, 64)+" want "+e.GuessesText)
		}
		if got.CrackTime != e.CrackTime {
			problems = append(problems, "crack time "+strconv.Quote(got.CrackTime)+" want "+strconv.Quote(e.CrackTime))
		}
		if got.Warning != e.Warning {
			problems = append(problems, "warning "+strconv.Quote(got.Warning)+" want "+strconv.Quote(e.Warning))
		}
		if !slices.Equal(got.Suggestions, e.Suggestions) || got.Suggestions == nil {
			problems = append(problems, "suggestions "+strings.Join(got.Suggestions, "|")+" want "+strings.Join(e.Suggestions, "|"))
		}
		if len(problems) == 0 {
			pw := toUnits(e.Password)
			sc := &scorer{refYear: c.ReferenceYear, static: staticIndex(), user: userIndex(e.UserInputs)}
			_, seq := sc.mostGuessable(pw, sc.omnimatch(pw))
			if d := describe(seq); !slices.Equal(d, e.Sequence) {
				problems = append(problems, "sequence "+strings.Join(d, ", ")+" want "+strings.Join(e.Sequence, ", "))
			}
		}
		if len(problems) > 0 {
			bad++
			t.Errorf("entry %d %q %q: %s", n, e.Password, e.UserInputs, strings.Join(problems, "; "))
		}
	}
	t.Logf("%d entries, %d differ", len(c.Entries), bad)
}
