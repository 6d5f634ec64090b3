package httpapi_test

import (
	"bytes"
	"net/url"
	"testing"
)

// The fuzz targets send arbitrary bodies through the whole server (auth,
// decoding, the service, the SQLite store) in-process. Whatever the input,
// the answer must not be a 5xx, and serve's checks must hold: an error is
// the envelope with the header's requestId, and every response conforms
// to the OpenAPI document. Seed corpora are in testdata/fuzz.

func fuzzFixture(f *testing.F) *fixture {
	return newFixture(f, func(o *options) { o.noServer = true; o.discardLogs = true })
}

func wantNo5xx(t *testing.T, res *result, body []byte) {
	t.Helper()
	if res.status >= 500 {
		t.Fatalf("status %d for body %q: %s", res.status, body, res.body)
	}
}

func FuzzDecodeContext(f *testing.F) {
	for _, s := range []string{
		`{"userId":"user_123","task":"build a login page"}`,
		`{"userId":"u","task":"t","complexity":"high","taskType":"debugging","metadata":{"source":"slack","n":[1,{"a":null}]}}`,
		`{"userId":"u","task":"t","complexity":"extreme"}`,
		`{"userId":"u","task":"t"} trailing`,
		`{"userId":"u","userId":"v","task":"t"}`,
		`{"userId":"\u0000","task":"t"}`,
		`{"userId":"u","task":"t","metadata":{"a":{"b":{"c":{"d":{"e":1}}}}}}`,
		`[]`, `null`, ``, `{`, `{"userId":1e999}`,
	} {
		f.Add([]byte(s))
	}
	fx := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		res := fx.serve(t, request{method: "POST", path: "/v1/context", key: fx.liveKey, body: body})
		wantNo5xx(t, res, body)
	})
}

// reqPlaceholder in an outcome body is replaced by the requestId of a
// fresh context, so that the fuzzer reaches past the requestId lookup.
var reqPlaceholder = []byte("$REQ")

func FuzzDecodeOutcome(f *testing.F) {
	for _, s := range []string{
		`{"requestId":"$REQ","started":true,"completed":true,"timeToStart":12.5,"flowState":false,"satisfaction":0.8}`,
		`{"requestId":"$REQ","started":false,"metadata":{"k":"v"}}`,
		`{"requestId":"$REQ","started":"yes"}`,
		`{"requestId":"$REQ","started":true,"satisfaction":-0}`,
		`{"requestId":"$REQ","started":true,"timeToStart":1e308}`,
		`{"requestId":"req_unknown","started":true}`,
		`{"requestId":"","started":true}`,
		`{"started":true}`,
		`{"requestId":"$REQ","started":null}`,
	} {
		f.Add([]byte(s))
	}
	fx := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if bytes.Contains(body, reqPlaceholder) {
			c := fx.serve(t, request{method: "POST", path: "/v1/context", key: fx.liveKey, body: `{"userId":"fuzz","task":"t"}`})
			if c.status != 200 {
				t.Fatalf("context: %d %s", c.status, c.body)
			}
			body = bytes.ReplaceAll(body, reqPlaceholder, []byte(c.header.Get("X-Request-Id")))
		}
		res := fx.serve(t, request{method: "POST", path: "/v1/outcome", key: fx.liveKey, body: body})
		wantNo5xx(t, res, body)
	})
}

func FuzzDecodeProfileUpdate(f *testing.F) {
	for _, s := range []struct{ user, body string }{
		{"user_123", `{"preferredFraming":"challenge","communicationStyle":"technical","complexityPreference":"hints_only","encouragementLevel":"none"}`},
		{"u", `{"metadata":{"team":"core"}}`},
		{"u", `{"metadata":null}`},
		{"u", `{"preferredFraming":"bogus"}`},
		{"u", `{"preferredFraming":7}`},
		{"a/b c", `{}`},
		{"..", `{}`},
		{"", `{}`},
		{"\x00", `{}`},
		{"\xff", `{}`},
	} {
		f.Add(s.user, []byte(s.body))
	}
	fx := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, userID string, body []byte) {
		res := fx.serve(t, request{method: "PUT", path: "/v1/profile/" + url.PathEscape(userID), key: fx.liveKey, body: body})
		wantNo5xx(t, res, body)
	})
}
