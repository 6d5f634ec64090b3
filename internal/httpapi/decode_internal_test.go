package httpapi

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/amp-protocol/amp"
)

// decodeBodies are bodies of every shape decodeJSON meets: plain objects
// (its quick path) and all it must hand to the strict pass.
var decodeBodies = []string{
	`{"userId":"user_123","task":"build a login page"}`,
	` {"userId" : "u" , "task":"t","complexity":"high","taskType":"debugging","metadata":{"source":"slack","n":[1,{"a":null,"b":"}]\""}]}} `,
	`{"userId":"u","task":"t","complexity":"extreme"}`,
	`{"userId":"u","task":"t"} trailing`,
	`{"userId":"u","task":"t"}{}`,
	`{"userId":"u","userId":"v","task":"t"}`,
	`{"userId":"u","userid":"v","task":"t"}`,
	`{"user\u0049d":"u","task":"t"}`,
	`{"userId":"u","unknown":{"x":[1,2]},"task":"t"}`,
	`{"userId":"u","task":"t","metadata":{"a":{"b":{"c":{"d":{"e":1}}}}}}`,
	`{"userId":1,"task":"t"}`,
	`{"userId":"u","task":"t",}`,
	`{"userId":"u" "task":"t"}`,
	`{"userId":"u","task":}`,
	`{"userId":"u","task":"t"`,
	`{"userId":"u\"","task":"t\\"}`,
	`[]`, `null`, ``, `{`, `}`, `{}`, ` { } `, `{"userId":1e999}`, `"x"`, `{"userId":tru}`,
	`{"requestId":"req_1","started":true,"completed":true,"timeToStart":12.5,"flowState":false,"satisfaction":0.8}`,
	`{"requestId":"req_1","started":"yes"}`,
	`{"requestId":"req_1","started":null,"metadata":{"k":"v"}}`,
	`{"requestId":"req_1","started":true,"timeToStart":-1e308,"satisfaction":-0}`,
	`{"requestId":"req_1","started":true,"started":false}`,
	`{"requestId":"req_1","started":true,"metadata":[}`,
	`{"requestId":"req_1","started":true,"metadata":{"k":"v"]}`,
}

// TestDecodeJSONQuickPath checks that decodeJSON's quick path decides
// every body as the strict pass alone does: the same error, or the same
// decoded value.
func TestDecodeJSONQuickPath(t *testing.T) {
	for _, body := range decodeBodies {
		checkQuickPath(t, []byte(body))
	}
}

func FuzzDecodeJSONQuickPath(f *testing.F) {
	for _, body := range decodeBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkQuickPath(t, body) })
}

func checkQuickPath(t *testing.T, body []byte) {
	t.Helper()
	for _, newDst := range []func() any{
		func() any { return new(amp.ContextRequest) },
		func() any { return new(amp.OutcomeRequest) },
	} {
		got, want := newDst(), newDst()
		gotErr := decodeJSON(body, got)
		wantErr := decodeJSONStrict(body, want, jsonFields(reflect.TypeOf(want).Elem()))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%T from %q: error %v, the strict pass's %v", got, body, gotErr, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%T from %q: decoded %+v, the strict pass %+v", got, body, got, want)
		}
	}
}
