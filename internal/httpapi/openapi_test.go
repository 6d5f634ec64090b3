package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
)

var update = flag.Bool("update", false, "rewrite the schemas of openapi.json from the Go wire types")

// schemaNames names the component schema of every wire type, after the
// docs' type names. Every type reachable from these must be listed too, so
// that no enum slips into the document as a plain string.
var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[amp.ContextRequest]():  "GetContextParams",
	reflect.TypeFor[amp.Context]():         "MotivationContext",
	reflect.TypeFor[amp.ContextMetadata](): "ContextMetadata",
	reflect.TypeFor[amp.OutcomeRequest]():  "OutcomeParams",
	reflect.TypeFor[amp.OutcomeResponse](): "OutcomeResponse",
	reflect.TypeFor[amp.ProfileUpdate]():   "UpdateProfileParams",
	reflect.TypeFor[amp.Profile]():         "MotivationProfile",
	reflect.TypeFor[amp.TimePattern]():     "TimePattern",
	reflect.TypeFor[amp.DeleteResponse]():  "DeleteResponse",
	reflect.TypeFor[amp.ErrorBody]():       "ErrorResponse",
	reflect.TypeFor[amp.ErrorDetail]():     "Error",
	reflect.TypeFor[amp.Framing]():         "FramingType",
	reflect.TypeFor[amp.Style]():           "CommunicationStyle",
	reflect.TypeFor[amp.Handling]():        "ComplexityLevel",
	reflect.TypeFor[amp.Encouragement]():   "EncouragementLevel",
	reflect.TypeFor[amp.TaskComplexity]():  "TaskComplexity",
	reflect.TypeFor[amp.Phase]():           "ProfilePhase",

	reflect.TypeFor[amp.FoundToken]():             "FoundToken",
	reflect.TypeFor[amp.TokenFeedback]():          "TokenFeedback",
	reflect.TypeFor[amp.TokenLabel]():             "TokenLabel",
	reflect.TypeFor[amp.EventType]():              "EventType",
	reflect.TypeFor[amp.Mode]():                   "Mode",
	reflect.TypeFor[amp.EventKey]():               "EventKey",
	reflect.TypeFor[amp.LeakSource]():             "LeakSource",
	reflect.TypeFor[amp.LeakAction]():             "LeakAction",
	reflect.TypeFor[amp.KeyLeakSuspectedData]():   "KeyLeakSuspectedData",
	reflect.TypeFor[amp.KeyQuarantinedData]():     "KeyQuarantinedData",
	reflect.TypeFor[amp.KeyExpiringData]():        "KeyExpiringData",
	reflect.TypeFor[amp.KeyRotationDueData]():     "KeyRotationDueData",
	reflect.TypeFor[amp.QuotaThresholdData]():     "QuotaThresholdData",
	reflect.TypeFor[amp.RateLimitSustainedData](): "RateLimitSustainedData",
	reflect.TypeFor[amp.ProfileDeletedData]():     "ProfileDeletedData",
	reflect.TypeFor[amp.ErasedCounts]():           "ErasedCounts",
	reflect.TypeFor[amp.WebhookTestData]():        "WebhookTestData",
}

