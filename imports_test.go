package amp_test

import (
	"fmt"
	"go/build"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/amp-protocol/amp"

// The packages the rules of docs/architecture.md name.
var (
	backends    = []string{"internal/sqlite", "internal/postgres", "internal/redis"}
	testHelpers = []string{"internal/storetest", "internal/testclock"}
)

// goPackage is one directory of Go files in the module, with its imports
// (paths relative to the module for its own packages) and where each
// import is written.
type goPackage struct {
	dir     string // relative to the module root, "." for the root
	imports map[string][]string
	tests   map[string][]string // imports of its _test.go files only
}

// modulePackages reads the import lines of every package of the module
// (go test runs in the root's directory), from the files alone, so that
// the test needs neither the network nor the go command.
func modulePackages(t *testing.T) []goPackage {
	t.Helper()
	var pkgs []goPackage
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if _, ok := err.(*build.NoGoError); ok {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		pkg := goPackage{dir: filepath.ToSlash(path), imports: map[string][]string{}, tests: map[string][]string{}}
		add := func(into map[string][]string, pos map[string][]token.Position) {
			for imp, at := range pos {
				rel := imp
				if imp == module {
					rel = "."
				} else if r, ok := strings.CutPrefix(imp, module+"/"); ok {
					rel = r
				}
				for _, a := range at {
					into[rel] = append(into[rel], fmt.Sprintf("%s:%d", filepath.ToSlash(a.Filename), a.Line))
				}
			}
		}
		add(pkg.imports, p.ImportPos)
		add(pkg.tests, p.TestImportPos)
		add(pkg.tests, p.XTestImportPos)
		pkgs = append(pkgs, pkg)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages; the walk is broken", len(pkgs))
	}
	return pkgs
}

// isStandard reports whether path is in the standard library: its first
// element has no dot, and it is not the module's own (which the walk has
// made relative, "." or "internal/…").
func isStandard(path string, own map[string]bool) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && !own[path]
}

// importRules returns the breaches of the rules of docs/architecture.md in
// pkgs, one line each with the file and line of the import.
func importRules(pkgs []goPackage) []string {
	own := map[string]bool{}
	for _, pkg := range pkgs {
		own[pkg.dir] = true
	}
	var bad []string
	breach := func(pkg goPackage, imp string, at []string, rule string) {
		for _, a := range at {
			bad = append(bad, fmt.Sprintf("%s: %s imports %s: %s", a, pkg.dir, imp, rule))
		}
	}
	for _, pkg := range pkgs {
		for imp, at := range pkg.imports {
			switch {
			case pkg.dir == "." && !isStandard(imp, own):
				breach(pkg, imp, at, "the root package imports only the standard library")
			case slices.Contains(backends, pkg.dir) && (slices.Contains(backends, imp) || imp == "internal/service"):
				breach(pkg, imp, at, "a backend imports neither another backend nor the service")
			case pkg.dir == "internal/dashboard" && slices.Contains(backends, imp):
				breach(pkg, imp, at, "the web front end never imports a backend")
			case slices.Contains(backends, imp) && pkg.dir != "cmd/amp":
				breach(pkg, imp, at, "only cmd/amp wires concrete packages together")
			case pkg.dir == "internal/service" && (imp == "net/http" || imp == "database/sql"):
				breach(pkg, imp, at, "the service knows neither HTTP nor SQL")
			case slices.Contains(testHelpers, imp) && pkg.dir != "internal/storetest":
				breach(pkg, imp, at, "test helpers are imported by tests only")
			}
		}
		// A backend's tests are held to the same rule, so that its
		// conformance run exercises it alone.
		for imp, at := range pkg.tests {
			if slices.Contains(backends, pkg.dir) && imp != pkg.dir && (slices.Contains(backends, imp) || imp == "internal/service") {
				breach(pkg, imp, at, "a backend's tests import neither another backend nor the service")
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestImportRules(t *testing.T) {
	for _, b := range importRules(modulePackages(t)) {
		t.Error(b)
	}
}

// The rules catch each kind of breach: a fake module where every package
// breaks one.
func TestImportRulesCatchBreaches(t *testing.T) {
	at := func(imp string) map[string][]string { return map[string][]string{imp: {"x.go:3"}} }
	cases := []struct {
		pkg  goPackage
		rule string
	}{
		{goPackage{dir: ".", imports: at("golang.org/x/crypto/argon2")}, "the root package imports only the standard library"},
		{goPackage{dir: ".", imports: at("internal/service")}, "the root package imports only the standard library"},
		{goPackage{dir: "internal/postgres", imports: at("internal/sqlite")}, "a backend imports neither another backend nor the service"},
		{goPackage{dir: "internal/redis", imports: at("internal/service")}, "a backend imports neither another backend nor the service"},
		{goPackage{dir: "internal/dashboard", imports: at("internal/postgres")}, "the web front end never imports a backend"},
		{goPackage{dir: "internal/httpapi", imports: at("internal/sqlite")}, "only cmd/amp wires concrete packages together"},
		{goPackage{dir: "internal/service", imports: at("net/http")}, "the service knows neither HTTP nor SQL"},
		{goPackage{dir: "internal/meter", imports: at("internal/testclock")}, "test helpers are imported by tests only"},
		{goPackage{dir: "internal/sqlite", tests: at("internal/postgres")}, "a backend's tests import neither another backend nor the service"},
	}
	// The module's other packages, importing nothing.
	var module []goPackage
	for _, dir := range append([]string{"internal/service", "internal/httpapi", "internal/meter", "internal/dashboard"}, append(backends, testHelpers...)...) {
		module = append(module, goPackage{dir: dir})
	}
	for _, c := range cases {
		got := importRules(append([]goPackage{c.pkg}, module...))
		if len(got) != 1 || !strings.HasSuffix(got[0], ": "+c.rule) || !strings.HasPrefix(got[0], "x.go:3: ") {
			t.Errorf("%s importing %v: %q; want the breach %q", c.pkg.dir, c.pkg.imports, got, c.rule)
		}
	}
	allowed := []goPackage{
		{dir: ".", imports: at("encoding/json")},
		{dir: "cmd/amp", imports: at("internal/postgres")},
		{dir: "internal/redis", imports: at("internal/ratelimit")},
		{dir: "internal/httpapi", tests: at("internal/sqlite")},
		{dir: "internal/sqlite", tests: at("internal/storetest")},
		{dir: "internal/storetest", imports: at("internal/testclock")},
	}
	if got := importRules(append(allowed, module...)); len(got) != 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
}
