package learn

import "testing"

func TestKindOf(t *testing.T) {
	for _, c := range []struct{ taskType, task, want string }{
		{"debug", "", kindDebugging},
		{"Debugging ", "", kindDebugging},
		{"debugging", "Write an essay", kindDebugging}, // a taskType wins over the text
		{"Bug fixing", "", kindDebugging},
		{"code-review", "", kindReview}, // the head of a compound comes last
		{"write_docs", "", kindWriting},
		{"Data analysis", "", kindDataAnalysis},
		{"data_analysis", "", kindDataAnalysis}, // every kind's own name maps to it
		{"Project planning", "", kindPlanning},
		{"Quarterly Taxes", "", "quarterly tax"}, // its own kind, shared by spellings
		{"quarterly  TAXES!", "", "quarterly tax"},
		{"Übersetzung", "", "übersetzung"},
		{"", "Fix the crash in the payment service", kindDebugging},
		{"", "Write the code for the export button", kindCoding}, // a generic verb weighs half
		{"", "Write a blog post about our new pricing", kindWriting},
		{"", "Help me understand Rust lifetimes", kindLearning},
		{"", "Make a chart of last month's sales", kindDataAnalysis},
		{"", "Continue where we left off", ""},
		{"", "Corrige le bogue du formulaire", ""}, // other languages rarely match: no kind
		{"", "", ""},
	} {
		if got := kindOf(c.taskType, c.task); got != c.want {
			t.Errorf("kindOf(%q, %q) = %q, want %q", c.taskType, c.task, got, c.want)
		}
	}
	long := ""
	for range 100 {
		long += "é"
	}
	if k := kindOf(long, ""); len(k) > 64 || k == "" {
		t.Errorf("kind of a long taskType is %d bytes", len(k))
	}
}

// TestLexiconWordsAreUnambiguous: a word listed under two kinds would
// silently belong to whichever the map built last.
func TestLexiconWordsAreUnambiguous(t *testing.T) {
	seen := map[string]string{}
	for k, ws := range lexiconWords {
		for _, w := range ws {
			if other, ok := seen[stem(w)]; ok && other != k {
				t.Errorf("%q is listed under %s and %s", w, other, k)
			}
			seen[stem(w)] = k
		}
	}
	for w, k := range lexiconVerbs {
		if other, ok := seen[stem(w)]; ok {
			t.Errorf("verb %q of %s is also a word of %s", w, k, other)
		}
	}
}
