package client

import "github.com/amp-protocol/amp"

// ToSystemPrompt renders a context as a fragment of a system prompt for a
// language model: one instruction per adapted dimension (framing,
// communication style, complexity, encouragement), then AMP's rationale,
// headed by the requestId to report the outcome with. The wording is
// documented in docs/agents.md and is the same in the TypeScript and
// Python SDKs.
//
//	mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: "user_123", Task: "write the release notes"})
//	…
//	system := "You are a helpful assistant.\n\n" + client.ToSystemPrompt(mc)
func ToSystemPrompt(c *amp.Context) string { return amp.SystemPrompt(c) }
