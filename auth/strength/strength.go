// Package strength scores passwords the way zxcvbn 4.4.2 does: the same score (0-4),
// guesses, crack-time wording and feedback as the npm package zxcvbn@4.4.2, so the
// strength meter and the "set password" check can rely on one verdict.
//
// It is a Go port of zxcvbn 4.4.2's matching, scoring, time_estimates and feedback
// (MIT, Dropbox; see LICENSE-zxcvbn.txt), with zxcvbn's word lists and keyboard graphs
// taken from github.com/trustelem/zxcvbn. To give zxcvbn.js's numbers bit for bit it
// works on UTF-16 code units with JavaScript's toLowerCase, regular-expression and
// Math.pow results (powtables.go), keeps zxcvbn's match order (which decides ties,
// and so the feedback), and reproduces zxcvbn.js's quirks: "constructor" and
// "__proto__" are found in every dictionary through Object.prototype with a NaN rank
// (see rankNaN), and only years up to 2019 count as recent years.
//
// Unlike zxcvbn.js, whose search is quadratic in the length times the number of
// sequence lengths and takes over a minute on some 256-character random passwords,
// one scoring takes about a millisecond at 256 characters, a few at worst. The speed
// comes from skipping work that cannot change the result (mostGuessable, l33tMatch),
// not from approximating: there is no length above which guesses differ. The first
// call also builds the word index, once per process (about 50 ms).
//
// testdata/corpus.json, written by testdata/gen-corpus.mjs with zxcvbn@4.4.2 in node,
// holds the expected verdicts; corpus_test.go requires every one of them exactly.
package strength

import (
	"time"
)

// Result is zxcvbn's verdict on one password.
type Result struct {
	Score       int      // 0..4, as zxcvbn 4.4.2
	Guesses     float64  // as zxcvbn 4.4.2
	CrackTime   string   // display string for offline_slow_hashing_1e4_per_second, zxcvbn's wording ("less than a second", "3 hours", "centuries", ...)
	Warning     string   // zxcvbn 4.4.2 feedback.warning ("" when none)
	Suggestions []string // zxcvbn 4.4.2 feedback.suggestions
}

// scorer holds what one zxcvbn(password, user_inputs) call sees.
type scorer struct {
	refYear int        // zxcvbn's scoring.REFERENCE_YEAR
	static  *wordIndex // zxcvbn's frequency lists
	user    *wordIndex // the user_inputs dictionary

	arena []match // see newMatch

	// Test hooks: reference replaces mostGuessable's search (with the plain port of
	// zxcvbn's loop), keepAllL33t keeps every repeated l33t match as zxcvbn lists it.
	reference   func(sc *scorer, pw []uint16, matches []*match) (float64, []*match)
	keepAllL33t bool
}

// Score scores password with userInputs (e.g. the user's email, its local part, name
// parts, and "weftid") counted as dictionary words, like zxcvbn(password, user_inputs).
//
// Dates and years are judged against the current year, as zxcvbn.js does with the
// year it was loaded in (its REFERENCE_YEAR). Invalid UTF-8 in password counts as
// U+FFFD. Score is safe for concurrent use.
func Score(password string, userInputs []string) Result {
	return scoreAt(password, userInputs, time.Now().Year())
}

// scoreAt is Score with zxcvbn's REFERENCE_YEAR set to year.
func scoreAt(password string, userInputs []string, year int) Result {
	return (&scorer{refYear: year, static: staticIndex(), user: userIndex(userInputs)}).score(password)
}

func (sc *scorer) score(password string) Result {
	pw := toUnits(password)
	guesses, seq := sc.mostGuessable(pw, sc.omnimatch(pw))
	return sc.result(pw, guesses, seq)
}

func (sc *scorer) result(pw []uint16, guesses float64, seq []*match) Result {
	score := guessesToScore(guesses)
	warning, suggestions := feedback(score, seq, pw)
	return Result{
		Score:       score,
		Guesses:     guesses,
		CrackTime:   displayTime(guesses / 1e4),
		Warning:     warning,
		Suggestions: suggestions,
	}
}

// userIndex is zxcvbn's set_user_input_dictionary: each input lowercased, ranked by
// position (a repeated input keeps its last rank).
func userIndex(inputs []string) *wordIndex {
	words := make([][]uint16, len(inputs))
	for i, s := range inputs {
		words[i] = jsLower(toUnits(s))
	}
	return buildIndex([][][]uint16{words})
}
