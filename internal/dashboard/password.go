package dashboard

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id parameters of new password hashes.
// Existing hashes keep the parameters they were made with (they are part of
// the stored string) and are rehashed with the current ones at the next
// successful sign-in.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultPasswordParams follow the OWASP Password Storage Cheat Sheet's
// first argon2id configuration: 19 MiB, 2 passes, 1 thread, which costs
// roughly 20–40 ms of one core. AMP is self-hosted on small machines, so a
// cheaper-per-login setting that still makes each guess cost 19 MiB of
// memory-hard work is the right trade; deployments with spare memory can
// raise Memory (RFC 9106's second recommendation is 64 MiB, 3 passes).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password length bounds, in bytes. The minimum sits between OWASP's 8 and
// NIST SP 800-63B-4's 15 for single-factor passwords; the maximum only
// bounds the work of hashing.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// Bounds of the parameters accepted from a stored hash, so that a corrupt
// or hostile row cannot make one verification allocate without limit.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
)

var errBadHash = errors.New("dashboard: malformed password hash")

// hasher hashes and verifies passwords. At most cap(sem) hashes run at
// once: each one holds Memory KiB, and a burst of sign-ins must queue, not
// exhaust the machine's memory.
type hasher struct {
	params PasswordParams
	random io.Reader
	sem    chan struct{}
	// dummy is a hash of a random password, verified when an email is
	// unknown so that the answer takes as long as for a wrong password.
	dummy string
	// verified counts argon2id verifications, so that tests can check that
	// the unknown-email path pays for one as the wrong-password path does.
	verified atomic.Int64
}

func newHasher(p PasswordParams, random io.Reader, concurrency int) (*hasher, error) {
	if p.Memory < 8*uint32(max(p.Threads, 1)) || p.Time < 1 || p.Threads < 1 || p.SaltLen < 8 || p.KeyLen < 16 ||
		p.Memory > maxMemoryKiB || p.Time > maxTime {
		return nil, fmt.Errorf("dashboard: invalid password parameters %+v", p)
	}
	h := &hasher{params: p, random: random, sem: make(chan struct{}, max(concurrency, 1))}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("dashboard: dummy password: %w", err)
	}
	dummy, err := h.hash(context.Background(), base64.RawStdEncoding.EncodeToString(secret))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// acquire waits for a hashing slot.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC string of password under the current parameters:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>, salt and key
// in unpadded standard base64, as the reference implementation writes them.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.random, salt); err != nil {
		return "", fmt.Errorf("dashboard: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.release()
	return encodeHash(h.params, salt, key), nil
}

// verify reports whether password matches the PHC string encoded, and
// whether the hash should be replaced because it was made with other
// parameters than the current ones.
func (h *hasher) verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
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

// burn verifies password against the dummy hash and discards the result: the
// unknown-email path of sign-in, so that it costs what a wrong password does.
func (h *hasher) burn(ctx context.Context, password string) error {
	_, _, err := h.verify(ctx, h.dummy, password)
	return err
}

func encodeHash(p PasswordParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decodeHash(s string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	for field := range strings.SplitSeq(parts[3], ",") {
		name, val, ok := strings.Cut(field, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	if p.Memory == 0 || p.Memory > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
