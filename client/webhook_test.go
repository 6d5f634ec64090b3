package client_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/amp-protocol/amp/client"
	"github.com/amp-protocol/amp/internal/webhook"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"key.quarantined","created":"2026-03-14T12:00:00Z","accountId":"acct_1","mode":"live","data":{}}`)
	// Signed by the server's signer, with two secrets as during a roll.
	header := webhook.Signature([]string{"whsec_new", "whsec_old"}, now, body)
	for _, secret := range []string{"whsec_new", "whsec_old"} {
		ev, err := client.VerifyWebhookAt(body, header, secret, 0, now.Add(4*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", secret, err)
		}
		if ev.ID != "evt_1" || ev.Type != "key.quarantined" {
			t.Fatalf("decoded %+v", ev)
		}
	}
	// The vector of internal/webhook's TestSignatureVector.
	vbody := []byte(`{"id":"evt_vector","type":"webhook.test","created":"2026-03-14T12:00:00Z","accountId":"acct_vector","mode":"test","data":{"endpointId":"we_vector","message":"hello"}}`)
	if _, err := client.VerifyWebhookAt(vbody, "t=1773489600,v1=5e185148119a33984c9546a38235aca84e0ae5b1a3becf474c11124b585555c9",
		"whsec_test_vector", 0, time.Unix(1773489600, 0)); err != nil {
		t.Fatalf("the fixed vector: %v", err)
	}
	altered := append([]byte(nil), body...)
	altered[8] = '2'
	for name, c := range map[string]struct {
		body   []byte
		header string
		secret string
		now    time.Time
		tol    time.Duration
		want   error
	}{
		"wrong secret":       {body, header, "whsec_other", now, 0, client.ErrWebhookSignature},
		"body altered":       {altered, header, "whsec_new", now, 0, client.ErrWebhookSignature},
		"too old":            {body, header, "whsec_new", now.Add(5*time.Minute + time.Second), 0, client.ErrWebhookTimestamp},
		"future":             {body, header, "whsec_new", now.Add(-6 * time.Minute), 0, client.ErrWebhookTimestamp},
		"custom tolerance":   {body, header, "whsec_new", now.Add(time.Minute + time.Second), time.Minute, client.ErrWebhookTimestamp},
		"no header":          {body, "", "whsec_new", now, 0, client.ErrWebhookHeader},
		"no v1":              {body, fmt.Sprintf("t=%d", now.Unix()), "whsec_new", now, 0, client.ErrWebhookHeader},
		"timestamp replaced": {body, fmt.Sprintf("t=%d,v1=%s", now.Unix()+60, webhook.Sign("whsec_new", now, body)), "whsec_new", now, 0, client.ErrWebhookSignature},
	} {
		if _, err := client.VerifyWebhookAt(c.body, c.header, c.secret, c.tol, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
