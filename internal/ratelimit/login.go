package ratelimit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"time"
)

// LoginThrottle is the sign-in throttle: it slows a password guesser
// without locking the account's owner out. Only failed attempts spend, from
// token buckets that refill continuously, so every refusal is a wait
// (Retry-After), never a lockout. Which buckets an attempt draws on depends
// on what is known of it:
//
//   - An attempt carrying a device token for the email (a browser that
//     signed in to it before, see Succeed) spends only from that device's
//     own budget. No failure elsewhere (another address, the same address
//     behind a NAT, a botnet spread over thousands) touches it: the owner's
//     usual browser always gets its DeviceBurst tries.
//   - Any other attempt spends from the budget of its (email, address) pair,
//     from its address's budget over all emails, and from the email's budget
//     over all addresses. The pair's is small, so one address guessing at
//     one account is slowed to PairRefill; the owner elsewhere has a pair of
//     their own. The address's stops one client trying many accounts; the
//     email's, large, stops a guesser spread over many addresses: only such
//     a guesser can slow the owner on a browser never used before, and only
//     for as long as it keeps spending.
//
// Emails and addresses are kept as fixed-size hashes, so memory per budget
// is bounded whatever a client types, and each set holds at most maxKeys
// budgets (see Failures). The budgets live in this process: behind N
// instances a guesser gets N times them (guessing stays slow: see
// docs/security.md).
type LoginThrottle struct {
	key    []byte // signs device tokens
	random io.Reader
	pair   *Failures
	ip     *Failures
	email  *Failures
	device *Failures
}

// The budgets: Burst failures at once, then one more every Refill.
const (
	PairBurst    = 5
	PairRefill   = time.Minute
	IPBurst      = 30
	IPRefill     = 6 * time.Second
	EmailBurst   = 50
	EmailRefill  = 20 * time.Second
	DeviceBurst  = 10
	DeviceRefill = time.Minute

	loginMaxKeys = 100_000
)

// NewLoginThrottle returns a throttle whose device tokens are signed with
// key: give every instance of a deployment the same key, kept across
// restarts, or tokens from elsewhere are not recognised (their attempts
// then count as from an unknown browser). random makes token ids; nil
// means crypto/rand. An empty key is replaced by a random one.
func NewLoginThrottle(key []byte, random io.Reader) *LoginThrottle {
	if random == nil {
		random = rand.Reader
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := io.ReadFull(random, key); err != nil {
			panic("ratelimit: no randomness for the device-token key: " + err.Error())
		}
	}
	return &LoginThrottle{
		key: key, random: random,
		pair:   NewFailures(PairRefill, PairBurst, loginMaxKeys),
		ip:     NewFailures(IPRefill, IPBurst, loginMaxKeys),
		email:  NewFailures(EmailRefill, EmailBurst, loginMaxKeys),
		device: NewFailures(DeviceRefill, DeviceBurst, loginMaxKeys),
	}
}

// LoginAttempt is one sign-in attempt: the email typed (normalised by the
// caller), the client's address, and the device token its browser sent
// ("" if none). Email may be "" for attempts limited per address only (a
// sign-up).
type LoginAttempt struct {
	Email, IP, Device string
}

// Wait returns how long until the attempt may be made: 0 if now.
func (l *LoginThrottle) Wait(a LoginAttempt, now time.Time) time.Duration {
	if id, ok := l.deviceID(a); ok {
		return l.device.Wait(id, now)
	}
	w := l.ip.Wait(digest("ip", a.IP), now)
	if a.Email != "" {
		w = max(w, l.pair.Wait(digest("pair", a.Email, a.IP), now), l.email.Wait(digest("email", a.Email), now))
	}
	return w
}

// Fail records a failed attempt.
func (l *LoginThrottle) Fail(a LoginAttempt, now time.Time) {
	if id, ok := l.deviceID(a); ok {
		l.device.Fail(id, now)
		return
	}
	l.ip.Fail(digest("ip", a.IP), now)
	if a.Email != "" {
		l.pair.Fail(digest("pair", a.Email, a.IP), now)
		l.email.Fail(digest("email", a.Email), now)
	}
}

// Succeed records a correct password and returns the device token to give
// the browser (as a long-lived cookie): its later attempts for this email
// draw on a budget of their own. The pair's and device's failures are
// forgotten; the address's and the email's stay, so that an attacker
// cannot refill them by signing in to an account of its own.
func (l *LoginThrottle) Succeed(a LoginAttempt, now time.Time) (deviceToken string) {
	id, ok := l.deviceID(a)
	if ok {
		l.device.Forget(id)
	} else {
		l.pair.Forget(digest("pair", a.Email, a.IP))
		raw := make([]byte, 16)
		if _, err := io.ReadFull(l.random, raw); err != nil {
			return ""
		}
		id = string(raw)
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte(id), l.mac(id, a.Email)...))
}

// deviceID returns the id of the attempt's device token when the token is
// one this throttle signed for the attempt's email.
func (l *LoginThrottle) deviceID(a LoginAttempt) (string, bool) {
	if a.Device == "" || a.Email == "" || len(a.Device) > 64 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(a.Device)
	if err != nil || len(b) != 32 {
		return "", false
	}
	id := string(b[:16])
	if !hmac.Equal(b[16:], l.mac(id, a.Email)) {
		return "", false
	}
	return id, true
}

// mac binds a device id to an email: a token from one account's sign-in
// gives nothing to attempts on another.
func (l *LoginThrottle) mac(id, email string) []byte {
	m := hmac.New(sha256.New, l.key)
	io.WriteString(m, id)
	io.WriteString(m, "\x00")
	io.WriteString(m, email)
	return m.Sum(nil)[:16]
}

// digest is a fixed-size key of parts, so that a budget's memory does not
// depend on what a client typed.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return string(h.Sum(nil)[:16])
}
