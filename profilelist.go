package amp

import (
	"context"
	"time"
)

// ProfileSummary is one line of a tenant's profile list.
type ProfileSummary struct {
	UserID       string
	OutcomeCount int
	CreatedAt    time.Time
	UpdatedAt    time.Time // last seen: the latest decision, outcome or change
}

// ProfileListQuery selects a page of a tenant's profiles, most recently
// seen first (UpdatedAt, then UserID, both descending).
type ProfileListQuery struct {
	// Prefix keeps the user ids that start with it ("" for all).
	Prefix string
	// AfterUpdated and AfterUserID continue after the last entry of the
	// previous page; zero for the first page.
	AfterUpdated time.Time
	AfterUserID  string
	Limit        int // at most MaxProfilePage
}

// MaxProfilePage bounds one page of the profile list.
const MaxProfilePage = 100

// ProfileLister lists a tenant's profiles. Backends that implement it pass
// storetest.RunProfileList.
type ProfileLister interface {
	ListProfiles(ctx context.Context, t Tenant, q ProfileListQuery) ([]*ProfileSummary, error)
}
