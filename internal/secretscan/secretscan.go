// Package secretscan verifies the requests of a secret-scanning partner
// program: GitHub's, whose alerts are POSTed as a JSON array of found
// tokens, signed with ECDSA P-256 over SHA-256 of the raw body. The
// signature (ASN.1 DER, base64) arrives in Github-Public-Key-Signature and
// the signing key's id in Github-Public-Key-Identifier; the public keys are
// published as JSON (for GitHub, at
// https://api.github.com/meta/public_keys/secret_scanning), which the
// operator points the server at with a file or a URL (docs/webhooks.md).
//
// A Keys source reloads its document when asked for a key id it does not
// know, at most once a minute, so that a key the scanner rotated in is
// picked up without a restart while unknown ids cannot make the server
// fetch on every request.
package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Errors of Verify and Keys.Key.
var (
	ErrUnknownKey   = errors.New("secretscan: unknown public key identifier")
	ErrBadSignature = errors.New("secretscan: signature does not match the body")
)

// maxKeysDocument bounds the public-keys document.
const maxKeysDocument = 1 << 20

// reloadEvery bounds how often an unknown key id triggers a reload.
const reloadEvery = time.Minute

// keysDocument is the format of GitHub's public-keys document.
type keysDocument struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// ParseKeys parses a public-keys document into a map from key id to key.
// Every key must be an ECDSA P-256 public key in PEM ("PUBLIC KEY").
func ParseKeys(doc []byte) (map[string]*ecdsa.PublicKey, error) {
	var d keysDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("secretscan: public keys: %w", err)
	}
	if len(d.PublicKeys) == 0 {
		return nil, errors.New("secretscan: public keys: the document lists none")
	}
	out := make(map[string]*ecdsa.PublicKey, len(d.PublicKeys))
	for _, k := range d.PublicKeys {
		if k.KeyIdentifier == "" {
			return nil, errors.New("secretscan: public keys: a key has no key_identifier")
		}
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil {
			return nil, fmt.Errorf("secretscan: public key %s: not PEM", k.KeyIdentifier)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("secretscan: public key %s: %w", k.KeyIdentifier, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("secretscan: public key %s: not an ECDSA P-256 key", k.KeyIdentifier)
		}
		out[k.KeyIdentifier] = ec
	}
	return out, nil
}

// Verify checks that signature (base64 of an ASN.1 DER ECDSA signature) is
// pub's signature of SHA-256(body).
func Verify(pub *ecdsa.PublicKey, body []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return ErrBadSignature
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// Keys is a source of public keys: a file or an http(s) URL holding a
// public-keys document.
type Keys struct {
	location string
	client   *http.Client
	now      func() time.Time

	mu       sync.Mutex
	keys     map[string]*ecdsa.PublicKey
	loadedAt time.Time
}

// Open loads the document at location (a path, or an http:// or https://
// URL fetched with client, http.DefaultClient when nil) and returns a
// source over it. now is the clock of reloads; time.Now when nil.
func Open(ctx context.Context, location string, client *http.Client, now func() time.Time) (*Keys, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	k := &Keys{location: location, client: client, now: now}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Key returns the public key with the id, reloading the document first if
// the id is unknown and the last load is more than a minute old.
func (k *Keys) Key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	pub, ok := k.keys[id]
	stale := k.now().Sub(k.loadedAt) >= reloadEvery
	k.mu.Unlock()
	if ok {
		return pub, nil
	}
	if stale {
		if err := k.reload(ctx); err != nil {
			return nil, err
		}
		k.mu.Lock()
		pub, ok = k.keys[id]
		k.mu.Unlock()
		if ok {
			return pub, nil
		}
	}
	return nil, ErrUnknownKey
}

func (k *Keys) reload(ctx context.Context) error {
	doc, err := k.fetch(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loadedAt = k.now() // a failed load waits too, so failures do not hammer the source
	if err != nil {
		return err
	}
	keys, err := ParseKeys(doc)
	if err != nil {
		return err
	}
	k.keys = keys
	return nil
}

func (k *Keys) fetch(ctx context.Context) ([]byte, error) {
	if !strings.HasPrefix(k.location, "http://") && !strings.HasPrefix(k.location, "https://") {
		b, err := os.ReadFile(k.location)
		if err != nil {
			return nil, fmt.Errorf("secretscan: public keys: %w", err)
		}
		return b, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.location, nil)
	if err != nil {
		return nil, fmt.Errorf("secretscan: public keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("secretscan: public keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("secretscan: public keys: %s answered %d", k.location, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysDocument+1))
	if err != nil {
		return nil, fmt.Errorf("secretscan: public keys: %w", err)
	}
	if len(b) > maxKeysDocument {
		return nil, fmt.Errorf("secretscan: public keys: the document exceeds %d bytes", maxKeysDocument)
	}
	return b, nil
}
