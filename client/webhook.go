package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// SignatureHeader is the header of a webhook delivery that carries its
// signatures: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", with
// one v1 per valid secret while a rolled secret's grace period lasts.
const SignatureHeader = "AMP-Signature"

// DefaultWebhookTolerance is how far a delivery's timestamp may be from
// the receiver's clock: five minutes, which bounds how long a captured
// delivery can be replayed.
const DefaultWebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookSignature = errors.New("amp webhook: no signature matches the body and secret")
	ErrWebhookHeader    = errors.New("amp webhook: malformed " + SignatureHeader + " header")
	ErrWebhookTimestamp = errors.New("amp webhook: timestamp outside the tolerance window")
)

// VerifyWebhook checks a webhook delivery (the raw body, as received, and
// its AMP-Signature header) against the endpoint's secret, with a
// tolerance window around the current time (DefaultWebhookTolerance when
// 0), and returns the decoded event. Deduplicate deliveries by the event's
// ID: a delivery may arrive more than once.
//
//	body, _ := io.ReadAll(r.Body)
//	ev, err := client.VerifyWebhook(body, r.Header.Get(client.SignatureHeader), secret, 0)
func VerifyWebhook(body []byte, header, secret string, tolerance time.Duration) (*amp.Event, error) {
	return VerifyWebhookAt(body, header, secret, tolerance, time.Now())
}

// VerifyWebhookAt is VerifyWebhook with the receiver's clock given.
func VerifyWebhookAt(body []byte, header, secret string, tolerance time.Duration, now time.Time) (*amp.Event, error) {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	var (
		ts    int64
		haveT bool
		sigs  []string
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, ErrWebhookHeader
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, ErrWebhookHeader
			}
			ts, haveT = n, true
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if !haveT || len(sigs) == 0 {
		return nil, ErrWebhookHeader
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return nil, ErrWebhookTimestamp
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := []byte(hex.EncodeToString(mac.Sum(nil)))
	matched := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			matched = true
		}
	}
	if !matched {
		return nil, ErrWebhookSignature
	}
	var ev amp.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("amp webhook: the signed body is not an event: %w", err)
	}
	return &ev, nil
}
