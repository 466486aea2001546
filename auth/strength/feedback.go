package strength

import (
	"math"
	"strconv"
)

// This file ports zxcvbn 4.4.2's feedback.coffee and time_estimates.coffee.

const extraFeedback = "Add another word or two. Uncommon words are better."

// defaultSuggestions are zxcvbn's default_feedback suggestions, given for the empty password.
var defaultSuggestions = []string{
	"Use a few words, avoid common phrases",
	"No need for symbols, digits, or uppercase letters",
}

// feedback is zxcvbn's get_feedback for score and sequence over pw.
func feedback(score int, seq []*match, pw []uint16) (string, []string) {
	if len(seq) == 0 {
		return "", append([]string(nil), defaultSuggestions...)
	}
	if score > 2 {
		return "", []string{}
	}
	longest := seq[0]
	for _, m := range seq[1:] {
		if m.j-m.i > longest.j-longest.i {
			longest = m
		}
	}
	warning, suggestions, ok := matchFeedback(longest, len(seq) == 1, pw)
	if !ok {
		return "", []string{extraFeedback}
	}
	return warning, append([]string{extraFeedback}, suggestions...)
}

// matchFeedback is get_match_feedback; ok is false where zxcvbn returns nothing.
func matchFeedback(m *match, sole bool, pw []uint16) (string, []string, bool) {
	switch m.pattern {
	case patDictionary:
		w, s := dictionaryFeedback(m, sole, pw)
		return w, s, true
	case patSpatial:
		if m.turns == 1 {
			return "Straight rows of keys are easy to guess", []string{"Use a longer keyboard pattern with more turns"}, true
		}
		return "Short keyboard patterns are easy to guess", []string{"Use a longer keyboard pattern with more turns"}, true
	case patRepeat:
		if m.baseLen == 1 {
			return `Repeats like "aaa" are easy to guess`, []string{"Avoid repeated words and characters"}, true
		}
		return `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`, []string{"Avoid repeated words and characters"}, true
	case patSequence:
		return "Sequences like abc or 6543 are easy to guess", []string{"Avoid sequences"}, true
	case patRegex: // recent_year
		return "Recent years are easy to guess", []string{"Avoid recent years", "Avoid years that are associated with you"}, true
	case patDate:
		return "Dates are often easy to guess", []string{"Avoid dates and years that are associated with you"}, true
	}
	return "", nil, false
}

func dictionaryFeedback(m *match, sole bool, pw []uint16) (string, []string) {
	warning := ""
	switch dictNames[m.dict] {
	case "passwords":
		if sole && !m.l33t && !m.reversed {
			switch {
			case m.rank <= 10:
				warning = "This is a top-10 common password"
			case m.rank <= 100:
				warning = "This is a top-100 common password"
			default:
				warning = "This is a very common password"
			}
		} else if m.guesses <= 1e4 {
			// zxcvbn tests guesses_log10 <= 4, where guesses_log10 is
			// Math.log(guesses) / Math.log(10): exactly 4 at 10000, and guesses here are
			// whole numbers, so the two tests agree (NaN fails both).
			warning = "This is similar to a commonly used password"
		}
	case "english_wikipedia":
		if sole {
			warning = "A word by itself is easy to guess"
		}
	case "surnames", "male_names", "female_names":
		if sole {
			warning = "Names and surnames by themselves are easy to guess"
		} else {
			warning = "Common names and surnames are easy to guess"
		}
	}
	suggestions := []string{}
	tok := pw[m.i : m.j+1]
	if startUpper(tok) {
		suggestions = append(suggestions, "Capitalization doesn't help very much")
	} else if noneOf(tok, isLowerASCII) && !equalUnits(jsLower(tok), tok) {
		suggestions = append(suggestions, "All-uppercase is almost as easy to guess as all-lowercase")
	}
	if m.reversed && len(tok) >= 4 {
		suggestions = append(suggestions, "Reversed words aren't much harder to guess")
	}
	if m.l33t {
		suggestions = append(suggestions, "Predictable substitutions like '@' instead of 'a' don't help very much")
	}
	return warning, suggestions
}

// guessesToScore is zxcvbn's guesses_to_score (NaN scores 4, as in zxcvbn.js).
func guessesToScore(g float64) int {
	const delta = 5
	switch {
	case g < 1e3+delta:
		return 0
	case g < 1e6+delta:
		return 1
	case g < 1e8+delta:
		return 2
	case g < 1e10+delta:
		return 3
	}
	return 4
}

// jsRound is Math.round: the nearest integer, halves rounded up.
func jsRound(x float64) float64 {
	f := math.Floor(x)
	if x-f >= 0.5 {
		f++
	}
	return f
}

// displayTime is zxcvbn's display_time.
func displayTime(seconds float64) string {
	const (
		minute  = 60.0
		hour    = minute * 60
		day     = hour * 24
		month   = day * 31
		year    = month * 12
		century = year * 100
	)
	var base float64
	var unit string
	switch {
	case seconds < 1:
		return "less than a second"
	case seconds < minute:
		base, unit = jsRound(seconds), "second"
	case seconds < hour:
		base, unit = jsRound(seconds/minute), "minute"
	case seconds < day:
		base, unit = jsRound(seconds/hour), "hour"
	case seconds < month:
		base, unit = jsRound(seconds/day), "day"
	case seconds < year:
		base, unit = jsRound(seconds/month), "month"
	case seconds < century:
		base, unit = jsRound(seconds/year), "year"
	default:
		return "centuries" // also NaN, as in zxcvbn.js
	}
	s := strconv.FormatFloat(base, 'f', -1, 64) + " " + unit
	if base != 1 {
		s += "s"
	}
	return s
}