// enumValues are the values of each enum type, from the root package.
var enumValues = map[reflect.Type][]string{
	reflect.TypeFor[amp.Framing]():        strs(amp.Framings),
	reflect.TypeFor[amp.Style]():          strs(amp.Styles),
	reflect.TypeFor[amp.Handling]():       strs(amp.Handlings),
	reflect.TypeFor[amp.Encouragement]():  strs(amp.Encouragements),
	reflect.TypeFor[amp.TaskComplexity](): strs(amp.TaskComplexities),
	reflect.TypeFor[amp.Phase]():          {string(amp.PhaseColdStart), string(amp.PhaseLearning), string(amp.PhaseOptimised)},
	reflect.TypeFor[amp.TokenLabel]():     {string(amp.TruePositive), string(amp.FalsePositive)},
	reflect.TypeFor[amp.EventType]():      strs(amp.EventTypes),
	reflect.TypeFor[amp.Mode]():           {string(amp.ModeTest), string(amp.ModeLive)},
	reflect.TypeFor[amp.LeakSource]():     {string(amp.LeakBurst), string(amp.LeakNewCountry), string(amp.LeakScanner)},
	reflect.TypeFor[amp.LeakAction]():     {string(amp.LeakActionNone), string(amp.LeakActionQuarantine), string(amp.LeakActionRevoke)},
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// handWritten are the document's schemas that no root type generates.
var handWritten = []string{"HealthStatus", "Event"}

// constraints add what Go types cannot say to the generated properties,
// from the root package's bounds. A "$ref" replaces the generated schema.
// Lengths in bytes are not expressed: JSON Schema counts characters.
var constraints = map[string]map[string]any{
	"GetContextParams.userId":                {"minLength": 1},
	"GetContextParams.task":                  {"minLength": 1},
	"OutcomeParams.requestId":                {"minLength": 1},
	"OutcomeParams.timeToStart":              {"minimum": 0, "maximum": amp.MaxTimeToStartSecs},
	"OutcomeParams.satisfaction":             {"minimum": 0, "maximum": 1},
	"OutcomeResponse.success":                {"const": true},
	"OutcomeResponse.message":                {"const": amp.OutcomeReportedMessage},
	"DeleteResponse.success":                 {"const": true},
	"MotivationContext.requestId":            {"pattern": "^req_[0-9A-Za-z]+$"},
	"MotivationContext.confidence":           {"minimum": 0, "maximum": 1},
	"ContextMetadata.interactionCount":       {"minimum": 0},
	"MotivationProfile.totalInteractions":    {"minimum": 0},
	"MotivationProfile.completionRate":       {"minimum": 0, "maximum": 1},
	"MotivationProfile.averageTimeToStart":   {"minimum": 0},
	"MotivationProfile.flowStateFrequency":   {"minimum": 0, "maximum": 1},
	"MotivationProfile.framingConfidence":    {"minimum": 0, "maximum": 1},
	"MotivationProfile.styleConfidence":      {"minimum": 0, "maximum": 1},
	"MotivationProfile.complexityConfidence": {"minimum": 0, "maximum": 1},
	"MotivationProfile.taskTypeAffinities":   {"additionalProperties": map[string]any{"type": "number", "minimum": 0, "maximum": 1}},
	"MotivationProfile.profileVersion":       {"const": amp.ProfileVersion},
	"TimePattern.hourStart":                  {"minimum": 0, "maximum": 23},
	"TimePattern.hourEnd":                    {"minimum": 0, "maximum": 23},
	"TimePattern.completionRate":             {"minimum": 0, "maximum": 1},
	"TimePattern.interactionCount":           {"minimum": 1},
	"Error.code":                             {"$ref": "#/components/schemas/ErrorCode"},
	"Error.requestId":                        {"pattern": "^req_[0-9A-Za-z]+$"},
	"TokenFeedback.token_hash":               {"pattern": "^[0-9a-f]{64}$"},
	"QuotaThresholdData.threshold":           {"enum": []any{80, 95, 100}},
	"QuotaThresholdData.month":               {"pattern": "^[0-9]{4}-[0-9]{2}$"},
	"KeyLeakSuspectedData.country":           {"pattern": "^[A-Z]{2}$"},
}

// schemaGen generates component schemas by reflection.
type schemaGen struct {
	errs []string
	used map[string]bool // constraints applied
}

func (g *schemaGen) generate() map[string]any {
	g.used = map[string]bool{}
	out := map[string]any{}
	for t, name := range schemaNames {
		if vals, ok := enumValues[t]; ok {
			out[name] = map[string]any{"type": "string", "enum": vals}
			continue
		}
		out[name] = g.object(t, name)
	}
	out["ErrorCode"] = map[string]any{"type": "string", "enum": httpapi.Codes()}
	for c := range constraints {
		if !g.used[c] {
			g.errs = append(g.errs, "constraint "+c+" names no generated property")
		}
	}
	return normalize(out).(map[string]any)
}

func (g *schemaGen) object(t reflect.Type, name string) map[string]any {
	props := map[string]any{}
	required := []string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue
			}
			jname, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && jname == "" {
				walk(f.Type)
				continue
			}
			if jname == "" {
				jname = f.Name
			}
			p := g.schema(f.Type, name+"."+jname)
			if c, ok := constraints[name+"."+jname]; ok {
				g.used[name+"."+jname] = true
				if _, isRef := c["$ref"]; isRef {
					p = maps.Clone(c)
				} else {
					maps.Copy(p, c)
				}
			}
			props[jname] = p
			if !slices.Contains(strings.Split(opts, ","), "omitempty") && !slices.Contains(strings.Split(opts, ","), "omitzero") {
				required = append(required, jname)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) schema(t reflect.Type, where string) map[string]any {
	if name, ok := schemaNames[t]; ok {
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case reflect.TypeFor[json.RawMessage]():
		// Metadata: a JSON object, or null (validate.go accepts both).
		return map[string]any{"type": []any{"object", "null"}}
	}
	if t.Name() != "" && t.PkgPath() == reflect.TypeFor[amp.Mode]().PkgPath() && t.Kind() != reflect.Struct {
		g.errs = append(g.errs, fmt.Sprintf("%s: type %s has no entry in schemaNames/enumValues", where, t))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem(), where)
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), where+"[]")}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), where+"[]")}
	}
	g.errs = append(g.errs, fmt.Sprintf("%s: no schema for %s", where, t))
	return map[string]any{}
}

