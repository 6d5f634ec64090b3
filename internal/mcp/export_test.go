package mcp

import (
	"net/http"

	"github.com/amp-protocol/amp/internal/service"
)

// NewSDKHandler is NewHandler without the fast path: every message goes
// to the SDK. It is the reference that the fast path is compared with.
func NewSDKHandler(svc *service.Service, cfg HandlerConfig) *Handler {
	h := NewHandler(svc, cfg)
	h.tools = nil
	return h
}

// FastPathTakes reports whether h answers a request with this method,
// headers and body on the fast path.
func FastPathTakes(h *Handler, method string, hdr http.Header, body []byte) bool {
	if h.tools == nil || !fastHeaders(method, hdr) || int64(len(body)) > h.maxBody {
		return false
	}
	_, ok := parseToolCall(body, h.tools)
	return ok
}
