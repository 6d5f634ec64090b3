package learn

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

// Task kinds. A request's taskType is free text and its task text is what
// the user asked; the engine maps both onto a kind of task, the context
// key its cells are kept under (kindOf), so that "debug", "Debugging" and
// "Bug fixing" share evidence and a request that sends only text still
// gets a context.
//
// The mapping is embedded and deterministic: words are lower-cased, split
// on anything that is not a letter or digit, reduced by a crude English
// suffix stripper (stem), and looked up in a small lexicon of eight kinds
// (coding, debugging, writing, research, learning, review, planning,
// data_analysis) with weights: a word that names the kind (bug, essay,
// roadmap) weighs 1, a generic verb (write, find, check) 0.5. A taskType
// takes the kind with the most weight, a later word winning a tie (the
// head of an English compound comes last: "code review" is a review); a
// taskType none of whose words is in the lexicon is its own kind, keyed by
// its stemmed words, so its spellings still share. A request without a
// taskType takes the kind its text weighs most, an earlier word winning a
// tie, or none when no word of the text is in the lexicon.
//
// Text in other languages: the splitter and lower-casing are Unicode-aware
// and the stripper only removes English suffixes from words of Latin
// letters, so a taskType in any language is its own kind, shared by its
// spellings that differ in case, spacing and punctuation; task text in a
// language other than English rarely matches the lexicon and then gives no
// kind, the request learning from the global and complexity cells only.
// Nothing of the text is kept: only the kind's name is returned.

// The kinds the lexicon knows, named as the engine reports them.
const (
	kindCoding       = "coding"
	kindDebugging    = "debugging"
	kindWriting      = "writing"
	kindResearch     = "research"
	kindLearning     = "learning"
	kindReview       = "review"
	kindPlanning     = "planning"
	kindDataAnalysis = "data_analysis"
)

var lexiconWords = map[string][]string{
	kindCoding: {"code", "coding", "implement", "implementation", "program", "programming", "feature", "refactor", "endpoint",
		"function", "api", "develop", "development", "script", "compile", "frontend", "backend", "app", "class", "module",
		"library", "migration", "unit"},
	kindDebugging: {"debug", "debugging", "bug", "bugfix", "hotfix", "fix", "crash", "crashes", "error", "exception", "fail", "fails",
		"failing", "failure", "broken", "leak", "flaky", "traceback", "stacktrace", "timeout", "troubleshoot", "500",
		"null", "pointer", "panic", "segfault"},
	kindWriting: {"writing", "draft", "essay", "blog", "post", "article", "email", "copy", "proofread", "edit", "readme",
		"documentation", "docs", "doc", "notes", "letter", "announce", "announcing", "story", "release", "newsletter", "wording"},
	kindResearch: {"research", "investigate", "compare", "comparison", "sources", "survey", "literature", "competitor", "competitors",
		"benchmark", "market", "explore", "options", "summarise", "summarize", "report"},
	kindLearning: {"learn", "learning", "teach", "understand", "explain", "tutorial", "quiz", "lesson", "course", "study",
		"practice", "concept", "topic"},
	kindReview: {"review", "reviewing", "feedback", "critique", "audit", "assess", "evaluate", "pr", "merge", "improvements"},
	kindPlanning: {"plan", "planning", "schedule", "milestone", "milestones", "organise", "organize", "prioritise", "prioritize",
		"roadmap", "backlog", "sprint", "agenda", "timeline", "project"},
	kindDataAnalysis: {"data", "analyse", "analyze", "analysis", "chart", "trend", "trends", "regression", "dataset", "statistics",
		"statistic", "metric", "metrics", "plot", "sql", "spreadsheet", "dashboard", "csv"},
}

// Generic verbs weigh half: they say little of the kind on their own.
var lexiconVerbs = map[string]string{
	"write": kindWriting, "find": kindResearch, "look": kindResearch, "check": kindReview, "build": kindCoding,
	"add": kindCoding, "test": kindDebugging, "tests": kindDebugging, "clean": kindDataAnalysis, "track": kindDebugging,
	"make": kindPlanning, "break": kindPlanning,
}

