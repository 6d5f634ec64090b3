package amp

import "time"

// KeyStatus is where an API key stands at a moment: the one rule that
// authentication, rolling, the CLI's and the dashboard's key lists share.
type KeyStatus string

const (
	// KeyActive keys work and have no end.
	KeyActive KeyStatus = "active"
	// KeyExpiring keys work until their ExpiresAt: keys created with a
	// lifetime.
	KeyExpiring KeyStatus = "expiring"
	// KeyRolled keys were replaced by a roll and work until the end of
	// their grace period (rolling sets the old key's ExpiresAt to it);
	// they cannot be rolled again.
	KeyRolled KeyStatus = "rolled"
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
	case k.RolledTo != "" && k.ExpiresAt != nil:
		return KeyRolled
	case k.ExpiresAt != nil:
		return KeyExpiring
	}
	return KeyActive
}

// Usable reports whether a key of this status authenticates requests.
func (s KeyStatus) Usable() bool { return s == KeyActive || s == KeyExpiring || s == KeyRolled }

// Rollable reports whether a key of this status can be rolled: a usable
// key not rolled already (its replacement is what to roll).
func (s KeyStatus) Rollable() bool { return s == KeyActive || s == KeyExpiring }
