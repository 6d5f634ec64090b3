package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// targetMCPRatio is issue 11's cost target: MCP get_context throughput
// relative to POST /v1/context in the same run.
const targetMCPRatio = 0.7

// mcpProtocolVersion is the revision the bench's MCP requests announce, as
// a stateless client does after its one initialize.
const mcpProtocolVersion = "2025-06-18"

// mcpContextCall calls the get_context tool through POST /mcp, as a
// stateless Streamable HTTP client does: one JSON-RPC tools/call per POST,
// no session. It fails on a tool error, so that a phase of refusals cannot
// pass for throughput.
func (b *benchRun) mcpContextCall(ctx context.Context, hc *http.Client, worker int) error {
	body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context","arguments":`),
		b.contextBody(worker)...), "}}"...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.service+"/mcp", bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("MCP-Protocol-Version", mcpProtocolVersion)
	h.Set("Authorization", b.auth)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /mcp: HTTP %d: %.200s", resp.StatusCode, data)
	}
	var answer struct {
		Result *struct {
			IsError           bool `json:"isError"`
			StructuredContent struct {
				RequestID string `json:"requestId"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.Result == nil || answer.Result.IsError || answer.Result.StructuredContent.RequestID == "" {
		return errors.New("POST /mcp get_context: not a context: " + string(data[:min(len(data), 200)]))
	}
	return nil
}

// mcpRatio prints MCP get_context's throughput against /v1/context's.
func mcpRatio(w io.Writer, mcpRes, ctxRes *loadResult) {
	r := 0.0
	if ctxRes.Rate() > 0 {
		r = mcpRes.Rate() / ctxRes.Rate()
	}
	fmt.Fprintf(w, "mcp/context   %.2f  (MCP get_context vs POST /v1/context, target >= %.1f: %s)\n", r, targetMCPRatio, verdict(r >= targetMCPRatio))
}