type lexEntry struct {
	kind   string
	weight float64
}

var lexicon = func() map[string]lexEntry {
	m := map[string]lexEntry{}
	for w, k := range lexiconVerbs {
		m[stem(w)] = lexEntry{k, 0.5}
	}
	for k, ws := range lexiconWords {
		for _, w := range ws {
			m[stem(w)] = lexEntry{k, 1}
		}
	}
	return m
}()

// lexKinds indexes the lexicon's kinds for scoring.
var lexKinds = [...]string{kindCoding, kindDebugging, kindWriting, kindResearch, kindLearning, kindReview, kindPlanning, kindDataAnalysis}

func lexIndex(k string) int {
	for i, x := range lexKinds {
		if x == k {
			return i
		}
	}
	return -1
}

// stem strips common English inflections from a lower-case word of Latin
// letters; other words are returned as they are.
func stem(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		w = w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ed"):
		w = w[:n-2]
	case n > 4 && strings.HasSuffix(w, "es") && !strings.HasSuffix(w, "ses"):
		w = w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		w = w[:n-1]
	}
	// "debugg" (from debugging) and "debug" share.
	if k := len(w); k > 3 && w[k-1] == w[k-2] && w[k-1] != 's' && w[k-1] != 'l' {
		w = w[:k-1]
	}
	return w
}

// maxKindWords bounds the words of a text read for its kind.
const maxKindWords = 64

// words calls f with each stemmed word of s, at most maxKindWords.
func words(s string, f func(i int, w string)) {
	i := 0
	for len(s) > 0 && i < maxKindWords {
		start := strings.IndexFunc(s, isWordRune)
		if start < 0 {
			return
		}
		s = s[start:]
		end := strings.IndexFunc(s, func(r rune) bool { return !isWordRune(r) })
		if end < 0 {
			end = len(s)
		}
		f(i, stem(strings.ToLower(s[:end])))
		s = s[end:]
		i++
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// kindOf maps a request's taskType and task text onto a task kind: see the
// comment at the top of this file. "" means no kind.
func kindOf(taskType, task string) string {
	if strings.TrimSpace(taskType) != "" {
		return typeKind(taskType)
	}
	var score [len(lexKinds)]float64
	first := [len(lexKinds)]int{}
	words(task, func(i int, w string) {
		if e, ok := lexicon[w]; ok {
			k := lexIndex(e.kind)
			if score[k] == 0 {
				first[k] = i
			}
			score[k] += e.weight
		}
	})
	best := -1
	for k := range score {
		if score[k] > 0 && (best < 0 || score[k] > score[best] || score[k] == score[best] && first[k] < first[best]) {
			best = k
		}
	}
	if best < 0 {
		return ""
	}
	return lexKinds[best]
}

// typeKind maps a non-empty taskType onto its kind.
func typeKind(taskType string) string {
	var score [len(lexKinds)]float64
	last := [len(lexKinds)]int{}
	var b strings.Builder
	words(taskType, func(i int, w string) {
		if e, ok := lexicon[w]; ok {
			k := lexIndex(e.kind)
			score[k] += e.weight
			last[k] = i
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	})
	best := -1
	for k := range score {
		if score[k] > 0 && (best < 0 || score[k] > score[best] || score[k] == score[best] && last[k] > last[best]) {
			best = k
		}
	}
	if best >= 0 {
		return lexKinds[best]
	}
	return capKey(b.String())
}

// capKey cuts a key to amp.MaxTaskTypeBytes on a character boundary.
func capKey(k string) string {
	if len(k) > amp.MaxTaskTypeBytes {
		k = k[:amp.MaxTaskTypeBytes]
		for !utf8.ValidString(k) {
			k = k[:len(k)-1]
		}
	}
	return k
}
