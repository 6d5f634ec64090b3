package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// TestScannerQuarantineEverywhere runs two `amp serve` instances on one
// PostgreSQL database with a secret scanner's public keys, sends a signed
// alert naming a live key to instance A, and checks that A and B both
// refuse the key with KEY_QUARANTINED within one second of the answer.
func TestScannerQuarantineEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the amp binary and runs two servers; skipped in -short mode")
	}
	dbURL := postgresURL(t)
	bin := ampBinary(t)
	db := "--database-url=" + dbURL
	runBin(t, bin, "migrate", db)
	acct := runBin(t, bin, "accounts", "create", db, "--name", "scan", "--plan", "enterprise", "--rate", "100000")
	key := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live")

	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": "gh-test", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true}}})
	keysFile := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keysFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--secret-scanning-keys", keysFile}
	env := []string{"AMP_DATABASE_URL=" + dbURL}
	a := startChild(t, bin, "A", args, env...)
	b := startChild(t, bin, "B", args, env...)
	ctx := context.Background()
	clients := []*client.Client{a.client(t, key), b.client(t, key)}
	for i, c := range clients {
		if _, err := c.GetProfile(ctx, "nobody"); client.ErrorCode(err) != amp.CodeNotFound {
			t.Fatalf("instance %d before the alert: got %v, want NOT_FOUND", i, err)
		}
	}

	body, _ := json.Marshal([]amp.FoundToken{{Token: key, Type: "amp_secret_key", URL: "https://github.com/o/r/blob/main/.env", Source: "content"}})
	sum := sha256.Sum256(body)
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	req, _ := http.NewRequest("POST", a.URL+"/v1/secret-scanning/github", bytes.NewReader(body))
	req.Header.Set("Github-Public-Key-Identifier", "gh-test")
	req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fb []amp.TokenFeedback
	err = json.NewDecoder(resp.Body).Decode(&fb)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(fb) != 1 || fb[0].Label != amp.TruePositive {
		t.Fatalf("alert: %d %+v %v", resp.StatusCode, fb, err)
	}
	// A quarantined it in the request; B has the key cached and must drop
	// it within the second the contract gives every instance.
	deadline := time.Now().Add(time.Second)
	for i, c := range clients {
		for {
			_, err := c.GetProfile(ctx, "nobody")
			if client.ErrorCode(err) == amp.CodeKeyQuarantined {
				break
			}
			if client.ErrorCode(err) != amp.CodeNotFound {
				t.Fatalf("instance %s: got %v, want NOT_FOUND (still cached) or KEY_QUARANTINED", []string{"A", "B"}[i], err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s still accepts the key more than 1 s after the alert was answered", []string{"A", "B"}[i])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if list := runBin(t, bin, "keys", "list", db, "--account", acct); !bytes.Contains([]byte(list), []byte("quarantined")) {
		t.Fatalf("amp keys list does not show the quarantine:\n%s", list)
	}
}
