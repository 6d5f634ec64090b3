package storetest

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// ProfileListBackend is what RunProfileList tests.
type ProfileListBackend interface {
	amp.Store
	amp.ProfileLister
}

// RunProfileList runs the conformance suite of amp.ProfileLister as
// subtests of t. open must return a new, open store on an empty database
// each time; it is closed at the end of the subtest.
func RunProfileList(t *testing.T, open func(t *testing.T) ProfileListBackend) {
	t.Run("ProfileList", func(t *testing.T) {
		st := open(t)
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { _ = io.Closer(st).Close() }) })
		testProfileList(t, st)
	})
}

func testProfileList(t *testing.T, st ProfileListBackend) {
	ctx := t.Context()
	tn := amp.Tenant{AccountID: "acct_a", Mode: amp.ModeTest}
	// user-00 … user-11, last seen in an order unlike their ids; two
	// share a last-seen time, which the user id orders.
	seen := []int{5, 3, 9, 1, 7, 7, 11, 0, 2, 10, 4, 8}
	for i, s := range seen {
		id := fmt.Sprintf("user-%02d", i)
		if i >= 10 {
			id = fmt.Sprintf("vip-%02d", i)
		}
		mustSave(t, st, newDecision(tn, "req_"+id, id, at(0)), newProfile(tn, id, at(0)))
		_, err := st.UpdateProfile(ctx, tn, id, func(p *amp.ProfileRecord, created bool) error {
			p.UpdatedAt = at(time.Duration(s) * time.Minute)
			return nil
		})
		noErr(t, "UpdateProfile", err)
	}
	// Another tenant's profile, which no page may show.
	other := amp.Tenant{AccountID: "acct_a", Mode: amp.ModeLive}
	mustSave(t, st, newDecision(other, "req_x", "user-99", at(0)), newProfile(other, "user-99", at(0)))

	ids := func(ps []*amp.ProfileSummary) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.UserID)
		}
		return fmt.Sprint(s)
	}
	page, err := st.ListProfiles(ctx, tn, amp.ProfileListQuery{Limit: 4})
	noErr(t, "ListProfiles", err)
	if got, want := ids(page), "[user-06 user-09 user-02 vip-11]"; got != want {
		t.Fatalf("first page %s, want %s", got, want)
	}
	if !page[0].UpdatedAt.Equal(at(11*time.Minute)) || page[0].OutcomeCount != 0 || !page[0].CreatedAt.Equal(at(0)) {
		t.Errorf("first entry %+v", page[0])
	}
	last := page[len(page)-1]
	page, err = st.ListProfiles(ctx, tn, amp.ProfileListQuery{Limit: 4, AfterUpdated: last.UpdatedAt, AfterUserID: last.UserID})
	noErr(t, "ListProfiles next", err)
	if got, want := ids(page), "[user-05 user-04 user-00 vip-10]"; got != want {
		t.Fatalf("second page %s, want %s", got, want)
	}
	page, err = st.ListProfiles(ctx, tn, amp.ProfileListQuery{Prefix: "vip", Limit: 10})
	noErr(t, "ListProfiles by prefix", err)
	if got, want := ids(page), "[vip-11 vip-10]"; got != want {
		t.Errorf("prefix vip: %s, want %s", got, want)
	}
	page, err = st.ListProfiles(ctx, tn, amp.ProfileListQuery{Prefix: "user-0", Limit: 3})
	noErr(t, "ListProfiles by prefix", err)
	if got, want := ids(page), "[user-06 user-09 user-02]"; got != want {
		t.Errorf("prefix user-0: %s, want %s", got, want)
	}
	for _, pre := range []string{"nobody", "user-99", "%", "_ser"} {
		page, err = st.ListProfiles(ctx, tn, amp.ProfileListQuery{Prefix: pre, Limit: 10})
		noErr(t, "ListProfiles", err)
		if len(page) != 0 {
			t.Errorf("prefix %q: %s", pre, ids(page))
		}
	}
}
