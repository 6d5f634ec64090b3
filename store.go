package amp

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Tenant is one account's partition in one mode. Every learning row is
// keyed by a tenant, and every store method that takes one must neither read
// nor reveal rows of another tenant.
type Tenant struct {
	AccountID string
	Mode      Mode
}

// Account owns keys and data. DefaultAccountName is created on first start.
type Account struct {
	ID             string
	Name           string
	Plan           Plan
	CustomRate     int // requests/second for an enterprise account; 0 = plan default
	HoldoutPercent int // 0–100: share of users who get the population default only
	CreatedAt      time.Time
}

// DefaultAccountName is the name of the account created on an empty database.
const DefaultAccountName = "default"

// APIKey is the stored form of a key: never the key itself, only its hash.
type APIKey struct {
	ID         string
	AccountID  string
	Mode       Mode
	Name       string
	Hash       string // HashKey of the full key
	Last4      string
	Scopes     []Scope
	RateLimit  int // the key's own requests/second; 0 = the plan's
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// QuarantinedAt is set while the key is held back because it may have
	// leaked (a secret scanner found it): it is refused with
	// KEY_QUARANTINED until its owner restores it. QuarantineReason says
	// why, for the owner; it is never a secret. QuarantineURL is where a
	// secret scanner found the key, when one reported it ("" otherwise).
	QuarantinedAt    *time.Time
	QuarantineReason string
	QuarantineURL    string
	// RolledFrom is the id of the key this one replaced when it was made
	// by a roll, and RolledTo the id of the key that replaced this one:
	// the link between the two keys of a roll, which share a name ("" when
	// there is none). A rolled key is not rolled again.
	RolledFrom string
	RolledTo   string
}

// Quarantined reports whether the key is held back by a quarantine.
func (k *APIKey) Quarantined() bool { return k.QuarantinedAt != nil }

// Masked is the display form of the key.
func (k *APIKey) Masked() string { return MaskKey(k.Mode, k.Last4) }

// HasScope reports whether the key carries scope s.
func (k *APIKey) HasScope(s Scope) bool { return slices.Contains(k.Scopes, s) }

// Tenant is the partition the key reads and writes.
func (k *APIKey) Tenant() Tenant { return Tenant{AccountID: k.AccountID, Mode: k.Mode} }

// Preferences are the preferences set manually through PUT /v1/profile.
// Empty fields were never set.
type Preferences struct {
	Framing       Framing       `json:"preferredFraming,omitempty"`
	Style         Style         `json:"communicationStyle,omitempty"`
	Handling      Handling      `json:"complexityPreference,omitempty"`
	Encouragement Encouragement `json:"encouragementLevel,omitempty"`
	SetAt         time.Time     `json:"setAt"`
}

