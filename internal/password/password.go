// Package password hashes and verifies passwords with argon2id
// (golang.org/x/crypto/argon2), in the PHC string form the reference
// implementation writes. It holds no policy: what a password must look
// like is the root's rule (amp.ValidatePassword), and who may try one when
// is the service's.
package password

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of new password hashes.
// Existing hashes keep the parameters they were made with (they are part of
// the stored string) and are rehashed with the current ones at the next
// successful sign-in.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams follow the OWASP Password Storage Cheat Sheet's
// first argon2id configuration: 19 MiB, 2 passes, 1 thread, which costs
// roughly 20–40 ms of one core. AMP is self-hosted on small machines, so a
// cheaper-per-login setting that still makes each guess cost 19 MiB of
// memory-hard work is the right trade; deployments with spare memory can
// raise Memory (RFC 9106's second recommendation is 64 MiB, 3 passes).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds of the parameters accepted from a stored hash, so that a corrupt
// or hostile row cannot make one verification allocate without limit.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
)

// ErrMalformedHash is returned by Verify for a stored string it cannot read.
var ErrMalformedHash = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. At most a given number of hashes
// run at once: each one holds Memory KiB, and a burst of sign-ins must
// queue, not exhaust the machine's memory. A Hasher is safe for concurrent
// use.
type Hasher struct {
	params Params
	random io.Reader
	sem    chan struct{}
	// dummy is a hash of a random password, verified when an email is
	// unknown so that the answer takes as long as for a wrong password.
	// It is made at the first Burn, so that a process that never signs
	// anyone in (an admin command) does not pay for it.
	dummyOnce sync.Once
	dummy     string
	dummyErr  error
	// verified counts argon2id verifications, so that tests can check that
	// the unknown-email path pays for one as the wrong-password path does.
	verified atomic.Int64
}

// New returns a Hasher making hashes with p (DefaultParams when zero),
// drawing salts from random (a cryptographic source), running at most
// concurrency hashes at once.
func New(p Params, random io.Reader, concurrency int) (*Hasher, error) {
	if p == (Params{}) {
		p = DefaultParams
	}
	if p.Memory < 8*uint32(max(p.Threads, 1)) || p.Time < 1 || p.Threads < 1 || p.SaltLen < 8 || p.KeyLen < 16 ||
		p.Memory > maxMemoryKiB || p.Time > maxTime {
		return nil, fmt.Errorf("password: invalid parameters %+v", p)
	}
	return &Hasher{params: p, random: random, sem: make(chan struct{}, max(concurrency, 1))}, nil
}

// acquire waits for a hashing slot.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string of password under the current parameters:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>, salt and key
// in unpadded standard base64, as the reference implementation writes them.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.random, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.release()
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, and
// whether the hash should be replaced because it was made with other
// parameters than the current ones.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	h.verified.Add(1)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	cur := h.params
	rehash = p.Memory != cur.Memory || p.Time != cur.Time || p.Threads != cur.Threads ||
		uint32(len(salt)) != cur.SaltLen || uint32(len(want)) != cur.KeyLen
	return true, rehash, nil
}

// Burn verifies password against a hash of a random password and discards
// the result: the path of a sign-in with an unknown email, so that it costs
// what a wrong password does.
func (h *Hasher) Burn(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		secret := make([]byte, 32)
		if _, err := io.ReadFull(h.random, secret); err != nil {
			h.dummyErr = fmt.Errorf("password: dummy password: %w", err)
			return
		}
		h.dummy, h.dummyErr = h.Hash(context.WithoutCancel(ctx), base64.RawStdEncoding.EncodeToString(secret))
	})
	if h.dummyErr != nil {
		return h.dummyErr
	}
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// Verifications counts the verifications run, so that a test can check
// that two paths cost the same.
func (h *Hasher) Verifications() int64 { return h.verified.Load() }

func encodeHash(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decodeHash(s string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	for field := range strings.SplitSeq(parts[3], ",") {
		name, val, ok := strings.Cut(field, "=")
		if !ok {
			return p, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, nil, nil, ErrMalformedHash
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrMalformedHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, ErrMalformedHash
		}
	}
	if p.Memory == 0 || p.Memory > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
