package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/amp-protocol/amp/internal/httpx"
)

// The fast path answers the one message that agents send most, a stateless
// tools/call of one of AMP's tools, without the SDK's per-POST machinery,
// and leaves every other message to the SDK.
//
// Why it exists: for each stateless POST, the SDK (v1.8) builds a server
// session, a JSON-RPC connection and a stream, hands the call to a
// goroutine, and decodes the body some nine times, each decode allocating a
// 32 KiB buffer; a get_context through it cost about 330 KB and 3.5 times
// the instructions of POST /v1/context, and no option of the SDK avoids
// that work (docs/agents.md, "Cost of MCP"). The
// fast path decodes the envelope once, runs the same tool function the SDK
// would run (see addTool), and writes the answer in the SDK's layout, so
// that the bytes on the wire are the SDK's.
//
// It is narrow on purpose. It takes only what it can prove the SDK answers
// identically (TestFastPathMatchesSDK sends the same requests to both and
// compares the answers byte for byte): a POST whose headers the SDK accepts,
// announcing a protocol revision before 2026-07-28 (whose per-request _meta
// and Mcp-Method headers the SDK validates), with a body that is one
// JSON-RPC request, valid UTF-8, nested at most 64 deep, whose only
// members are jsonrpc "2.0", an integer or plain string id (see plainID),
// method "tools/call" and params holding the name of one of AMP's tools
// and, optionally, an object of arguments. Anything else, including _meta, batches, notifications and
// unknown tools, goes to the SDK with the body as it came.

// fastVersions are the values of MCP-Protocol-Version the fast path takes:
// none (the SDK assumes 2025-03-26) and the revisions before 2026-07-28
// that the SDK supports. For them the SDK's session is synthesised as
// initialised, no header but the version is checked, and the result
// carries no resultType.
var fastVersions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

// fastMaxDepth bounds the nesting the fast path takes; the SDK refuses
// bodies nested deeper than 1000, and AMP's arguments nest far less.
const fastMaxDepth = 64

// toolCall is a tools/call the fast path can answer.
type toolCall struct {
	id     jsonrpc.ID
	idJSON []byte // id as the SDK encodes it
	fn     toolFunc
	args   json.RawMessage
}

