package dashboard

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The dashboard is a front end: of this module it imports only the root,
// the service and the shared HTTP helpers, never a backend, the learner or
// the usage reader, so that every rule it shows lives in the service.
func TestDashboardImportsOnlyTheServiceSide(t *testing.T) {
	allowed := map[string]bool{
		"github.com/amp-protocol/amp":                  true,
		"github.com/amp-protocol/amp/internal/service": true,
		"github.com/amp-protocol/amp/internal/httpx":   true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/amp-protocol/amp") && !allowed[path] {
				t.Errorf("%s imports %s; the dashboard may import only the root, internal/service and internal/httpx", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
