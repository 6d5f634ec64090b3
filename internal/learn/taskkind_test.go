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
