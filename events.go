package amp

import (
	"encoding/json"
	"regexp"
	"time"
)

// Event is the JSON body of every webhook delivery. Data's schema depends
// on Type (the *Data types below); the catalogue is docs/webhooks.md. ID
// is the same on every delivery and retry of the event, so that a
// receiver can drop duplicates.
type Event struct {
	ID        string          `json:"id"`
	Type      EventType       `json:"type"`
	Created   time.Time       `json:"created"`
	AccountID string          `json:"accountId"`
	Mode      Mode            `json:"mode"`
	Data      json.RawMessage `json:"data"`
}

// EventKey names the key an event is about, never the key itself.
type EventKey struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	MaskedKey string `json:"maskedKey"`
}

// LeakSource is what raised a key.leak_suspected event.
type LeakSource string

const (
	LeakBurst      LeakSource = "burst"       // a minute far above the key's usual pace
	LeakNewCountry LeakSource = "new_country" // traffic from a country the key had never used
	LeakScanner    LeakSource = "scanner"     // a secret scanner found the key in public
)

// LeakAction is what AMP did about a leak, and an account's setting for
// keys a scanner finds.
type LeakAction string

const (
	LeakActionNone       LeakAction = "none"
	LeakActionQuarantine LeakAction = "quarantine"
	LeakActionRevoke     LeakAction = "revoke"
)

// KeyLeakSuspectedData is the data of key.leak_suspected.
type KeyLeakSuspectedData struct {
	Key     EventKey   `json:"key"`
	Source  LeakSource `json:"source"`
	Reasons []string   `json:"reasons"`
	Country string     `json:"country,omitempty"` // new_country: ISO 3166-1 alpha-2
	URL     string     `json:"url,omitempty"`     // scanner: where the key was found
	Action  LeakAction `json:"action"`            // what AMP did: none for usage signals
}

// KeyQuarantinedData is the data of key.quarantined.
type KeyQuarantinedData struct {
	Key           EventKey  `json:"key"`
	Reason        string    `json:"reason"`
	QuarantinedAt time.Time `json:"quarantinedAt"`
}

// KeyExpiringData is the data of key.expiring, sent 7 days before expiry.
type KeyExpiringData struct {
	Key       EventKey  `json:"key"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// KeyRotationDueData is the data of key.rotation_due.
type KeyRotationDueData struct {
	Key             EventKey  `json:"key"`
	CreatedAt       time.Time `json:"createdAt"`
	AgeDays         int       `json:"ageDays"`
	RotationAgeDays int       `json:"rotationAgeDays"`
}

// QuotaThresholdData is the data of quota.threshold.
type QuotaThresholdData struct {
	Month     string `json:"month"`     // "2026-03", UTC
	Threshold int    `json:"threshold"` // 80, 95 or 100 (percent)
	Used      int64  `json:"used"`
	Quota     int64  `json:"quota"`
}

// RateLimitSustainedData is the data of rate_limit.sustained.
type RateLimitSustainedData struct {
	Key          EventKey  `json:"key"`
	LimitedSince time.Time `json:"limitedSince"`
	Minutes      int       `json:"minutes"`
}

// ErasedCounts count what an erasure removed.
type ErasedCounts struct {
	Profiles     int `json:"profiles"`
	Outcomes     int `json:"outcomes"`
	Interactions int `json:"interactions"` // the profile's outcome count, as GET /v1/profile reported it
}

// ProfileDeletedData is the data of profile.deleted: the erasure receipt.
type ProfileDeletedData struct {
	UserID    string       `json:"userId"`
	Mode      Mode         `json:"mode"`
	DeletedAt time.Time    `json:"deletedAt"`
	Erased    ErasedCounts `json:"erased"`
}

// WebhookTestData is the data of webhook.test.
type WebhookTestData struct {
	EndpointID string `json:"endpointId"`
	Message    string `json:"message"`
}

// FoundToken is one element of a secret scanner's alert: the body of
// POST /v1/secret-scanning/github is a JSON array of them.
type FoundToken struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// TokenLabel is the verdict on a found token.
type TokenLabel string

const (
	TruePositive  TokenLabel = "true_positive"
	FalsePositive TokenLabel = "false_positive"
)

// TokenFeedback is one element of the answer to a scanner's alert, in
// GitHub's feedback format: the token by its SHA-256 (hex), never raw.
type TokenFeedback struct {
	TokenHash string     `json:"token_hash"`
	TokenType string     `json:"token_type"`
	Label     TokenLabel `json:"label"`
}

// KeyPattern matches AMP secret keys in text, for secret scanners: the
// prefix, the mode, 24 random and 6 checksum base62 characters, not
// glued to other word characters. A match is a key only if ParseKey
// accepts it (the checksum), which a scanner can check offline.
var KeyPattern = regexp.MustCompile(`\bamp_sk_(?:live|test)_[0-9A-Za-z]{30}\b`)
