package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
)

// Backend performs the API's operations for the MCP tools. Its errors carry
// the API's codes (*amp.Error in the chain); WithRequestID attaches the id
// of the API request that failed.
type Backend interface {
	GetContext(ctx context.Context, req *amp.ContextRequest) (*amp.Context, error)
	ReportOutcome(ctx context.Context, req *amp.OutcomeRequest) error
	GetProfile(ctx context.Context, userID string) (*amp.Profile, error)
	UpdateProfile(ctx context.Context, userID string, u *amp.ProfileUpdate) (*amp.Profile, error)
	DeleteProfile(ctx context.Context, userID string) error
}

// Tool, prompt and resource names, as clients call them.
const (
	ToolGetContext       = "get_context"
	ToolReportOutcome    = "report_outcome"
	ToolGetProfile       = "get_profile"
	ToolUpdateProfile    = "update_profile"
	ToolDeleteProfile    = "delete_profile"
	PromptPresentTask    = "present_task"
	ProfileURITemplate   = "amp://profiles/{userId}"
	profileURIPrefix     = "amp://profiles/"
	serverName           = "amp"
	serverInstructionsV1 = `AMP (Adaptive Motivation Protocol) learns, per user, how to present a task so that the user starts and finishes it.
Before you present a task to a user, call get_context with the user's stable id and a short description of the task, and follow its recommendation (framing, communication style, complexity handling, encouragement).
When the user has started, finished or abandoned the task, call report_outcome once with the requestId that get_context returned: that is how AMP learns. Never invent a requestId.`
)

// UpdateProfileInput is the input of update_profile: the user and the
// preferences to set.
type UpdateProfileInput struct {
	UserID string `json:"userId"`
	amp.ProfileUpdate
}

// UserInput is the input of get_profile and delete_profile.
type UserInput struct {
	UserID string `json:"userId"`
}

// NewServer returns an MCP server whose tools, prompt and resource template
// call b. version is reported to clients as the server's version.
func NewServer(b Backend, version string) *gomcp.Server {
	s, _ := newServer(b, version)
	return s
}

// toolFunc runs one tool on the raw arguments of a tools/call. An error
// is a failure to encode the answer, which the SDK reports as a JSON-RPC
// error; an API error is a toolResult.
type toolFunc func(ctx context.Context, args json.RawMessage) (toolResult, error)

// toolResult is the result of a tool call: the answer's JSON, which is the
// structured content and, as text, the content; or, when the call failed,
// the text of the tool error.
type toolResult struct {
	json    []byte
	errText string
}

// callToolResult is r as the SDK's result.
func (r toolResult) callToolResult() *gomcp.CallToolResult {
	if r.json == nil {
		return &gomcp.CallToolResult{IsError: true, Content: []gomcp.Content{&gomcp.TextContent{Text: r.errText}}}
	}
	return &gomcp.CallToolResult{
		StructuredContent: json.RawMessage(r.json),
		Content:           []gomcp.Content{&gomcp.TextContent{Text: string(r.json)}},
	}
}

