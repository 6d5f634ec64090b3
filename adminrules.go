package amp

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The rules of administration input: key names, scopes, rates and
// lifetimes, account names, emails and passwords. Each rule is written
// once, here; the service applies it for every front end (the CLI, the
// dashboard and any future API), and the front ends show its message
// as it is, so that one input is refused with one message everywhere.

// Bounds of administration input.
const (
	MaxKeyNameBytes     = 100
	MaxAccountNameBytes = 100
	MaxKeyLifetime      = 10 * 365 * 24 * time.Hour
	MaxRollGrace        = 7 * 24 * time.Hour
	MaxEmailBytes       = 254 // RFC 5321's limit on a path
	// MinPasswordLen sits between OWASP's 8 and NIST SP 800-63B-4's 15
	// for single-factor passwords; MaxPasswordBytes only bounds the work
	// of hashing.
	MinPasswordLen   = 12
	MaxPasswordBytes = 1024
)

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// NormalizeName trims the spaces around a key or account name.
func NormalizeName(s string) string { return strings.TrimSpace(s) }

// PrintableName returns s with every control character and invalid byte
// replaced by U+FFFD: the form in which a name stored before names were
// checked is printed, or carried over to a rolled key.
func PrintableName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// ValidateMode checks a mode.
func ValidateMode(m Mode) error {
	if !m.Valid() {
		return invalidField("mode", "mode must be test or live.")
	}
	return nil
}

// ValidateKeyName checks a key's name, already normalised: at most
// MaxKeyNameBytes of valid UTF-8 without control characters (a name is
// printed by `amp keys list` and shown in the dashboard). A key may be
// unnamed.
func ValidateKeyName(name string) error {
	if len(name) > MaxKeyNameBytes || !printable(name) {
		return invalidField("name", fmt.Sprintf("A key name must be at most %d bytes of text, without control characters.", MaxKeyNameBytes))
	}
	return nil
}

// ValidateScopes checks that every scope is known. An empty list is valid:
// it means every scope.
func ValidateScopes(scopes []Scope) error {
	for _, sc := range scopes {
		if !sc.Valid() {
			return invalidField("scopes", fmt.Sprintf("Unknown scope %q; scopes are context, outcome, profiles:read, profiles:write.", truncateRunes(string(sc), 40)))
		}
	}
	return nil
}

// ValidateKeyRateLimit checks a key's own rate limit against the rate of
// its account's plan, planRate (Plan.Rate): 0 leaves the plan's rate; a
// key's limit can only lower it, never raise it.
func ValidateKeyRateLimit(rate, planRate int) error {
	if rate < 0 || rate > planRate {
		return invalidField("rateLimit", fmt.Sprintf(
			"A key's rate limit must be a whole number of requests per second from 1 to the plan's %d, or none for the plan's rate.", planRate))
	}
	return nil
}

// ValidateKeyExpiry checks a key's lifetime: 0 for a key that never
// expires, else positive and at most MaxKeyLifetime.
func ValidateKeyExpiry(d time.Duration) error {
	if d < 0 || d > MaxKeyLifetime {
		return invalidField("expiresIn", "A key's expiry must be in the future and at most 10 years away.")
	}
	return nil
}

// ValidateRollGrace checks how long a rolled key keeps working: from 0
// (it stops now) to MaxRollGrace.
func ValidateRollGrace(d time.Duration) error {
	if d < 0 || d > MaxRollGrace {
		return invalidField("grace", "The grace period must be between 0 and 7 days.")
	}
	return nil
}

// ValidateAccountName checks an account's name, already normalised:
// present, at most MaxAccountNameBytes of valid UTF-8, without control
// characters.
func ValidateAccountName(name string) error {
	if name == "" || len(name) > MaxAccountNameBytes || !printable(name) {
		return invalidField("name", fmt.Sprintf("An account name is required: at most %d bytes of text, without control characters.", MaxAccountNameBytes))
	}
	return nil
}

// ValidateHoldout checks an account's holdout: the whole percentage of
// its users, from 0 to 100, who get the population's default only.
func ValidateHoldout(percent int) error {
	if percent < 0 || percent > 100 {
		return invalidField("holdoutPercent", "The holdout must be a whole percentage between 0 and 100.")
	}
	return nil
}

// NormalizeEmail trims and lower-cases an email. Lower-casing the local
// part is not strictly RFC 5321, but no mail provider in use distinguishes
// case, and two users differing only by case would be a trap.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks the shape of a normalised email: one address of at
// most MaxEmailBytes, no display name, a dotted domain.
func ValidateEmail(email string) error {
	bad := invalidField("email", "Enter a valid email address.")
	if email == "" || len(email) > MaxEmailBytes || !printable(email) {
		return bad
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return bad
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return bad
	}
	return nil
}

// ValidatePassword checks a new password: at least MinPasswordLen
// characters, at most MaxPasswordBytes, valid UTF-8 without control
// characters.
func ValidatePassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return invalidField("password", "The password must be valid text.")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return invalidField("password", fmt.Sprintf("Choose a password of at least %d characters.", MinPasswordLen))
	case len(pw) > MaxPasswordBytes:
		return invalidField("password", fmt.Sprintf("Choose a password of at most %d bytes.", MaxPasswordBytes))
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		return invalidField("password", "The password must not contain control characters.")
	}
	return nil
}

// truncateRunes shortens s to at most n runes, for quoting input back.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}
