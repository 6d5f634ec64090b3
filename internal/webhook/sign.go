package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a delivery's signatures.
const SignatureHeader = "AMP-Signature"

// Sign returns the hex HMAC-SHA256, keyed by secret, of "<t>.<body>", where
// <t> is t in Unix seconds: the v1 signature of a delivery.
func Sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Signature returns the AMP-Signature header value for body sent at t:
// "t=<unix>,v1=<hex>", with one v1 per secret (during a roll's grace period
// both the new and the previous secret sign, so that a receiver configured
// with either accepts the delivery).
func Signature(secrets []string, t time.Time, body []byte) string {
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t.Unix(), 10))
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(Sign(s, t, body))
	}
	return b.String()
}

// Errors of Verify.
var (
	ErrNoSignature   = errors.New("webhook: no valid v1 signature")
	ErrBadHeader     = errors.New("webhook: malformed signature header")
	ErrOutsideWindow = errors.New("webhook: timestamp outside the tolerance window")
)

// Verify checks an AMP-Signature header against body and secret: one of its
// v1 signatures must match, and its timestamp must be within tolerance of
// now (either way), which bounds how long a captured delivery can be
// replayed. The comparison takes constant time.
func Verify(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	var ts int64
	var haveTS bool
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadHeader
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrBadHeader
			}
			ts, haveTS = n, true
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if !haveTS {
		return ErrBadHeader
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s", ErrOutsideWindow, t.UTC().Format(time.RFC3339))
	}
	want := []byte(Sign(secret, t, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrNoSignature
}
