// Package totp is two-factor sign-in by time-based one-time passwords
// (RFC 6238: 6 digits, 30-second steps, HMAC-SHA1, as authenticator apps
// expect), on github.com/pquerna/otp. Verify returns the time step a code
// matched, so that the caller can refuse a code of a step already used: a
// code seen once cannot sign in again within its window.
package totp

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"image/png"
	"io"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Period is the length of one time step.
const Period = 30 * time.Second

// skew is how many steps before and after now a code is accepted, for
// clocks a little apart.
const skew = 1

var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Key is a new secret and the otpauth:// URL that authenticator apps read.
type Key struct {
	Secret string // base32, no padding
	URL    string
	// QR is the URL as a QR code, a 200×200 PNG.
	QR []byte
}

// Generate returns a new 160-bit secret for account (the user's email) of
// issuer, drawn from random.
func Generate(random io.Reader, issuer, account string) (*Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Rand: random,
		Period: opts.Period, Digits: opts.Digits, Algorithm: opts.Algorithm})
	if err != nil {
		return nil, err
	}
	img, err := k.Image(200, 200)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &Key{Secret: k.Secret(), URL: k.URL(), QR: buf.Bytes()}, nil
}

// Step is the time step of t.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code of secret at t (for tests and for showing).
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, opts)
}

// ErrBadCode is Verify's answer for a code that matches no step near now.
var ErrBadCode = errors.New("totp: code does not match")

// Verify checks a 6-digit code against secret at now, one step either
// side, and returns the step it matched.
func Verify(secret, code string, now time.Time) (int64, error) {
	if len(code) != 6 {
		return 0, ErrBadCode
	}
	cur := Step(now)
	for d := int64(-skew); d <= skew; d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*int64(Period/time.Second), 0), opts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, nil
		}
	}
	return 0, ErrBadCode
}
