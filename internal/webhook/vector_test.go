package webhook_test

import (
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/webhook"
)

// The signature of a fixed delivery. The SDKs' tests (client, TypeScript,
// Python) check the same vector, so that every verifier agrees with the
// server's signer.
const (
	vectorSecret = "whsec_test_vector"
	vectorTime   = 1773489600 // 2026-03-14T12:00:00Z
	vectorBody   = `{"id":"evt_vector","type":"webhook.test","created":"2026-03-14T12:00:00Z","accountId":"acct_vector","mode":"test","data":{"endpointId":"we_vector","message":"hello"}}`
	vectorSig    = "5e185148119a33984c9546a38235aca84e0ae5b1a3becf474c11124b585555c9"
)

func TestSignatureVector(t *testing.T) {
	if got := webhook.Sign(vectorSecret, time.Unix(vectorTime, 0), []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
}