// newServer is NewServer, and also returns the tools' functions by name,
// for the fast path of Handler (see fastpath.go).
func newServer(b Backend, version string) (*gomcp.Server, map[string]toolFunc) {
	tools := make(map[string]toolFunc)
	s := gomcp.NewServer(&gomcp.Implementation{Name: serverName, Title: "AMP: Adaptive Motivation Protocol", Version: version},
		&gomcp.ServerOptions{Instructions: serverInstructionsV1})
	no := false
	yes := true

	addTool(s, tools, &gomcp.Tool{
		Name:  ToolGetContext,
		Title: "Get how to present a task to a user",
		Description: `Ask AMP how to present a task to one user, before you present it. Returns a recommendation on four dimensions (suggestedFraming, communicationStyle, complexity, encouragement), a confidence between 0 and 1, a rationale, and a requestId.
Follow the recommendation when you talk to the user about the task. Keep the requestId: pass it to report_outcome once the user has started, finished or abandoned the task, so that AMP learns what works for this user.
userId is your stable identifier of the user (at most 256 bytes; never an email address or other personal data). task describes the task in plain words (at most 4096 bytes). Every call creates a new requestId; call it once per task.`,
		Annotations:  &gomcp.ToolAnnotations{Title: "Get context", ReadOnlyHint: false, DestructiveHint: &no, IdempotentHint: false, OpenWorldHint: &no},
		InputSchema:  contextInputSchema,
		OutputSchema: contextOutputSchema,
	}, func(ctx context.Context, _ *gomcp.CallToolRequest, in amp.ContextRequest) (*gomcp.CallToolResult, *amp.Context, error) {
		c, err := b.GetContext(ctx, &in)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return nil, c, nil
	})

	addTool(s, tools, &gomcp.Tool{
		Name:  ToolReportOutcome,
		Title: "Report what the user did with a task",
		Description: `Tell AMP what the user did with a task that get_context was called for, so that AMP learns how to present tasks to this user. Call it exactly once per requestId, within 24 hours of get_context.
started (required): whether the user began the task. completed: whether they finished it. timeToStart: seconds between presenting the task and the user starting it. flowState: whether the user seemed absorbed and productive. satisfaction: the user's satisfaction between 0 and 1, if known. Leave out what you do not know rather than guess.`,
		Annotations:  &gomcp.ToolAnnotations{Title: "Report outcome", ReadOnlyHint: false, DestructiveHint: &no, IdempotentHint: false, OpenWorldHint: &no},
		InputSchema:  outcomeInputSchema,
		OutputSchema: outcomeOutputSchema,
	}, func(ctx context.Context, _ *gomcp.CallToolRequest, in amp.OutcomeRequest) (*gomcp.CallToolResult, *amp.OutcomeResponse, error) {
		if err := b.ReportOutcome(ctx, &in); err != nil {
			return nil, nil, toolError(err)
		}
		return nil, &amp.OutcomeResponse{Success: true, Message: amp.OutcomeReportedMessage}, nil
	})

	addTool(s, tools, &gomcp.Tool{
		Name:  ToolGetProfile,
		Title: "Read what AMP has learned about a user",
		Description: `Read a user's motivation profile: the preferred framing, communication style, complexity handling and encouragement level that AMP has learned, its confidence in each, the completion rate and other statistics, and the profile phase (cold_start, learning, optimised).
Use it to explain to the user what AMP knows about them. To decide how to present a task, call get_context instead. A user with no history has no profile (NOT_FOUND).`,
		Annotations:  &gomcp.ToolAnnotations{Title: "Get profile", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
		InputSchema:  userInputSchema,
		OutputSchema: profileOutputSchema,
	}, func(ctx context.Context, _ *gomcp.CallToolRequest, in UserInput) (*gomcp.CallToolResult, *amp.Profile, error) {
		p, err := b.GetProfile(ctx, in.UserID)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return nil, p, nil
	})

	addTool(s, tools, &gomcp.Tool{
		Name:  ToolUpdateProfile,
		Title: "Set a user's stated preferences",
		Description: `Record preferences the user stated explicitly ("just give me the answer", "walk me through it"): preferredFraming, communicationStyle, complexityPreference, encouragementLevel. Only the fields given change. AMP takes them as strong evidence that later outcomes can still overturn. metadata, when given, replaces the profile's stored metadata.
Only set what the user actually said; do not guess preferences. Returns the updated profile; creates it when the user has none yet.`,
		Annotations:  &gomcp.ToolAnnotations{Title: "Update profile", ReadOnlyHint: false, DestructiveHint: &no, IdempotentHint: true, OpenWorldHint: &no},
		InputSchema:  updateInputSchema,
		OutputSchema: profileOutputSchema,
	}, func(ctx context.Context, _ *gomcp.CallToolRequest, in UpdateProfileInput) (*gomcp.CallToolResult, *amp.Profile, error) {
		p, err := b.UpdateProfile(ctx, in.UserID, &in.ProfileUpdate)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return nil, p, nil
	})

	addTool(s, tools, &gomcp.Tool{
		Name:  ToolDeleteProfile,
		Title: "Erase everything AMP knows about a user",
		Description: `Permanently erase a user's profile, outcomes and pending requests (in the API key's mode). It cannot be undone: the user starts again from cold start.
Call it only when the user explicitly asks to be forgotten or to reset what AMP has learned. A user with no profile answers NOT_FOUND.`,
		Annotations:  &gomcp.ToolAnnotations{Title: "Delete profile", ReadOnlyHint: false, DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &no},
		InputSchema:  userInputSchema,
		OutputSchema: deleteOutputSchema,
	}, func(ctx context.Context, _ *gomcp.CallToolRequest, in UserInput) (*gomcp.CallToolResult, *amp.DeleteResponse, error) {
		if err := b.DeleteProfile(ctx, in.UserID); err != nil {
			return nil, nil, toolError(err)
		}
		return nil, &amp.DeleteResponse{Success: true}, nil
	})

	s.AddPrompt(&gomcp.Prompt{
		Name:  PromptPresentTask,
		Title: "Present a task the way this user responds to",
		Description: "A system-prompt fragment that tells the model how to present a task to one user, built from a fresh AMP context. " +
			"Its requestId is for report_outcome.",
		Arguments: []*gomcp.PromptArgument{
			{Name: "userId", Description: "Your stable identifier of the user.", Required: true},
			{Name: "task", Description: "The task, in plain words.", Required: true},
			{Name: "complexity", Description: "low, medium or high."},
			{Name: "taskType", Description: "A short category such as coding or writing."},
		},
	}, func(ctx context.Context, req *gomcp.GetPromptRequest) (*gomcp.GetPromptResult, error) {
		args := req.Params.Arguments
		c, err := b.GetContext(ctx, &amp.ContextRequest{
			UserID: args["userId"], Task: args["task"],
			Complexity: amp.TaskComplexity(args["complexity"]), TaskType: args["taskType"],
		})
		if err != nil {
			return nil, toolError(err)
		}
		text := amp.SystemPrompt(c) + "\nWhen the user has started, finished or abandoned the task, call report_outcome with requestId " + c.RequestID + "."
		return &gomcp.GetPromptResult{
			Description: "How to present the task (AMP request " + c.RequestID + ")",
			Meta:        gomcp.Meta{"requestId": c.RequestID},
			Messages:    []*gomcp.PromptMessage{{Role: "user", Content: &gomcp.TextContent{Text: text}}},
		}, nil
	})

	s.AddResourceTemplate(&gomcp.ResourceTemplate{
		Name:        "profile",
		Title:       "A user's motivation profile",
		Description: "What AMP has learned about one user, as the JSON of get_profile.",
		URITemplate: ProfileURITemplate,
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *gomcp.ReadResourceRequest) (*gomcp.ReadResourceResult, error) {
		uri := req.Params.URI
		userID, err := profileURIUser(uri)
		if err != nil {
			return nil, err
		}
		p, err := b.GetProfile(ctx, userID)
		if amp.ErrorCode(err) == amp.CodeNotFound {
			return nil, gomcp.ResourceNotFoundError(uri)
		}
		if err != nil {
			return nil, toolError(err)
		}
		body, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		return &gomcp.ReadResourceResult{Contents: []*gomcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(body)}}}, nil
	})
	return s, tools
}

