package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/amp-protocol/amp/internal/httpapi"
)

// This file is a small checker of responses against the OpenAPI document,
// for the subset of JSON Schema the document uses: $ref, allOf, type,
// enum, const, properties, required, additionalProperties, items, format
// date-time, minimum, maximum, minLength and pattern. It is stricter than
// JSON Schema in one way: an object whose schema lists properties may not
// carry any other field, so an undocumented response field fails.

// openAPI is the parsed document.
type openAPI struct {
	root map[string]any
}

var (
	docOnce sync.Once
	docVal  *openAPI
	docErr  error
)

// apiDoc returns the embedded document, parsed once.
func apiDoc(t testing.TB) *openAPI {
	t.Helper()
	docOnce.Do(func() {
		var root map[string]any
		dec := json.NewDecoder(bytes.NewReader(httpapi.OpenAPIDocument()))
		dec.UseNumber()
		if docErr = dec.Decode(&root); docErr == nil {
			docVal = &openAPI{root: root}
		}
	})
	if docErr != nil {
		t.Fatalf("openapi.json: %v", docErr)
	}
	return docVal
}

// get walks the document by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// resolve follows a local $ref ("#/components/schemas/X").
func (d *openAPI) resolve(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("non-local $ref %q", ref)
	}
	var v any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		v = get(v, part)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q does not resolve", ref)
	}
	return m, nil
}

// deref resolves m if it is a reference object.
func (d *openAPI) deref(m map[string]any) (map[string]any, error) {
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if m, err = d.resolve(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// matchPath finds the document path template that a concrete escaped path
// matches, segment by segment, as the ServeMux does.
func (d *openAPI) matchPath(p string) (string, bool) {
	if clean := path.Clean(p); p != clean && p != clean+"/" || strings.Contains(p, "//") {
		return "", false // not canonical: the server answers 404
	}
	paths, _ := d.root["paths"].(map[string]any)
	segs := strings.Split(p, "/")
	for tmpl := range paths {
		tsegs := strings.Split(tmpl, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
				ok = ok && segs[i] != ""
			} else {
				ok = ok && ts == segs[i]
			}
		}
		if ok {
			return tmpl, true
		}
	}
	return "", false
}

// responseFor returns the documented response for a status of method on a
// concrete path: the operation's, or for an unknown route or method the
// NotFound and MethodNotAllowed components.
func (d *openAPI) responseFor(method, path string, status int) (map[string]any, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	tmpl, ok := d.matchPath(path)
	if !ok {
		if status != http.StatusNotFound {
			return nil, fmt.Errorf("no documented path matches %s, so the status must be 404, not %d", path, status)
		}
		return d.resolve("#/components/responses/NotFound")
	}
	m := strings.ToLower(method)
	if m == "head" {
		m = "get"
	}
	op, ok := get(d.root, "paths", tmpl, m).(map[string]any)
	if !ok {
		if status != http.StatusMethodNotAllowed {
			return nil, fmt.Errorf("%s %s is not documented, so the status must be 405, not %d", method, tmpl, status)
		}
		return d.resolve("#/components/responses/MethodNotAllowed")
	}
	resp, ok := get(op, "responses", strconv.Itoa(status)).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("status %d is not documented for %s %s", status, method, tmpl)
	}
	return d.deref(resp)
}

// checkResponse checks a response's headers and body against the
// document, and returns what does not conform.
func (d *openAPI) checkResponse(method, path string, res *result) []string {
	resp, err := d.responseFor(method, path, res.status)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		hm, ok := h.(map[string]any)
		if !ok {
			errs = append(errs, "header "+name+": not an object")
			continue
		}
		if hm, err = d.deref(hm); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		vals := res.header.Values(name)
		if len(vals) == 0 {
			if hm["required"] == true {
				errs = append(errs, "missing required header "+name)
			}
			continue
		}
		schema, _ := hm["schema"].(map[string]any)
		var v any = vals[0]
		if get(schema, "type") == "integer" {
			n, err := strconv.ParseInt(vals[0], 10, 64)
			if err != nil {
				errs = append(errs, fmt.Sprintf("header %s: %q is not an integer", name, vals[0]))
				continue
			}
			v = json.Number(strconv.FormatInt(n, 10))
		}
		errs = append(errs, d.validate([]map[string]any{schema}, v, "header "+name)...)
	}
	schema, ok := get(resp, "content", "application/json", "schema").(map[string]any)
	if !ok {
		if len(res.body) > 0 {
			errs = append(errs, "a body, but none is documented")
		}
		return errs
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return append(errs, "body is not JSON: "+err.Error())
	}
	return append(errs, d.validate([]map[string]any{schema}, v, "body")...)
}

