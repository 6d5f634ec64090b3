package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
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
	// The answer holds the context twice, as text and as structured
	// content; decoding all of it would charge the load generator, which
	// shares the CPUs, for three times the JSON that /v1/context's answer
	// has. So the envelope is checked as bytes, and only the structured
	// content, the same JSON as /v1/context's answer, is decoded. A tool
	// error has none, and fails the call.
	rest, ok := bytes.CutPrefix(data, []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[`))
	i := bytes.LastIndex(rest, []byte(`,"structuredContent":`))
	var c struct {
		RequestID string `json:"requestId"`
	}
	if !ok || i < 0 || !bytes.HasSuffix(rest, []byte("}}")) ||
		json.Unmarshal(rest[i+len(`,"structuredContent":`):len(rest)-2], &c) != nil || c.RequestID == "" {
		return errors.New("POST /mcp get_context: not a context: " + string(data[:min(len(data), 200)]))
	}
	return nil
}

// mcpSlice is the length the MCP phase aims at for each of its slices: short
// enough that a change in the machine's load falls on both targets alike,
// long enough that starting a slice's connections costs little.
const mcpSlice = 250 * time.Millisecond

// pairedResult is what the MCP phase measured: MCP get_context and POST
// /v1/context, each over the same number of alternating slices.
type pairedResult struct {
	mcp, ctx *loadResult
	slices   int           // per target
	slice    time.Duration // the length of each
}

// mcpPhase measures MCP get_context against POST /v1/context in one phase
// of alternating closed-loop slices, --duration in all for each target, so
// that both see the same load on a machine shared with other work: the
// order alternates pair by pair (A B, B A, A B …), so that a load that
// rises or falls steadily favours neither. The ratio of the two is the
// phase's figure; each slice also counts the process's CPU time.
func (b *benchRun) mcpPhase(ctx context.Context) *pairedResult {
	o := b.o
	n := max(2, int(o.duration/mcpSlice))
	p := &pairedResult{mcp: &loadResult{}, ctx: &loadResult{}, slices: n, slice: o.duration / time.Duration(n)}
	if o.warmup > 0 {
		closedLoop(ctx, o.concurrency, o.warmup/2, b.mcpContextCall)
		closedLoop(ctx, o.concurrency, o.warmup/2, b.contextCall)
	}
	mcpW, ctxW := &commitCount{}, &commitCount{}
	for i := range n {
		order := []func(){
			func() { mcpW.run(b, func() { p.mcp.add(closedLoop(ctx, o.concurrency, p.slice, b.mcpContextCall)) }) },
			func() { ctxW.run(b, func() { p.ctx.add(closedLoop(ctx, o.concurrency, p.slice, b.contextCall)) }) },
		}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, run := range order {
			run()
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, r := range []*loadResult{p.mcp, p.ctx} {
		slices.Sort(r.Latencies)
	}
	p.mcp.WritesPerCommit, p.ctx.WritesPerCommit = mcpW.perCommit(), ctxW.perCommit()
	return p
}

// add adds a slice's measurements to r; its latencies are left unsorted.
func (r *loadResult) add(s *loadResult) {
	r.OK += s.OK
	r.Errors += s.Errors
	if r.FirstErr == nil {
		r.FirstErr = s.FirstErr
	}
	r.Elapsed += s.Elapsed
	r.Latencies = append(r.Latencies, s.Latencies...)
	r.Exhausted = r.Exhausted || s.Exhausted
	r.CPU += s.CPU
}

// commitCount adds up the SQLite store's writes and commits over slices.
type commitCount struct{ writes, commits int64 }

func (c *commitCount) run(b *benchRun, run func()) {
	ws, ok := b.store.(writerStats)
	if !ok {
		run()
		return
	}
	w0, c0 := ws.WriterStats()
	run()
	w1, c1 := ws.WriterStats()
	c.writes += w1 - w0
	c.commits += c1 - c0
}

func (c *commitCount) perCommit() float64 {
	if c.commits == 0 {
		return 0
	}
	return float64(c.writes) / float64(c.commits)
}

// mcpRatio prints MCP get_context's throughput and CPU time per request
// against /v1/context's, from the same alternating slices.
func mcpRatio(w io.Writer, p *pairedResult) {
	r := 0.0
	if p.ctx.Rate() > 0 {
		r = p.mcp.Rate() / p.ctx.Rate()
	}
	fmt.Fprintf(w, "mcp/context   %.2f  (MCP get_context vs POST /v1/context in %d alternating slices of %s each: %.0f vs %.0f requests/s; target >= %.1f: %s)\n",
		r, p.slices, p.slice.Round(time.Millisecond), p.mcp.Rate(), p.ctx.Rate(), targetMCPRatio, verdict(r >= targetMCPRatio))
	if p.mcp.CPU <= 0 || p.ctx.CPU <= 0 || p.mcp.OK == 0 || p.ctx.OK == 0 {
		fmt.Fprintf(w, "mcp cpu       -     (CPU time per request is not measured here)\n")
		return
	}
	mcpCPU := p.mcp.CPU / time.Duration(p.mcp.OK)
	ctxCPU := p.ctx.CPU / time.Duration(p.ctx.OK)
	fmt.Fprintf(w, "mcp cpu       %.2f  (CPU time per request, MCP get_context over POST /v1/context in the same slices: %s vs %s)\n",
		float64(mcpCPU)/float64(ctxCPU), p.mcp.CPUPerRequest(), p.ctx.CPUPerRequest())
}
