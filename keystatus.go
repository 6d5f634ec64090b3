package amp

import "time"

// KeyStatus is where an API key stands at a moment: the one rule that
// authentication, rolling, the CLI's and the dashboard's key lists share.
type KeyStatus string

const (
	// KeyActive keys work and have no end.
	KeyActive KeyStatus = "active"
	// KeyExpiring keys work until their ExpiresAt: keys created with a
	// lifetime, and rolled keys in their grace period (rolling sets the
	// old key's ExpiresAt to the end of the grace).
	KeyExpiring KeyStatus = "expiring"
	// KeyExpired keys have reached their ExpiresAt, which is the first
	// moment they no longer work; they answer KEY_EXPIRED.
	KeyExpired KeyStatus = "expired"
	// KeyRevoked keys were revoked, whatever their expiry; they answer
	// UNAUTHORIZED.
	KeyRevoked KeyStatus = "revoked"
	// KeyQuarantined keys were reported leaked and set aside until their
	// owner restores or rolls them; they answer KEY_QUARANTINED.
	KeyQuarantined KeyStatus = "quarantined"
)

// Status returns the key's status at now. Revocation wins over
// quarantine, and quarantine over expiry.
func (k *APIKey) Status(now time.Time) KeyStatus {
	switch {
	case k.RevokedAt != nil:
		return KeyRevoked
	case k.Quarantined():
		return KeyQuarantined
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return KeyExpired
	case k.ExpiresAt != nil:
		return KeyExpiring
	}
	return KeyActive
}

// Usable reports whether a key of this status authenticates requests.
func (s KeyStatus) Usable() bool { return s == KeyActive || s == KeyExpiring }