// serveFast answers r on the fast path and reports true, or reports false
// with r's body intact for the SDK.
func (h *Handler) serveFast(w http.ResponseWriter, r *http.Request) bool {
	if !fastHeaders(r.Method, r.Header) {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil || int64(len(body)) > h.maxBody {
		// Let the SDK read it all again and answer as it does.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return false
	}
	call, ok := parseToolCall(body, h.tools)
	if !ok {
		r.Body = io.NopCloser(bytes.NewReader(body))
		return false
	}
	data := answerToolCall(r.Context(), call)
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache, no-transform")
	hdr.Set("Content-Type", "application/json")
	_, _ = w.Write(data)
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// fastHeaders reports whether the SDK would take a POST with these headers
// to the decoding of its body, and the version is one the fast path takes:
// the checks of StreamableHTTPHandler.serveStateless, in the same terms.
func fastHeaders(method string, h http.Header) bool {
	if method != http.MethodPost || len(h.Values("Last-Event-ID")) > 0 || !fastVersions[h.Get("Mcp-Protocol-Version")] {
		return false
	}
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	jsonOK, streamOK := false, false
	for _, v := range h.Values("Accept") {
		for raw := range strings.SplitSeq(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// parseToolCall returns the tools/call in body if the fast path can answer
// it: see the comment at the top of this file. It reads the envelope
// without allocating: body is checked valid first, so that a scan of its
// top two levels suffices.
func parseToolCall(body []byte, tools map[string]toolFunc) (toolCall, bool) {
	var call toolCall
	if !utf8.Valid(body) || !json.Valid(body) || !shallow(body, fastMaxDepth) {
		return call, false
	}
	var seen [4]bool // jsonrpc, id, method, params
	var params []byte
	ok := httpx.JSONMembers(body, func(key, raw []byte) bool {
		switch string(key) {
		case "jsonrpc":
			seen[0] = !seen[0] && string(raw) == `"2.0"`
			return seen[0]
		case "id":
			id, idJSON, ok := plainID(raw)
			call.id, call.idJSON, seen[1] = id, idJSON, !seen[1] && ok
			return seen[1]
		case "method":
			seen[2] = !seen[2] && string(raw) == `"tools/call"`
			return seen[2]
		case "params":
			params, seen[3] = raw, !seen[3]
			return seen[3]
		}
		return false
	})
	if !ok || seen != [4]bool{true, true, true, true} {
		return call, false
	}
	var name []byte
	var hasArgs bool
	ok = httpx.JSONMembers(params, func(key, raw []byte) bool {
		switch string(key) {
		case "name":
			if name != nil || !plainString(raw) {
				return false
			}
			name = raw[1 : len(raw)-1]
			return true
		case "arguments":
			if hasArgs || raw[0] != '{' {
				return false
			}
			call.args, hasArgs = raw, true
			return true
		}
		return false
	})
	if !ok || name == nil {
		return call, false
	}
	call.fn = tools[string(name)]
	return call, call.fn != nil
}

// plainID returns a JSON-RPC id that both decoders read the same, and its
// JSON as the SDK encodes it: an integer of at most 15 digits (which a
// float64 holds exactly), or a string without escapes and without U+2028
// or U+2029 (which the SDK's encoder escapes).
func plainID(raw []byte) (jsonrpc.ID, []byte, bool) {
	if plainString(raw) {
		if bytes.Contains(raw, []byte("\u2028")) || bytes.Contains(raw, []byte("\u2029")) {
			return jsonrpc.ID{}, nil, false
		}
		id, err := jsonrpc.MakeID(string(raw[1 : len(raw)-1]))
		return id, raw, err == nil
	}
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(digits) > 1) {
		return jsonrpc.ID{}, nil, false
	}
	n := int64(0)
	for _, c := range digits {
		if c < '0' || c > '9' {
			return jsonrpc.ID{}, nil, false
		}
		n = n*10 + int64(c-'0')
	}
	if raw[0] == '-' {
		n = -n
	}
	id, err := jsonrpc.MakeID(float64(n))
	return id, strconv.AppendInt(nil, n, 10), err == nil
}

// plainString reports whether raw is a JSON string without escapes, whose
// bytes between the quotes are its value.
func plainString(raw json.RawMessage) bool {
	return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0
}

// shallow reports whether data, valid JSON, nests objects and arrays at
// most max deep.
func shallow(data []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > max {
				return false
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return true
}

// answerToolCall runs the call and encodes its response as the SDK does.
// The SDK builds the response from a CallToolResult (its content never
// null) and passes the JSON through three re-encoding passes, which cost
// more than the service call; the answer's JSON is compact already, so
// the response is written out directly, in the SDK's layout: the
// JSON-RPC envelope of jsonrpc.EncodeMessage around CallToolResult's
// MarshalJSON, in which the text is encoded by json.Marshal (HTML
// escaped) and the structured content passes unchanged.
// TestFastPathMatchesSDK holds the two to the same bytes.
func answerToolCall(ctx context.Context, call toolCall) []byte {
	res, err := call.fn(ctx, call.args)
	if err != nil {
		// Not reached: the tools' answers are plain JSON types. The SDK
		// answers a failing handler with a JSON-RPC error of its text.
		data, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: call.id, Error: err})
		return data
	}
	text := res.errText
	if res.json != nil {
		text = string(res.json)
	}
	quoted, err := json.Marshal(text)
	if err != nil {
		quoted = []byte(`""`) // not reached: a string always encodes
	}
	out := make([]byte, 0, 96+len(call.idJSON)+len(quoted)+len(res.json))
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, call.idJSON...)
	out = append(out, `,"result":{"content":[{"type":"text","text":`...)
	out = append(out, quoted...)
	if res.json == nil {
		return append(out, `}],"isError":true}}`...)
	}
	out = append(out, `}],"structuredContent":`...)
	out = append(out, res.json...)
	return append(out, `}}`...)
}
