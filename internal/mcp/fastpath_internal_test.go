package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// FuzzParseToolCall checks the envelope scanner on any input: it must not
// panic, and what it accepts must read the same with encoding/json (exact
// member names, the integer or string id, the tool name and arguments).
func FuzzParseToolCall(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":{"userId":"u","task":"t"}}}`,
		` { "params" : { "arguments" : { "a" : [ 1 , "}" ] } , "name" : "get_context" } , "method" : "tools/call" , "id" : "x" , "jsonrpc" : "2.0" } `,
		`{"jsonrpc":"2.0","id":-0,"method":"tools/call","params":{"name":"get_context"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":{}},"id":2}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context"}}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`,
		`{}`, `"x"`, `{"a":1}`, ``,
	} {
		f.Add([]byte(seed))
	}
	tools := map[string]toolFunc{"get_context": func(context.Context, json.RawMessage) (toolResult, error) { return toolResult{}, nil }}
	f.Fuzz(func(t *testing.T, body []byte) {
		call, ok := parseToolCall(body, tools)
		if !ok {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		var p map[string]json.RawMessage
		if len(m) != 4 || string(m["jsonrpc"]) != `"2.0"` || string(m["method"]) != `"tools/call"` || json.Unmarshal(m["params"], &p) != nil {
			t.Fatalf("accepted %q", body)
		}
		var id, name any
		if json.Unmarshal(m["id"], &id) != nil || json.Unmarshal(p["name"], &name) != nil || name != "get_context" {
			t.Fatalf("accepted %q: id %v, name %v", body, id, name)
		}
		switch v := id.(type) {
		case float64:
			if call.id.Raw() != int64(v) {
				t.Fatalf("accepted %q: id %v, read %v", body, v, call.id.Raw())
			}
		case string:
			if call.id.Raw() != v {
				t.Fatalf("accepted %q: id %q, read %v", body, v, call.id.Raw())
			}
		default:
			t.Fatalf("accepted %q: id %v", body, id)
		}
		args, hasArgs := p["arguments"]
		if hasArgs != (call.args != nil) || !bytes.Equal(args, call.args) {
			t.Fatalf("accepted %q: arguments %s, read %s", body, args, call.args)
		}
		if want := map[bool]int{false: 1, true: 2}[hasArgs]; len(p) != want {
			t.Fatalf("accepted %q: params %v", body, p)
		}
	})
}
