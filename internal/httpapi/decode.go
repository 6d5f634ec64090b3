package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
)

// decodeBody reads a request body of at most amp.MaxBodyBytes and decodes
// it strictly into dst, a pointer to a struct with json tags (see
// decodeJSON). A larger body is PAYLOAD_TOO_LARGE.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, amp.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return amp.Errorf(amp.CodePayloadTooLarge, "The request body must be at most %d bytes.", amp.MaxBodyBytes).
				WithDetails(map[string]any{"limit": amp.MaxBodyBytes})
		}
		if r.Context().Err() != nil {
			return r.Context().Err() // the client is gone
		}
		return &amp.Error{Code: amp.CodeInvalidRequest, Message: "The request body could not be read.", Err: err}
	}
	if err := amp.CheckJSONText(body); err != nil {
		// Before decoding: encoding/json would replace invalid UTF-8 and
		// lone surrogates with U+FFFD, and decode \u0000 to NUL.
		return amp.Errorf(amp.CodeInvalidRequest, "The request body %s (at byte %d); text must be valid UTF-8 without NUL characters.", err.Reason, err.Offset).
			WithDetails(map[string]any{"offset": err.Offset})
	}
	return decodeJSON(body, dst)
}

// decodeJSON decodes body, which must be exactly one JSON object, into dst.
// It is stricter than encoding/json about what it lets through:
//   - anything but a single object (empty, null, an array, trailing data) is refused;
//   - a field name matches only with its exact case ("userid" is not "userId"),
//     and a field that does not match is ignored like any unknown field;
//   - a known field given twice is refused rather than silently overwritten;
//   - a value of the wrong type is refused, naming the field.
//
// Every refusal is INVALID_REQUEST with details.field where one applies.
func decodeJSON(body []byte, dst any) error {
	known := jsonFields(reflect.TypeOf(dst).Elem())
	// The common body, an object of known fields each given once, goes
	// straight to json.Unmarshal: a quick scan of its top-level names
	// stands in for the token-by-token pass below. Anything else, and
	// any failure, takes that pass, which alone words the errors.
	if plainObject(body, known) && json.Unmarshal(body, dst) == nil {
		return nil
	}
	return decodeJSONStrict(body, dst, known)
}

// plainObject reports whether body looks like one JSON object whose
// top-level names are all in known, none twice and none escaped. It only
// finds names; it does not validate (json.Unmarshal does), so a false
// true costs nothing but a second decoding.
func plainObject(body []byte, known map[string]bool) bool {
	var seen [16][]byte
	n := 0
	return httpx.JSONMembers(body, func(name, _ []byte) bool {
		if !known[string(name)] || n == len(seen) {
			return false
		}
		for _, s := range seen[:n] {
			if bytes.Equal(s, name) {
				return false
			}
		}
		seen[n] = name
		n++
		return true
	})
}

// decodeJSONStrict is decodeJSON's pass over every token, with known the
// JSON names of dst's fields.
func decodeJSONStrict(body []byte, dst any, known map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		if err != nil && !errors.Is(err, io.EOF) {
			return syntaxError(err)
		}
		return amp.Errorf(amp.CodeInvalidRequest, "The request body must be a JSON object.")
	}
	seen := make(map[string]bool, len(known))
	var filtered bytes.Buffer
	filtered.WriteByte('{')
	dropped := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		name, _ := tok.(string) // the decoder only yields strings as object keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(err)
		}
		if !known[name] {
			dropped = true
			continue
		}
		if seen[name] {
			return amp.Errorf(amp.CodeInvalidRequest, "The field %s appears more than once.", name).
				WithDetails(map[string]any{"field": name})
		}
		seen[name] = true
		if filtered.Len() > 1 {
			filtered.WriteByte(',')
		}
		filtered.WriteByte('"')
		filtered.WriteString(name) // a Go field tag: plain ASCII, nothing to escape
		filtered.WriteString(`":`)
		filtered.Write(raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return amp.Errorf(amp.CodeInvalidRequest, "The request body must hold exactly one JSON value.")
	}
	filtered.WriteByte('}')
	src := filtered.Bytes()
	if !dropped {
		src = body // same fields, same values: skip nothing
	}
	if err := json.Unmarshal(src, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return amp.Errorf(amp.CodeInvalidRequest, "%s must be %s.", te.Field, kindName(te.Type)).
				WithDetails(map[string]any{"field": te.Field})
		}
		return &amp.Error{Code: amp.CodeInvalidRequest, Message: "The request body is not valid JSON.", Err: err}
	}
	return nil
}

// syntaxError describes malformed JSON, with the byte offset when known.
func syntaxError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return amp.Errorf(amp.CodeInvalidRequest, "The request body is not valid JSON (at byte %d).", se.Offset).
			WithDetails(map[string]any{"offset": se.Offset})
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return amp.Errorf(amp.CodeInvalidRequest, "The request body is not valid JSON (it ends too early).")
	}
	return &amp.Error{Code: amp.CodeInvalidRequest, Message: "The request body is not valid JSON.", Err: err}
}

// kindName names the JSON type a Go type expects, for error messages.
func kindName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return fmt.Sprintf("of type %s", t)
}

var fieldCache sync.Map // reflect.Type → map[string]bool

// jsonFields returns the JSON names of a struct's fields, embedded
// structs' fields included.
func jsonFields(t reflect.Type) map[string]bool {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]bool)
	}
	names := make(map[string]bool)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			names[name] = true
		}
	}
	walk(t)
	fieldCache.Store(t, names)
	return names
}
