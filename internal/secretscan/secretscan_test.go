package secretscan_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/secretscan"
	"github.com/amp-protocol/amp/internal/testclock"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func document(t *testing.T, keys map[string]*ecdsa.PrivateKey) []byte {
	type entry struct {
		ID      string `json:"key_identifier"`
		Key     string `json:"key"`
		Current bool   `json:"is_current"`
	}
	var doc struct {
		Keys []entry `json:"public_keys"`
	}
	for id, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		doc.Keys = append(doc.Keys, entry{ID: id, Key: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), Current: true})
	}
	b, _ := json.Marshal(doc)
	return b
}

func sign(t *testing.T, k *ecdsa.PrivateKey, body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	k, other := newKey(t), newKey(t)
	body := []byte(`[{"token":"x","type":"amp_secret_key","url":"https://github.com/o/r/blob/main/a.go","source":"content"}]`)
	sig := sign(t, k, body)
	if err := secretscan.Verify(&k.PublicKey, body, sig); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	altered := append([]byte(nil), body...)
	altered[10] ^= 1
	for name, c := range map[string]struct {
		pub  *ecdsa.PublicKey
		body []byte
		sig  string
	}{
		"body altered by one byte": {&k.PublicKey, altered, sig},
		"another key":              {&other.PublicKey, body, sig},
		"not base64":               {&k.PublicKey, body, "%%%"},
		"empty":                    {&k.PublicKey, body, ""},
		"not DER":                  {&k.PublicKey, body, base64.StdEncoding.EncodeToString([]byte("nonsense"))},
	} {
		if err := secretscan.Verify(c.pub, c.body, c.sig); !errors.Is(err, secretscan.ErrBadSignature) {
			t.Errorf("%s: Verify = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestKeysFromFileAndURL(t *testing.T) {
	a, b := newKey(t), newKey(t)
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, document(t, map[string]*ecdsa.PrivateKey{"key-a": a}), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	keys, err := secretscan.Open(t.Context(), path, nil, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := keys.Key(t.Context(), "key-a"); err != nil || !pub.Equal(&a.PublicKey) {
		t.Fatalf("Key(key-a) = %v, %v", pub, err)
	}
	if _, err := keys.Key(t.Context(), "key-b"); !errors.Is(err, secretscan.ErrUnknownKey) {
		t.Fatalf("Key(unknown) = %v", err)
	}

	// A URL, whose document gains a key: picked up once a minute has
	// passed since the last load, not before.
	var doc atomic.Value
	doc.Store(document(t, map[string]*ecdsa.PrivateKey{"key-a": a}))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write(doc.Load().([]byte))
	}))
	defer srv.Close()
	keys, err = secretscan.Open(t.Context(), srv.URL, srv.Client(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	doc.Store(document(t, map[string]*ecdsa.PrivateKey{"key-a": a, "key-b": b}))
	if _, err := keys.Key(t.Context(), "key-b"); !errors.Is(err, secretscan.ErrUnknownKey) {
		t.Fatalf("Key(key-b) within the minute = %v, want ErrUnknownKey", err)
	}
	for range 10 {
		keys.Key(t.Context(), "key-zzz")
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("unknown ids within a minute fetched the document %d times, want once", n)
	}
	clock.Advance(time.Minute)
	if pub, err := keys.Key(t.Context(), "key-b"); err != nil || !pub.Equal(&b.PublicKey) {
		t.Fatalf("Key(key-b) after a minute = %v, %v", pub, err)
	}
}

func TestParseKeysRefusesOthers(t *testing.T) {
	for name, doc := range map[string]string{
		"not json": "nope",
		"no keys":  `{"public_keys":[]}`,
		"not pem":  `{"public_keys":[{"key_identifier":"x","key":"abc"}]}`,
		"no id":    `{"public_keys":[{"key_identifier":"","key":"abc"}]}`,
	} {
		if _, err := secretscan.ParseKeys([]byte(doc)); err == nil {
			t.Errorf("%s: ParseKeys accepted it", name)
		}
	}
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k384.PublicKey)
	b, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{"key_identifier": "p384", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}}})
	if _, err := secretscan.ParseKeys(b); err == nil {
		t.Error("ParseKeys accepted a P-384 key")
	}
}