// normalize round-trips v through JSON, so that generated values compare
// with parsed ones.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// annotations are the keywords that document rather than constrain; the
// comparison ignores them and -update keeps them.
var annotations = []string{"description", "title", "example", "examples", "deprecated"}

func stripAnnotations(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if slices.Contains(annotations, k) {
				continue
			}
			if k == "properties" {
				props := map[string]any{}
				for pk, pv := range val.(map[string]any) {
					props[pk] = stripAnnotations(pv)
				}
				out[k] = props
				continue
			}
			out[k] = stripAnnotations(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripAnnotations(e)
		}
		return out
	}
	return v
}

// mergeAnnotations returns gen with the annotations of old at the same
// places.
func mergeAnnotations(gen, old any) any {
	g, ok1 := gen.(map[string]any)
	o, ok2 := old.(map[string]any)
	if !ok1 || !ok2 {
		return gen
	}
	for _, k := range annotations {
		if v, ok := o[k]; ok {
			g[k] = v
		}
	}
	if gp, ok := g["properties"].(map[string]any); ok {
		op, _ := o["properties"].(map[string]any)
		for k := range gp {
			gp[k] = mergeAnnotations(gp[k], op[k])
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if _, ok := g[k]; ok {
			g[k] = mergeAnnotations(g[k], o[k])
		}
	}
	return g
}

// TestOpenAPISchemas compares the document's component schemas with the
// ones generated from the root wire types. With -update it rewrites them,
// keeping the document's descriptions.
func TestOpenAPISchemas(t *testing.T) {
	g := &schemaGen{}
	gen := g.generate()
	if len(g.errs) > 0 {
		t.Fatalf("generating schemas:\n%s", strings.Join(g.errs, "\n"))
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	schemas, _ := get(doc, "components", "schemas").(map[string]any)
	if schemas == nil {
		t.Fatal("openapi.json has no components.schemas")
	}
	if *update {
		for name, s := range gen {
			schemas[name] = mergeAnnotations(s, schemas[name])
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("openapi.json", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote openapi.json; run the tests again to check the embedded copy")
		return
	}
	if !bytes.Equal(raw, httpapi.OpenAPIDocument()) {
		t.Error("the embedded document differs from openapi.json on disk")
	}
	for _, name := range slices.Sorted(maps.Keys(gen)) {
		have, ok := schemas[name]
		if !ok {
			t.Errorf("components.schemas.%s is missing (run with -update)", name)
			continue
		}
		if got := stripAnnotations(have); !reflect.DeepEqual(got, gen[name]) {
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			wantJSON, _ := json.MarshalIndent(gen[name], "", "  ")
			t.Errorf("components.schemas.%s differs from the Go type (run with -update):\ndocument: %s\ngenerated: %s", name, gotJSON, wantJSON)
		}
	}
	for name := range schemas {
		if _, ok := gen[name]; !ok && !slices.Contains(handWritten, name) {
			t.Errorf("components.schemas.%s is neither generated nor listed as hand-written", name)
		}
	}
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIRoutes checks that the document has exactly the registered
// routes, with their methods and scopes.
func TestOpenAPIRoutes(t *testing.T) {
	f := newFixture(t, func(o *options) { o.noServer = true })
	d := apiDoc(t)
	documented := map[string]map[string]any{}
	for path, item := range d.root["paths"].(map[string]any) {
		for _, m := range httpMethods {
			if op, ok := get(item, m).(map[string]any); ok {
				documented[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	registered := map[string]httpapi.Route{}
	for _, r := range f.server.Routes() {
		registered[r.Pattern()] = r
	}
	for p := range registered {
		if _, ok := documented[p]; !ok {
			t.Errorf("route %s is not in openapi.json", p)
		}
	}
	for p, op := range documented {
		r, ok := registered[p]
		if !ok {
			t.Errorf("openapi.json documents %s, which routes.go does not register", p)
			continue
		}
		sec, _ := op["security"].([]any)
		scope, _ := op["x-amp-scope"].(string)
		if r.Scope == "" {
			if len(sec) != 0 || scope != "" {
				t.Errorf("%s needs no key, but the document asks for one (security %v, x-amp-scope %q)", p, sec, scope)
			}
			continue
		}
		if len(sec) != 1 || get(sec[0], "bearerAuth") == nil {
			t.Errorf("%s: security = %v, want bearerAuth", p, sec)
		}
		if scope != string(r.Scope) {
			t.Errorf("%s: x-amp-scope = %q, want %q", p, scope, r.Scope)
		}
	}
}

// TestOpenAPIConsistency checks the document against itself and the
// status table: references resolve, every error response lists codes of
// its status, every code is documented somewhere, and the headers promised
// on every response are declared.
func TestOpenAPIConsistency(t *testing.T) {
	f := newFixture(t, func(o *options) { o.noServer = true })
	d := apiDoc(t)
	if v := d.root["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if _, err := d.resolve(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, e := range x {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d.root, "#")

	allCodes := map[string]bool{}
	for _, c := range get(d.root, "components", "schemas", "ErrorCode", "enum").([]any) {
		allCodes[c.(string)] = true
	}
	seen := map[string]bool{}
	checkErrorResponse := func(at string, status int, resp map[string]any) {
		codes, _ := get(resp, "content", "application/json", "schema", "allOf").([]any)
		if len(codes) != 2 {
			t.Errorf("%s: an error response's schema must be allOf [ErrorResponse, {code enum}]", at)
			return
		}
		if ref := get(codes[0], "$ref"); ref != "#/components/schemas/ErrorResponse" {
			t.Errorf("%s: first allOf branch is %v, want the ErrorResponse schema", at, ref)
		}
		enum, _ := get(codes[1], "properties", "error", "properties", "code", "enum").([]any)
		if len(enum) == 0 {
			t.Errorf("%s: no code enum", at)
		}
		for _, c := range enum {
			code := c.(string)
			seen[code] = true
			if !allCodes[code] {
				t.Errorf("%s: code %s is not in the ErrorCode enum", at, code)
			}
			if st := httpapi.HTTPStatus(code); st != status {
				t.Errorf("%s: code %s has status %d, not %d", at, code, st, status)
			}
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			if get(resp, "headers", "Retry-After") == nil {
				t.Errorf("%s: no Retry-After header", at)
			}
		}
	}
	routes := map[string]httpapi.Route{}
	for _, r := range f.server.Routes() {
		routes[r.Pattern()] = r
	}
	opIDs := map[string]bool{}
	for path, item := range d.root["paths"].(map[string]any) {
		for _, m := range httpMethods {
			op, ok := get(item, m).(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" || opIDs[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", m, path, id)
			}
			opIDs[id] = true
			authenticated := routes[strings.ToUpper(m)+" "+path].Scope != ""
			for st, r := range op["responses"].(map[string]any) {
				at := fmt.Sprintf("%s %s %s", strings.ToUpper(m), path, st)
				resp, err := d.deref(r.(map[string]any))
				if err != nil {
					t.Errorf("%s: %v", at, err)
					continue
				}
				status, err := strconv.Atoi(st)
				if err != nil {
					t.Errorf("%s: status %q is not a number", at, st)
					continue
				}
				if get(resp, "headers", "X-Request-Id") == nil {
					t.Errorf("%s: no X-Request-Id header", at)
				}
				if authenticated && status != http.StatusUnauthorized {
					for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
						if get(resp, "headers", h) == nil {
							t.Errorf("%s: no %s header", at, h)
						}
					}
				}
				if status >= 400 {
					checkErrorResponse(at, status, resp)
				}
			}
		}
	}
	for _, name := range []string{"NotFound", "MethodNotAllowed"} {
		resp, err := d.resolve("#/components/responses/" + name)
		if err != nil {
			t.Error(err)
			continue
		}
		status := map[string]int{"NotFound": 404, "MethodNotAllowed": 405}[name]
		checkErrorResponse("components.responses."+name, status, resp)
	}
	for c := range allCodes {
		if !seen[c] {
			t.Errorf("code %s is not documented on any response", c)
		}
	}
}

// TestServeOpenAPI fetches the document without a key.
func TestServeOpenAPI(t *testing.T) {
	f := newFixture(t)
	res := f.do(t, request{method: "GET", path: "/v1/openapi.json"})
	if res.status != http.StatusOK {
		t.Fatalf("got %d: %s", res.status, res.body)
	}
	if !bytes.Equal(res.body, httpapi.OpenAPIDocument()) {
		t.Fatal("served document differs from the embedded one")
	}
	if res.header.Get("RateLimit-Limit") != "" {
		t.Error("an unauthenticated route carries RateLimit headers")
	}
}

// TestDocChecker proves the response checker refuses what it must, so
// that the conformance checks above cannot pass vacuously.
func TestDocChecker(t *testing.T) {
	d := apiDoc(t)
	ctxSchema := []map[string]any{{"$ref": "#/components/schemas/MotivationContext"}}
	valid := func() map[string]any {
		return map[string]any{
			"requestId": "req_abc", "suggestedFraming": "micro_task", "communicationStyle": "technical",
			"complexity": "hints_only", "encouragement": "none", "confidence": json.Number("0.5"), "rationale": "r",
			"metadata": map[string]any{"profilePhase": "cold_start", "interactionCount": json.Number("0"), "explorationMode": true},
		}
	}
	if errs := d.validate(ctxSchema, valid(), "body"); len(errs) != 0 {
		t.Fatalf("a valid context is refused: %v", errs)
	}
	bad := map[string]func(m map[string]any){
		"UndocumentedField": func(m map[string]any) { m["secret"] = "x" },
		"NestedUndocumented": func(m map[string]any) {
			m["metadata"].(map[string]any)["extra"] = true
		},
		"MissingRequired": func(m map[string]any) { delete(m, "rationale") },
		"EnumValue":       func(m map[string]any) { m["suggestedFraming"] = "optimized" },
		"WrongType":       func(m map[string]any) { m["confidence"] = "high" },
		"AboveMaximum":    func(m map[string]any) { m["confidence"] = json.Number("1.5") },
		"NotInteger":      func(m map[string]any) { m["metadata"].(map[string]any)["interactionCount"] = json.Number("1.5") },
		"PatternMismatch": func(m map[string]any) { m["requestId"] = "abc" },
		"NestedWrongEnum": func(m map[string]any) { m["metadata"].(map[string]any)["profilePhase"] = "optimized" },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			m := valid()
			mutate(m)
			if errs := d.validate(ctxSchema, m, "body"); len(errs) == 0 {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("ErrorEnvelope", func(t *testing.T) {
		schema := []map[string]any{{"$ref": "#/components/schemas/ErrorResponse"}}
		env := func(code, ts string) map[string]any {
			return map[string]any{"error": map[string]any{"code": code, "message": "m", "requestId": "req_x", "timestamp": ts}}
		}
		if errs := d.validate(schema, env("NOT_FOUND", "2026-03-14T12:00:00.123Z"), "body"); len(errs) != 0 {
			t.Fatalf("a valid envelope is refused: %v", errs)
		}
		for _, e := range []map[string]any{
			env("NO_SUCH_CODE", "2026-03-14T12:00:00Z"),
			env("NOT_FOUND", "2026-03-14T13:00:00+01:00"), // not UTC
			env("NOT_FOUND", "yesterday"),
		} {
			if errs := d.validate(schema, e, "body"); len(errs) == 0 {
				t.Errorf("accepted %v", e)
			}
		}
	})
	t.Run("OperationCodeEnum", func(t *testing.T) {
		// A 404 on GET /v1/profile is NOT_FOUND; INVALID_REQUEST_ID is not
		// documented there.
		res := &result{status: 404, header: http.Header{"X-Request-Id": {"req_x"}},
			body: []byte(`{"error":{"code":"INVALID_REQUEST_ID","message":"m","requestId":"req_x","timestamp":"2026-03-14T12:00:00Z"}}`)}
		if errs := d.checkResponse("GET", "/v1/profile/u", res); len(errs) == 0 {
			t.Fatal("accepted a code the operation does not document")
		}
		res.status = 418
		if errs := d.checkResponse("GET", "/v1/profile/u", res); len(errs) == 0 {
			t.Fatal("accepted an undocumented status")
		}
	})
	t.Run("RequiredHeader", func(t *testing.T) {
		res := &result{status: 200, header: http.Header{}, body: []byte(`{"status":"ok"}`)}
		if errs := d.checkResponse("GET", "/healthz", res); len(errs) == 0 {
			t.Fatal("accepted a response without X-Request-Id")
		}
	})
}
