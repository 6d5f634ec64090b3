package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
	"github.com/amp-protocol/amp/internal/mcp"
	"github.com/amp-protocol/amp/internal/service"
)

// defaultMCPBaseURL is where `amp mcp` finds the API when neither
// --base-url nor AMP_BASE_URL says: a local `amp serve` on its default port.
const defaultMCPBaseURL = "http://127.0.0.1:8080/v1"

func runMCP(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "mcp", "[--base-url URL] [--key KEY]", `
Serve AMP's MCP tools (get_context, report_outcome, get_profile,
update_profile, delete_profile), the prompt present_task and the resource
template amp://profiles/{userId} over standard input and output, for a
desktop agent host that starts MCP servers as commands. Each call goes to a
running AMP server over HTTP with the API key, so that the key's scopes,
limits and mode apply exactly as on /v1.

The key comes from --key, else AMP_API_KEY, else AMP_KEY; prefer the
environment, since other users of the machine can read a process's
arguments. The server's base URL comes from --base-url, else AMP_BASE_URL,
else `+defaultMCPBaseURL+`. Standard output carries only the protocol;
diagnostics go to standard error. amp mcp exits when its input closes.`)
	key := cl.fs.String("key", "", "the API `KEY` (default $AMP_API_KEY, then $AMP_KEY)")
	baseURL := cl.fs.String("base-url", "", "the API's base `URL`, ending in /v1 (default $AMP_BASE_URL, then "+defaultMCPBaseURL+")")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if *key == "" {
		*key = e.getenv("AMP_API_KEY")
	}
	if *key == "" {
		*key = e.getenv("AMP_KEY")
	}
	if *key == "" {
		return usageError("amp mcp: no API key: set AMP_API_KEY or pass --key")
	}
	if *baseURL == "" {
		*baseURL = e.getenv("AMP_BASE_URL")
	}
	if *baseURL == "" {
		*baseURL = defaultMCPBaseURL
	}
	c, err := client.New(*key, client.WithBaseURL(*baseURL))
	if err != nil {
		return usageError("amp mcp: %v", err)
	}
	server := mcp.NewServer(&clientBackend{c: c, baseURL: *baseURL}, version)
	t := &gomcp.IOTransport{Reader: io.NopCloser(e.stdin), Writer: nopWriteCloser{e.stdout}}
	err = server.Run(ctx, t)
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("mcp: %w", err)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// clientBackend performs the tools' operations through the Go client,
// turning its errors back into the API's codes.
type clientBackend struct {
	c       *client.Client
	baseURL string
}

func (b *clientBackend) err(err error) error {
	if err == nil {
		return nil
	}
	if ce, ok := errors.AsType[*client.Error](err); ok {
		return mcp.WithRequestID(&amp.Error{Code: ce.Code, Message: ce.Message, Details: ce.Details}, ce.RequestID)
	}
	return &amp.Error{Code: amp.CodeServiceUnavailable, Message: "The AMP server at " + b.baseURL + " cannot be reached: " + err.Error(), Err: err}
}

func (b *clientBackend) GetContext(ctx context.Context, req *amp.ContextRequest) (*amp.Context, error) {
	c, err := b.c.GetContext(ctx, *req)
	return c, b.err(err)
}

func (b *clientBackend) ReportOutcome(ctx context.Context, req *amp.OutcomeRequest) error {
	return b.err(b.c.ReportOutcome(ctx, *req))
}

func (b *clientBackend) GetProfile(ctx context.Context, userID string) (*amp.Profile, error) {
	p, err := b.c.GetProfile(ctx, userID)
	return p, b.err(err)
}

func (b *clientBackend) UpdateProfile(ctx context.Context, userID string, u *amp.ProfileUpdate) (*amp.Profile, error) {
	p, err := b.c.UpdateProfile(ctx, userID, *u)
	return p, b.err(err)
}

func (b *clientBackend) DeleteProfile(ctx context.Context, userID string) error {
	return b.err(b.c.DeleteProfile(ctx, userID))
}

// newMCPHandler is the /mcp endpoint of amp serve over svc. api resolves
// client addresses as the API does, behind the same trusted proxies.
func newMCPHandler(log *slog.Logger, svc *service.Service, api http.Handler) http.Handler {
	cfg := mcp.HandlerConfig{Logger: log, Version: version}
	if a, ok := api.(interface{ ClientIP(*http.Request) string }); ok {
		cfg.ClientIP = a.ClientIP
	}
	return mcp.NewHandler(svc, cfg)
}
