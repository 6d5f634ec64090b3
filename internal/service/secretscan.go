package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/secretscan"
)

// Bounds of a secret-scanning alert. GitHub sends batches of up to a few
// hundred tokens; the bounds leave room for ten times that.
const (
	MaxScanTokens    = 5000
	MaxScanBodyBytes = 4 << 20
	maxScanURLBytes  = 2048
)

// ReportLeakedTokens handles a secret scanner's alert: body is the raw
// request body, a JSON array of found tokens, signed by the scanner's key
// keyID (signature: base64 ASN.1 ECDSA P-256 over SHA-256 of body). Every
// token that is an AMP key of this server is handled per its account's
// LeakAction (quarantined by default, or revoked), its owner notified
// (key.leak_suspected and key.quarantined events, and a log entry) and
// labelled true_positive; every other token (malformed, of another format,
// unknown) is false_positive, answered alike so that the answer says
// nothing about keys beyond the tokens' own. The answer has one entry per
// token, in order.
func (s *Service) ReportLeakedTokens(ctx context.Context, keyID, signature string, body []byte) ([]amp.TokenFeedback, error) {
	src := s.events.ScannerKeys
	if src == nil {
		return nil, amp.Errorf(amp.CodeNotFound, "Secret scanning is not configured on this server.")
	}
	if keyID == "" || signature == "" {
		return nil, amp.Errorf(amp.CodeUnauthorized, "Missing Github-Public-Key-Identifier or Github-Public-Key-Signature.")
	}
	pub, err := src.Key(ctx, keyID)
	if errors.Is(err, secretscan.ErrUnknownKey) {
		return nil, amp.Errorf(amp.CodeUnauthorized, "Unknown public key identifier.")
	}
	if err != nil {
		return nil, &amp.Error{Code: amp.CodeServiceUnavailable, Message: "The scanner's public keys could not be loaded. Please retry.", Err: err}
	}
	if err := secretscan.Verify(pub, body, signature); err != nil {
		return nil, amp.Errorf(amp.CodeUnauthorized, "The signature does not match the body.")
	}
	var found []amp.FoundToken
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&found); err != nil || dec.More() {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "The body must be a JSON array of {token, type, url, source}.")
	}
	if len(found) > MaxScanTokens {
		return nil, amp.Errorf(amp.CodeInvalidRequest, "At most %d tokens per request.", MaxScanTokens).
			WithDetails(map[string]any{"limit": MaxScanTokens})
	}
	out := make([]amp.TokenFeedback, len(found))
	labels := make(map[string]amp.TokenLabel, len(found)) // a token repeated in a batch is handled once
	for i, f := range found {
		sum := sha256.Sum256([]byte(f.Token))
		out[i] = amp.TokenFeedback{TokenHash: hex.EncodeToString(sum[:]), TokenType: f.Type, Label: amp.FalsePositive}
		label, seen := labels[f.Token]
		if !seen {
			if label, err = s.handleFoundToken(ctx, &f); err != nil {
				return nil, err
			}
			labels[f.Token] = label
		}
		out[i].Label = label
	}
	return out, nil
}

// handleFoundToken labels one found token and acts on it if it is a key.
func (s *Service) handleFoundToken(ctx context.Context, f *amp.FoundToken) (amp.TokenLabel, error) {
	if _, err := amp.ParseKey(f.Token); err != nil {
		return amp.FalsePositive, nil
	}
	k, err := s.store.KeyByHash(ctx, amp.HashKey(f.Token))
	if errors.Is(err, amp.ErrNotFound) {
		return amp.FalsePositive, nil
	}
	if err != nil {
		return "", storeError(err, "", "")
	}
	if k.RevokedAt != nil {
		return amp.TruePositive, nil // a real key, already harmless
	}
	url := strings.ToValidUTF8(f.URL, "")
	if len(url) > maxScanURLBytes {
		url = strings.ToValidUTF8(url[:maxScanURLBytes], "")
	}
	action, err := s.LeakAction(ctx, k.AccountID)
	if err != nil {
		return "", err
	}
	var acted bool
	const reason = "found in public by a secret scanner"
	switch action {
	case amp.LeakActionRevoke:
		if _, err := s.RevokeKey(ctx, "", k.ID); err != nil {
			return "", err
		}
		acted = true
	default:
		if acted, err = s.quarantine(ctx, k, reason, url); err != nil {
			return "", err
		}
	}
	s.log.Warn("audit: secret scanner reported a key", "key_id", k.ID, "account_id", k.AccountID, "mode", k.Mode,
		"action", action, "changed", acted, "source", f.Source, "url", url)
	if acted {
		// One event per key and day: scanners resend what they find.
		day := s.Now().Format(time.DateOnly)
		s.emitLogged(ctx, k.Tenant(), amp.EventKeyLeakSuspected, "key.leak_suspected:scanner:"+k.ID+":"+day, amp.KeyLeakSuspectedData{
			Key: eventKey(k), Source: amp.LeakScanner, URL: url, Action: leakActionTaken(action),
			Reasons: []string{fmt.Sprintf("a secret scanner found the key in public (%s)", orUnknown(f.Source))},
		})
	}
	return amp.TruePositive, nil
}

func leakActionTaken(a amp.LeakAction) amp.LeakAction {
	if a == amp.LeakActionRevoke {
		return amp.LeakActionRevoke
	}
	return amp.LeakActionQuarantine
}

func orUnknown(s string) string {
	if s == "" {
		return "source not given"
	}
	return s
}
