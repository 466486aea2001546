package strength

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchInput is one line of testdata/bench-inputs.txt (see gen-bench-inputs.mjs).
type benchInput struct {
	kind     string
	length   int
	password string
}

func loadBenchInputs(t testing.TB) []benchInput {
	t.Helper()
	f, err := os.Open("testdata/bench-inputs.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []benchInput
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("bad line %q", s.Text())
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var pw string
		if err := json.Unmarshal([]byte(parts[2]), &pw); err != nil {
			t.Fatal(err)
		}
		out = append(out, benchInput{parts[0], n, pw})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkScore times Score on the inputs of testdata/bench-inputs.txt, by kind and
// length (each iteration scores the next input of that group).
func BenchmarkScore(b *testing.B) {
	inputs := loadBenchInputs(b)
	staticIndex() // the word index is built once per process, on first use
	for _, kind := range []string{"random", "words"} {
		for _, n := range []int{8, 16, 32, 64, 128, 256} {
			var group []string
			for _, in := range inputs {
				if in.kind == kind && in.length == n {
					group = append(group, in.password)
				}
			}
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					Score(group[i%len(group)], nil)
				}
			})
		}
	}
}

// timingRepeats is how many times each input of a length is timed: short inputs are
// timed repeatedly to get enough samples; bench.mjs uses the same numbers.
func timingRepeats(length int) int {
	if length <= 64 {
		return 10
	}
	return 1
}

// TestPrintTimingTable prints the median and worst time of one Score call per kind and
// length over testdata/bench-inputs.txt: the Go half of the table in docs/benchmarks.md
// (testdata/bench.mjs prints zxcvbn.js's half). It is a printer, not an assertion, and
// runs only with WEFTID_TIMING=1:
//
//	WEFTID_TIMING=1 go test ./auth/strength -run TestPrintTimingTable -v
func TestPrintTimingTable(t *testing.T) {
	if os.Getenv("WEFTID_TIMING") != "1" {
		t.Skip("set WEFTID_TIMING=1 to print the timing table")
	}
	inputs := loadBenchInputs(t)
	staticIndex()
	// warm up
	for _, in := range inputs {
		Score(in.password, nil)
	}
	samples := map[string][]time.Duration{}
	var order []string
	for _, in := range inputs {
		key := fmt.Sprintf("%s\t%d", in.kind, in.length)
		if _, ok := samples[key]; !ok {
			order = append(order, key)
		}
		for range timingRepeats(in.length) {
			start := time.Now()
			Score(in.password, nil)
			samples[key] = append(samples[key], time.Since(start))
		}
	}
	fmt.Println("kind\tlength\tsamples\tmedian_ms\tworst_ms")
	for _, key := range order {
		s := samples[key]
		slices.Sort(s)
		fmt.Printf("%s\t%d\t%.3f\t%.3f\n", key, len(s), ms(median(s)), ms(s[len(s)-1]))
	}
}

func median(s []time.Duration) time.Duration {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