// addTool registers a tool whose arguments are decoded by the API's own
// rules (httpapi.DecodeJSON) and checked by the service, so that a bad
// argument is a tool error with the API's code (INVALID_USER_ID …), and
// whose result is the typed answer as structured content and as text.
// The SDK's generic AddTool would also validate arguments and results
// against the schemas at run time, at several decodes per call; the
// schemas are inferred from the same types, and the tests check real
// answers against them. The function is also recorded in tools under the
// tool's name, for the fast path. The handlers ignore their request, so
// that both paths can run them on the arguments alone.
func addTool[In, Out any](s *gomcp.Server, tools map[string]toolFunc, t *gomcp.Tool, h gomcp.ToolHandlerFor[In, Out]) {
	fn := func(ctx context.Context, args json.RawMessage) (toolResult, error) {
		var in In
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("{}")
		}
		if err := httpapi.DecodeJSON(args, &in); err != nil {
			return toolResult{errText: toolError(err).Error()}, nil
		}
		_, out, err := h(ctx, nil, in)
		if err != nil {
			return toolResult{errText: err.Error()}, nil
		}
		b, err := json.Marshal(out)
		if err != nil {
			return toolResult{}, fmt.Errorf("encoding the result of %s: %w", t.Name, err)
		}
		return toolResult{json: b}, nil
	}
	tools[t.Name] = fn
	s.AddTool(t, func(ctx context.Context, req *gomcp.CallToolRequest) (*gomcp.CallToolResult, error) {
		r, err := fn(ctx, req.Params.Arguments)
		if err != nil {
			return nil, err
		}
		return r.callToolResult(), nil
	})
}

