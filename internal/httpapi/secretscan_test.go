package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/secretscan"
	"github.com/amp-protocol/amp/internal/service"
)

type scanKeys map[string]*ecdsa.PublicKey

func (s scanKeys) Key(_ context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := s[id]; ok {
		return k, nil
	}
	return nil, secretscan.ErrUnknownKey
}

func scanSign(tb testing.TB, k *ecdsa.PrivateKey, body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func scanRequest(body []byte, keyID, sig string) request {
	h := http.Header{}
	if keyID != "" {
		h.Set("Github-Public-Key-Identifier", keyID)
	}
	if sig != "" {
		h.Set("Github-Public-Key-Signature", sig)
	}
	return request{method: "POST", path: "/v1/secret-scanning/github", body: body, header: h}
}

func withScanner(k *ecdsa.PrivateKey) func(*options) {
	return func(o *options) { o.events.ScannerKeys = scanKeys{"gh-key-1": &k.PublicKey} }
}

func TestSecretScanningEndpoint(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := newFixture(t, withScanner(priv))
	unknown, _ := amp.NewKey(rand.Reader, amp.ModeLive)
	found := []amp.FoundToken{
		{Token: f.liveKey, Type: "amp_secret_key", URL: "https://github.com/octo/repo/blob/main/.env", Source: "content"},
		{Token: unknown, Type: "amp_secret_key", URL: "https://github.com/octo/repo/blob/main/b", Source: "content"},
		{Token: "not-a-key", Type: "amp_secret_key", Source: "content"},
	}
	body, _ := json.Marshal(found)
	sig := scanSign(t, priv, body)
	f.getContext(t, f.liveKey, "u") // the key works before

	altered := append([]byte(nil), body...)
	altered[5] ^= 0x01
	for name, req := range map[string]request{
		"no headers":          scanRequest(body, "", ""),
		"unknown key id":      scanRequest(body, "gh-key-2", sig),
		"invalid signature":   scanRequest(body, "gh-key-1", scanSign(t, priv, []byte("other"))),
		"body altered 1 byte": scanRequest(altered, "gh-key-1", sig),
		"signature garbage":   scanRequest(body, "gh-key-1", "!!"),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, f.do(t, req), http.StatusUnauthorized, amp.CodeUnauthorized)
		})
	}
	f.getContext(t, f.liveKey, "u") // refused alerts changed nothing

	res := f.do(t, scanRequest(body, "gh-key-1", sig))
	if res.status != http.StatusOK {
		t.Fatalf("valid alert: %d %s", res.status, res.body)
	}
	var fb []map[string]string
	res.decode(t, &fb)
	wantLabels := []string{"true_positive", "false_positive", "false_positive"}
	for i, e := range fb {
		sum := sha256.Sum256([]byte(found[i].Token))
		if e["label"] != wantLabels[i] || e["token_hash"] != hex.EncodeToString(sum[:]) || e["token_type"] != "amp_secret_key" || len(e) != 3 {
			t.Errorf("feedback %d = %v, want %s", i, e, wantLabels[i])
		}
	}
	if strings.Contains(string(res.body), f.liveKey) {
		t.Fatal("the answer carries a raw token")
	}
	// The found key is refused at once, with its own code.
	wantError(t, f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t"})), http.StatusUnauthorized, amp.CodeKeyQuarantined)
	f.getContext(t, f.testKey, "u") // other keys are untouched

	// Malformed, signed bodies.
	for _, b := range []string{`{"token":"x"}`, `nonsense`} {
		wantError(t, f.do(t, scanRequest([]byte(b), "gh-key-1", scanSign(t, priv, []byte(b)))), http.StatusBadRequest, amp.CodeInvalidRequest)
	}
	big := []byte("[" + strings.Repeat(" ", service.MaxScanBodyBytes) + "]")
	wantError(t, f.do(t, scanRequest(big, "gh-key-1", scanSign(t, priv, big))), http.StatusRequestEntityTooLarge, amp.CodePayloadTooLarge)
}

func TestSecretScanningNotConfigured(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(t, scanRequest([]byte(`[]`), "k", "s")), http.StatusNotFound, amp.CodeNotFound)
}

// BenchmarkSecretScanning1000 measures one alert of 1,000 tokens, 1% of
// them live keys of the server, through the HTTP server; GitHub allows a
// partner 30 s per request. BenchmarkSecretScanning1, an alert of one
// token, is the baseline of the same run: the ratio is what a token costs
// beyond the request and its signature check.
func BenchmarkSecretScanning1000(b *testing.B) { benchmarkSecretScanning(b, 1000) }

func BenchmarkSecretScanning1(b *testing.B) { benchmarkSecretScanning(b, 1) }

func benchmarkSecretScanning(b *testing.B, n int) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := newFixture(b, withScanner(priv), func(o *options) { o.discardLogs = true })
	for b.Loop() {
		b.StopTimer()
		found := make([]amp.FoundToken, n)
		for i := range found {
			tok, _ := amp.NewKey(rand.Reader, amp.ModeLive)
			if i%100 == 0 {
				tok = f.key(b, f.acct.ID, amp.ModeLive, service.KeyOptions{})
			}
			found[i] = amp.FoundToken{Token: tok, Type: "amp_secret_key", URL: "https://github.com/o/r/blob/main/x", Source: "content"}
		}
		body, _ := json.Marshal(found)
		req := scanRequest(body, "gh-key-1", scanSign(b, priv, body))
		b.StartTimer()
		res := f.do(b, req)
		if res.status != http.StatusOK {
			b.Fatalf("%d %s", res.status, res.body)
		}
	}
}
