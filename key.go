package amp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"
)

// API key format (docs/api.md#keys): "amp_sk_" + mode + "_" + 24 random base62
// characters + a 6-character base62 CRC32 of everything before it. The
// checksum lets the server refuse a mistyped key before any storage lookup
// and lets a secret scanner validate a found key offline, as GitHub's token
// format does.
const (
	keyPrefix        = "amp_sk_"
	keyRandomChars   = 24
	keyChecksumChars = 6
	base62Alphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// KeyLen is the length of every valid test or live key.
const KeyLen = len(keyPrefix) + len("live_") + keyRandomChars + keyChecksumChars

// ErrMalformedKey is returned by ParseKey for anything that is not a
// well-formed AMP secret key with a valid checksum.
var ErrMalformedKey = errors.New("malformed API key")

// NewKey returns a new secret key for mode, drawing 24 base62 characters
// (about 143 bits) from random, which must be a cryptographic source.
func NewKey(random io.Reader, mode Mode) (string, error) {
	if !mode.Valid() {
		return "", fmt.Errorf("new key: invalid mode %q", mode)
	}
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(keyPrefix)
	b.WriteString(string(mode))
	b.WriteByte('_')
	if err := writeRandomBase62(&b, random, keyRandomChars); err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	b.WriteString(checksum(b.String()))
	return b.String(), nil
}

// RandomID returns prefix followed by n random base62 characters from random.
func RandomID(random io.Reader, prefix string, n int) (string, error) {
	var b strings.Builder
	b.Grow(len(prefix) + n)
	b.WriteString(prefix)
	if err := writeRandomBase62(&b, random, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// TimeOrderedID returns prefix, then t's Unix milliseconds as 8 base62
// digits, then n-8 random base62 characters. Ids made later sort after
// those made earlier (the alphabet is in ASCII order, and 8 digits last
// until the year 8900), so a B-tree indexed by them grows at its right
// edge: a batch of inserts dirties one leaf page, not one per id, which is
// most of what a commit costs. n must exceed 8, and the random part should
// hold enough to make ids unguessable (16 characters: 95 bits).
func TimeOrderedID(random io.Reader, prefix string, t time.Time, n int) (string, error) {
	if n <= 8 {
		return "", fmt.Errorf("time-ordered id of %d characters: want more than 8", n)
	}
	var b strings.Builder
	b.Grow(len(prefix) + n)
	b.WriteString(prefix)
	ms := uint64(max(t.UnixMilli(), 0))
	var digits [8]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = base62Alphabet[ms%62]
		ms /= 62
	}
	b.Write(digits[:])
	if err := writeRandomBase62(&b, random, n-len(digits)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeRandomBase62 writes n uniformly random base62 characters, rejecting
// bytes >= 248 so that every character is equally likely.
func writeRandomBase62(b *strings.Builder, random io.Reader, n int) error {
	buf := make([]byte, n+n/2)
	for n > 0 {
		if _, err := io.ReadFull(random, buf); err != nil {
			return err
		}
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			b.WriteByte(base62Alphabet[c%62])
			if n--; n == 0 {
				break
			}
		}
	}
	return nil
}

// ParseKey checks the format and checksum of key and returns its mode. It
// touches no storage, so it is safe to run on any input before a lookup.
func ParseKey(key string) (Mode, error) {
	if len(key) != KeyLen || !strings.HasPrefix(key, keyPrefix) {
		return "", ErrMalformedKey
	}
	var mode Mode
	switch rest := key[len(keyPrefix):]; {
	case strings.HasPrefix(rest, "live_"):
		mode = ModeLive
	case strings.HasPrefix(rest, "test_"):
		mode = ModeTest
	default:
		return "", ErrMalformedKey
	}
	body := key[len(keyPrefix)+len("live_"):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62Alphabet, body[i]) < 0 {
			return "", ErrMalformedKey
		}
	}
	split := len(key) - keyChecksumChars
	if checksum(key[:split]) != key[split:] {
		return "", ErrMalformedKey
	}
	return mode, nil
}

// checksum is the 6-character, zero-padded base62 CRC32 (IEEE) of s.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var out [keyChecksumChars]byte
	for i := keyChecksumChars - 1; i >= 0; i-- {
		out[i] = base62Alphabet[v%62]
		v /= 62
	}
	return string(out[:])
}

// HashKey returns the hex SHA-256 of key: the only form in which a key is
// stored. Keys carry about 143 random bits, so a fast hash suffices; a slow
// password hash would only add latency to every request.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// MaskKey returns the display form of a key: its mode prefix, an ellipsis
// and the last 4 characters ("amp_sk_live_…Ab3x").
func MaskKey(mode Mode, last4 string) string {
	return keyPrefix + string(mode) + "_…" + last4
}