// profileURIUser returns the userId of an amp://profiles/{userId} URI; the
// id is percent-decoded, so that any userId can be named.
func profileURIUser(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, profileURIPrefix)
	if !ok || rest == "" {
		return "", gomcp.ResourceNotFoundError(uri)
	}
	id, err := url.PathUnescape(rest)
	if err != nil {
		return "", toolError(amp.Errorf(amp.CodeInvalidUserID, "The userId in %s is not validly percent-encoded.", ProfileURITemplate))
	}
	return id, nil
}

// requestIDError attaches the id of the API request that failed.
type requestIDError struct {
	err error
	id  string
}

func (e *requestIDError) Error() string { return e.err.Error() }
func (e *requestIDError) Unwrap() error { return e.err }

// WithRequestID returns err with the id of the API request that failed,
// which tool errors quote for support.
func WithRequestID(err error, id string) error {
	if err == nil || id == "" {
		return err
	}
	return &requestIDError{err: err, id: id}
}

// ToolError is the message of a failed tool call: the API's error code
// first, so that a model (and a test) can match it, then the API's message,
// its details, and what to do about it. Internal causes are never shown.
type ToolError struct {
	Code      string
	Message   string
	Details   map[string]any
	RequestID string
}

func (e *ToolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	if len(e.Details) > 0 {
		if d, err := json.Marshal(e.Details); err == nil {
			fmt.Fprintf(&b, " Details: %s.", d)
		}
	}
	if advice := adviceByCode[e.Code]; advice != "" {
		b.WriteString(" What to do: " + advice)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (AMP request %s)", e.RequestID)
	}
	return b.String()
}

func toolError(err error) *ToolError {
	te := &ToolError{Code: amp.ErrorCode(err), Message: amp.ErrorMessage(err), Details: amp.ErrorDetails(err)}
	if re, ok := errors.AsType[*requestIDError](err); ok {
		te.RequestID = re.id
	}
	return te
}

// adviceByCode tells a model how to recover from each error code.
var adviceByCode = map[string]string{
	amp.CodeInvalidRequest:         "Correct the argument the message names and call again.",
	amp.CodeInvalidUserID:          "Pass the user's stable identifier: 1 to 256 bytes of printable UTF-8. Then call again.",
	amp.CodeInvalidTask:            "Describe the task in plain words, 1 to 4096 bytes, and call again.",
	amp.CodeInvalidPreference:      "Use one of the values the tool's input schema lists for that field, and call again.",
	amp.CodeUnauthorized:           "The AMP API key is missing, invalid or revoked. Ask the user to configure a valid key; retrying will not help.",
	amp.CodeKeyExpired:             "The AMP API key has expired. Ask the user to create a new key; retrying will not help.",
	amp.CodeForbidden:              "The AMP API key lacks the permission the message names. Go on without this tool, or ask the user for a key with that scope; retrying will not help.",
	amp.CodeNotFound:               "AMP has no profile for this user yet: it is created by the first get_context. Go on without it.",
	amp.CodeInvalidRequestID:       "Pass the requestId that get_context returned for this task, unchanged. Do not invent one.",
	amp.CodeOutcomeAlreadyReported: "This task's outcome is already recorded. Do not report it again.",
	amp.CodeRequestExpired:         "The requestId is more than 24 hours old and takes no more outcomes. Call get_context for the next task.",
	amp.CodePayloadTooLarge:        "Shorten the arguments (metadata first) and call again.",
	amp.CodeRateLimitExceeded:      "Wait the number of seconds in retryAfter, then call again.",
	amp.CodeQuotaExceeded:          "The monthly quota is used up. Go on without AMP and tell the user.",
	amp.CodeInternal:               "Retry once; if it fails again, go on without AMP.",
	amp.CodeServiceUnavailable:     "Retry in a few seconds; meanwhile go on without AMP.",
}