// expand resolves $ref and allOf: the result lists every schema that
// applies to the instance, each to be checked for its own keywords.
func (d *openAPI) expand(in []map[string]any, errs *[]string) []map[string]any {
	var out []map[string]any
	for _, s := range in {
		if ref, ok := s["$ref"].(string); ok {
			r, err := d.resolve(ref)
			if err != nil {
				*errs = append(*errs, err.Error())
				continue
			}
			out = append(out, d.expand([]map[string]any{r}, errs)...)
		}
		if all, ok := s["allOf"].([]any); ok {
			for _, b := range all {
				if bm, ok := b.(map[string]any); ok {
					out = append(out, d.expand([]map[string]any{bm}, errs)...)
				}
			}
		}
		out = append(out, s)
	}
	return out
}

var patternCache sync.Map

// validate checks v against all of schemas and returns the violations,
// each prefixed with where in the instance it is.
func (d *openAPI) validate(schemas []map[string]any, v any, at string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	all := d.expand(schemas, &errs)
	for _, s := range all {
		if t, ok := s["type"]; ok {
			var types []string
			switch tt := t.(type) {
			case string:
				types = []string{tt}
			case []any:
				for _, x := range tt {
					types = append(types, fmt.Sprint(x))
				}
			}
			if !slices.ContainsFunc(types, func(ty string) bool { return isType(v, ty) }) {
				fail("%s is not of type %v", short(v), types)
			}
		}
		if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, v) }) {
			fail("%s is not one of %v", short(v), enum)
		}
		if c, ok := s["const"]; ok && !jsonEqual(c, v) {
			fail("%s is not %v", short(v), c)
		}
		if n, ok := v.(json.Number); ok {
			f, _ := n.Float64()
			if lo, ok := s["minimum"].(json.Number); ok {
				if l, _ := lo.Float64(); f < l {
					fail("%v is below the minimum %v", n, lo)
				}
			}
			if hi, ok := s["maximum"].(json.Number); ok {
				if h, _ := hi.Float64(); f > h {
					fail("%v is above the maximum %v", n, hi)
				}
			}
		}
		if str, ok := v.(string); ok {
			if ml, ok := s["minLength"].(json.Number); ok {
				if n, _ := ml.Int64(); int64(utf8.RuneCountInString(str)) < n {
					fail("%q is shorter than %v", str, ml)
				}
			}
			if p, ok := s["pattern"].(string); ok {
				re, _ := patternCache.Load(p)
				if re == nil {
					re = regexp.MustCompile(p)
					patternCache.Store(p, re)
				}
				if !re.(*regexp.Regexp).MatchString(str) {
					fail("%q does not match %s", str, p)
				}
			}
			if s["format"] == "date-time" {
				ts, err := time.Parse(time.RFC3339Nano, str)
				if err != nil || !strings.HasSuffix(str, "Z") || ts.Location() != time.UTC {
					fail("%q is not an RFC 3339 UTC timestamp", str)
				}
			}
		}
		if obj, ok := v.(map[string]any); ok {
			if req, ok := s["required"].([]any); ok {
				for _, r := range req {
					if _, ok := obj[fmt.Sprint(r)]; !ok {
						fail("missing required field %v", r)
					}
				}
			}
		}
	}
	switch val := v.(type) {
	case map[string]any:
		props := map[string][]map[string]any{}
		var extra []map[string]any
		declares, open := false, false
		for _, s := range all {
			if p, ok := s["properties"].(map[string]any); ok {
				declares = true
				for k, sub := range p {
					if sm, ok := sub.(map[string]any); ok {
						props[k] = append(props[k], sm)
					}
				}
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				extra = append(extra, ap)
			case bool:
				open = open || ap
			}
		}
		for _, k := range slices.Sorted(maps.Keys(val)) {
			switch {
			case len(props[k]) > 0:
				errs = append(errs, d.validate(props[k], val[k], at+"."+k)...)
			case len(extra) > 0:
				errs = append(errs, d.validate(extra, val[k], at+"."+k)...)
			case declares && !open:
				fail("undocumented field %q", k)
			}
		}
	case []any:
		var items []map[string]any
		for _, s := range all {
			if it, ok := s["items"].(map[string]any); ok {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			for i, e := range val {
				errs = append(errs, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func isType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}

// jsonEqual compares two decoded JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		af, _ := an.Float64()
		bf, _ := bn.Float64()
		return af == bf
	}
	return reflect.DeepEqual(a, b)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