// ProfileRecord is the stored state of one user in one tenant.
type ProfileRecord struct {
	Tenant
	UserID       string
	Model        []byte // the learner's state; opaque to storage
	Manual       *Preferences
	Metadata     json.RawMessage
	OutcomeCount int // outcomes reported: the profile's interactionCount (docs/api.md#profiles-and-phases)
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PopulationRecord is the learner's state for everything a tenant's users
// have taught: the prior of new users.
type PopulationRecord struct {
	Tenant
	Model     []byte
	UpdatedAt time.Time
}

// Decision is one logged /v1/context answer, with the probability with which
// the policy chose it, so that other policies can be evaluated offline.
type Decision struct {
	RequestID string
	Tenant
	UserID         string
	TaskType       string
	TaskComplexity TaskComplexity
	Recommendation Recommendation
	Propensity     float64 // probability of Recommendation under the policy that chose it
	Explored       bool
	Holdout        bool
	Confidence     float64
	Interactions   int // the user's outcome count when the decision was made
	CreatedAt      time.Time
}

// OutcomeRecord is one stored outcome.
type OutcomeRecord struct {
	RequestID string
	Tenant
	UserID       string
	Started      bool
	Completed    *bool
	TimeToStart  *float64
	FlowState    *bool
	Satisfaction *float64
	Metadata     json.RawMessage
	Reward       float64 // the learning signal the learner derived from it
	ReportedAt   time.Time
}

// LoggedDecision is a decision with its outcome, if one was reported.
type LoggedDecision struct {
	Decision
	Outcome *OutcomeRecord
}

// ProfileStats are aggregates of a user's stored outcomes.
type ProfileStats struct {
	Outcomes        int
	Completed       int
	WithTimeToStart int
	SumTimeToStart  float64
	FlowStates      int
	ByTaskType      map[string]OutcomeCounts // outcomes whose decision had that taskType
	ByHour          [24]OutcomeCounts        // by UTC hour of the decision
}

// OutcomeCounts counts outcomes and completions.
type OutcomeCounts struct {
	Outcomes  int
	Completed int
}

// OutcomeFunc decides what to store for an outcome. It gets the logged
// decision, whether an outcome was already stored for it, the user's
// profile, which it may change, and the tenant's population as last folded
// (see LearningStore.FoldPopulation), which it only reads. It returns the
// outcome and what the outcome teaches the population: a delta that a later
// FoldPopulation hands to its PopulationMergeFunc (nil: nothing).
//
// Concurrency: the store may run it outside its transaction, on the
// caller's goroutine, and more than once for one outcome: when the profile
// changed between the read it was given and the write of its result, the
// store discards the result and runs it again on the new profile. So it
// must have no effect beyond its results and p. Returning an error stores
// nothing.
type OutcomeFunc func(d *Decision, alreadyReported bool, p *ProfileRecord, pop *PopulationRecord) (o *OutcomeRecord, populationDelta []byte, err error)

// PopulationMergeFunc folds deltas, oldest first, into pop, which it
// changes, inside FoldPopulation's transaction. Returning an error stores
// nothing and leaves the deltas pending.
type PopulationMergeFunc func(pop *PopulationRecord, deltas [][]byte) error

// Store is what a storage backend provides: every role the server needs,
// so that no caller has to ask a store what it can do. Every backend passes
// the conformance suites in internal/storetest (Run, RunUsage,
// RunDashboard). Methods return ErrNotFound, ErrConflict or ErrUnavailable
// (wrapped) for those conditions.
type Store interface {
	AccountStore
	KeyStore
	LearningStore
	UsageStore
	QuotaStore
	DashboardStore
	WebhookStore
	RequestLogStore
	ProfileLister
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store; pending writes are finished first.
	Close() error
}

// AccountStore persists accounts.
type AccountStore interface {
	CreateAccount(ctx context.Context, a *Account) error // ErrConflict if the id exists
	Account(ctx context.Context, id string) (*Account, error)
	Accounts(ctx context.Context) ([]*Account, error) // oldest first
	UpdateAccount(ctx context.Context, a *Account) error
}

// KeyStore persists API keys by hash.
type KeyStore interface {
	CreateKey(ctx context.Context, k *APIKey) error // ErrConflict if id or hash exists
	KeyByHash(ctx context.Context, hash string) (*APIKey, error)
	Key(ctx context.Context, id string) (*APIKey, error)
	Keys(ctx context.Context, accountID string) ([]*APIKey, error) // oldest first
	// UpdateKey stores a key's name, scopes, rate limit, expiry, revocation
	// and quarantine.
	UpdateKey(ctx context.Context, k *APIKey) error
	// RollKey stores, in one transaction, the new key next (whose
	// RolledFrom is old.ID) and old's new expiry (old.ExpiresAt, the end of
	// its grace period) with old.RolledTo = next.ID; old's other fields are
	// not written. ErrConflict if next's id or hash exists or old is
	// revoked or already rolled; ErrNotFound if old or next's account does
	// not exist. On any error nothing is stored: a roll never leaves two
	// keys without an end, nor one key with two replacements.
	RollKey(ctx context.Context, old, next *APIKey) error
	// TouchKey sets a key's last-used time if at is later than the stored one.
	TouchKey(ctx context.Context, id string, at time.Time) error
}

// LearningStore persists profiles, the population, decisions and outcomes.
type LearningStore interface {
	// Profile returns the user's profile, or ErrNotFound.
	Profile(ctx context.Context, t Tenant, userID string) (*ProfileRecord, error)
	// Population returns the tenant's population state; a tenant with none
	// gets a record with a nil Model. It reflects this store's own
	// FoldPopulation at once, and a fold by another process sharing the
	// database within a second.
	Population(ctx context.Context, t Tenant) (*PopulationRecord, error)
	// SaveDecision durably logs d. When newProfile is not nil and the user
	// has no profile yet, it is created in the same transaction.
	SaveDecision(ctx context.Context, d *Decision, newProfile *ProfileRecord) error
	// RecordOutcome runs apply on the decision requestID of tenant t and
	// stores, in one transaction, the outcome it returns, the profile it
	// changed and its population delta, queued for FoldPopulation; the
	// population row itself is not written, so outcomes of one tenant do
	// not wait for each other. Outcomes of one user are serialised: the
	// profile apply changed is stored only if no other write changed it
	// since apply read it (otherwise apply runs again), so none is counted
	// twice or lost. ErrNotFound if t has no such decision; ErrConflict if
	// an outcome was stored concurrently. It returns only once the outcome
	// is durable.
	RecordOutcome(ctx context.Context, t Tenant, requestID string, apply OutcomeFunc) (*OutcomeRecord, error)
	// PendingPopulations returns up to limit tenants that have population
	// deltas waiting to be folded.
	PendingPopulations(ctx context.Context, limit int) ([]Tenant, error)
	// FoldPopulation hands t's population and up to limit of its pending
	// deltas, oldest first, to merge, then stores the population merge left
	// and deletes exactly the deltas it was given, in one transaction. It
	// returns how many deltas it folded: 0, without calling merge, when t
	// has none or when another FoldPopulation (of this process or another)
	// is folding t's population at that moment; it does not wait for it.
	FoldPopulation(ctx context.Context, t Tenant, limit int, merge PopulationMergeFunc) (int, error)
	// PopulationLog returns the population delta of every stored outcome of
	// t that has one, in the order they were queued for folding as far as
	// the backend knows it (exactly, on a single writer), and how many of
	// them are still pending: the outcome log from which t's population
	// can be rebuilt.
	PopulationLog(ctx context.Context, t Tenant) (deltas [][]byte, pending int, err error)
	// UpdateProfile runs apply on the user's profile (a new one, with
	// created true, if absent) and stores the result in one transaction.
	UpdateProfile(ctx context.Context, t Tenant, userID string, apply func(p *ProfileRecord, created bool) error) (*ProfileRecord, error)
	// DeleteProfile erases the user's profile, outcomes and decisions.
	// ErrNotFound if the user has no profile.
	DeleteProfile(ctx context.Context, t Tenant, userID string) error
	// ProfileStats aggregates the user's stored outcomes.
	ProfileStats(ctx context.Context, t Tenant, userID string) (*ProfileStats, error)
	// Outcomes returns up to limit of the user's outcomes, newest first.
	Outcomes(ctx context.Context, t Tenant, userID string, limit int) ([]*OutcomeRecord, error)
	// Decisions returns up to limit decisions of t made at or after since,
	// oldest first, each with its outcome if any.
	Decisions(ctx context.Context, t Tenant, since time.Time, limit int) ([]*LoggedDecision, error)
	// ResetTestData erases every test-mode profile, decision, outcome,
	// population and pending population delta of every account, and returns how many profiles it erased.
	ResetTestData(ctx context.Context) (int64, error)
	// Setting and SetSetting keep small service state, such as the month of
	// the last test-mode reset. Setting returns "" for an unset name.
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}
