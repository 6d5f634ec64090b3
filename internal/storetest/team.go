package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// The conformance tests of amp.TeamStore, run by RunDashboard.

func member(id, email, accountID string, role amp.Role, created time.Time) *amp.DashboardUser {
	u := dashUser(id, email, accountID)
	u.Role, u.CreatedAt = role, created
	return u
}

func checkToken(t *testing.T, what string, got, want *amp.DashboardToken) {
	t.Helper()
	var d diff
	eq(&d, "Hash", got.Hash, want.Hash)
	eq(&d, "Purpose", got.Purpose, want.Purpose)
	eq(&d, "AccountID", got.AccountID, want.AccountID)
	eq(&d, "Role", got.Role, want.Role)
	eq(&d, "Email", got.Email, want.Email)
	eq(&d, "UserID", got.UserID, want.UserID)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("UsedAt", got.UsedAt, want.UsedAt)
	d.check(t, what)
}

func invite(hash, accountID string, role amp.Role, created time.Time) *amp.DashboardToken {
	return &amp.DashboardToken{Hash: hash, Purpose: amp.TokenInvite, AccountID: accountID, Role: role,
		Email: "invitee@example.com", UserID: "usr_owner", CreatedAt: created, ExpiresAt: created.Add(72 * time.Hour)}
}

// teamAccount creates an account with its owner usr_owner.
func (s *dashSuite) teamAccount(t *testing.T, st DashboardBackend, id string) *amp.Account {
	t.Helper()
	a := dashAccount(id)
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(t.Context(), dashUser("usr_owner", "owner@example.com", a.ID), a))
	return a
}

// Members list oldest first, by account; removal takes a member's
// sessions with it and touches no other account's users.
func (s *dashSuite) testMembers(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	b := dashAccount("acct_team_2")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_other", "other@example.com", b.ID), b))
	// Created out of order: the list is by creation time.
	viewer := member("usr_viewer", "viewer@example.com", a.ID, amp.RoleViewer, at(2*time.Hour))
	dev := member("usr_dev", "dev@example.com", a.ID, amp.RoleDeveloper, at(time.Hour))
	noErr(t, "CreateDashboardUser viewer", st.CreateDashboardUser(ctx, viewer, nil))
	noErr(t, "CreateDashboardUser developer", st.CreateDashboardUser(ctx, dev, nil))

	got, err := st.DashboardUsers(ctx, a.ID)
	noErr(t, "DashboardUsers", err)
	if len(got) != 3 {
		t.Fatalf("DashboardUsers: %d members, want 3", len(got))
	}
	checkDashUser(t, "first member", got[0], dashUser("usr_owner", "owner@example.com", a.ID))
	checkDashUser(t, "second member", got[1], dev)
	checkDashUser(t, "third member", got[2], viewer)
	none, err := st.DashboardUsers(ctx, "acct_missing")
	noErr(t, "DashboardUsers of an unknown account", err)
	if len(none) != 0 {
		t.Errorf("DashboardUsers of an unknown account: %d members", len(none))
	}

	devSession := dashSession("hash_dev", "usr_dev", at(0))
	devSession.AccountID = a.ID
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, devSession))
	wantErr(t, "RemoveDashboardMember through another account", st.RemoveDashboardMember(ctx, b.ID, "usr_dev"), amp.ErrNotFound)
	// A member of no other account: the login goes too.
	noErr(t, "RemoveDashboardMember", st.RemoveDashboardMember(ctx, a.ID, "usr_dev"))
	_, err = st.DashboardUser(ctx, "usr_dev")
	wantErr(t, "a removed member", err, amp.ErrNotFound)
	_, err = st.DashboardSession(ctx, "hash_dev")
	wantErr(t, "the session of a removed member", err, amp.ErrNotFound)
	wantErr(t, "RemoveDashboardMember twice", st.RemoveDashboardMember(ctx, a.ID, "usr_dev"), amp.ErrNotFound)
	// The email is free again.
	noErr(t, "CreateDashboardUser with a removed member's email",
		st.CreateDashboardUser(ctx, member("usr_dev2", "dev@example.com", a.ID, amp.RoleViewer, at(3*time.Hour)), nil))
	if _, err := st.DashboardUser(ctx, "usr_other"); err != nil {
		t.Errorf("the other account's user: %v", err)
	}
}

// One login in two accounts: a membership by invitation, a role in each,
// sessions acting for one account, switching, and removal from one
// account that keeps the other.
func (s *dashSuite) testMemberships(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1") // owned by usr_owner
	b := dashAccount("acct_team_2")
	ada := dashUser("usr_ada", "ada@example.com", b.ID) // owner of b
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, ada, b))
	c := dashAccount("acct_team_3")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_cy", "cy@example.com", c.ID), c))
	sessB := dashSession("hash_ada_b", ada.ID, at(time.Minute))
	sessB.AccountID = b.ID
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, sessB))

	// ada joins a as a developer, by an invitation.
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, invite("hash_inv_ada", a.ID, amp.RoleDeveloper, at(0))))
	joined := at(time.Hour)
	join := amp.TokenUse{NewMember: &amp.DashboardMembership{AccountID: a.ID, UserID: ada.ID, Role: amp.RoleDeveloper, CreatedAt: joined}}
	noErr(t, "UseDashboardToken with a new member", st.UseDashboardToken(ctx, "hash_inv_ada", at(time.Hour), join))
	ms, err := st.DashboardMemberships(ctx, ada.ID)
	noErr(t, "DashboardMemberships", err)
	if len(ms) != 2 || ms[0].AccountID != b.ID || ms[0].Role != amp.RoleOwner || ms[1].AccountID != a.ID || ms[1].Role != amp.RoleDeveloper ||
		ms[1].UserID != ada.ID || !ms[1].CreatedAt.Equal(joined) {
		t.Fatalf("memberships after joining: %+v", ms)
	}
	// As a member of a, with a's role; by id, in the account joined last.
	members, err := st.DashboardUsers(ctx, a.ID)
	noErr(t, "DashboardUsers", err)
	if len(members) != 2 {
		t.Fatalf("a has %d members, want 2", len(members))
	}
	inA := *ada
	inA.AccountID, inA.Role, inA.JoinedAt = a.ID, amp.RoleDeveloper, joined
	checkDashUser(t, "ada as a member of a", members[1], &inA)
	got, err := st.DashboardUser(ctx, ada.ID)
	noErr(t, "DashboardUser", err)
	checkDashUser(t, "ada after joining a", got, &inA)
	if bs, _ := st.DashboardUsers(ctx, b.ID); len(bs) != 1 || bs[0].Role != amp.RoleOwner || bs[0].AccountID != b.ID {
		t.Errorf("b's members after ada joined a: %+v", bs)
	}

	// A second membership of the same account, or a second owner, is a
	// conflict that leaves the link unused; an unknown user is not found.
	for i, c := range []struct {
		m    amp.DashboardMembership
		want error
	}{
		{amp.DashboardMembership{AccountID: a.ID, UserID: ada.ID, Role: amp.RoleViewer, CreatedAt: at(2 * time.Hour)}, amp.ErrConflict},
		{amp.DashboardMembership{AccountID: c.ID, UserID: ada.ID, Role: amp.RoleOwner, CreatedAt: at(2 * time.Hour)}, amp.ErrConflict},
		{amp.DashboardMembership{AccountID: a.ID, UserID: "usr_missing", Role: amp.RoleViewer, CreatedAt: at(2 * time.Hour)}, amp.ErrNotFound},
	} {
		hash := fmt.Sprintf("hash_inv_%d", i)
		noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, invite(hash, c.m.AccountID, c.m.Role, at(0))))
		wantErr(t, "UseDashboardToken "+hash, st.UseDashboardToken(ctx, hash, at(2*time.Hour), amp.TokenUse{NewMember: &c.m}), c.want)
		tok, err := st.DashboardToken(ctx, hash)
		noErr(t, "DashboardToken", err)
		if tok.UsedAt != nil {
			t.Errorf("%s: a refused use marked the link used", hash)
		}
	}
	if ms, _ := st.DashboardMemberships(ctx, ada.ID); len(ms) != 2 {
		t.Errorf("after refused joins ada has %d memberships, want 2", len(ms))
	}

	// Roles are per account.
	noErr(t, "SetDashboardRoles in a", st.SetDashboardRoles(ctx, a.ID, map[string]amp.Role{ada.ID: amp.RoleViewer}))
	if ms, _ := st.DashboardMemberships(ctx, ada.ID); len(ms) != 2 || ms[0].Role != amp.RoleOwner || ms[1].Role != amp.RoleViewer {
		t.Errorf("a role change in a changed b's: %+v", ms)
	}

	// Switching: the session acts for a, and ada's next sessions start
	// there; an account ada is not in, or an unknown session, is not found.
	noErr(t, "SetDashboardSessionAccount", st.SetDashboardSessionAccount(ctx, sessB.TokenHash, b.ID))
	if u, _ := st.DashboardUser(ctx, ada.ID); u == nil || u.AccountID != b.ID || u.Role != amp.RoleOwner {
		t.Errorf("after switching to b, ada by id: %+v", u)
	}
	wantErr(t, "SetDashboardSessionAccount to an account of others", st.SetDashboardSessionAccount(ctx, sessB.TokenHash, c.ID), amp.ErrNotFound)
	wantErr(t, "SetDashboardSessionAccount of an unknown session", st.SetDashboardSessionAccount(ctx, "hash_missing", a.ID), amp.ErrNotFound)
	sessA := dashSession("hash_ada_a", ada.ID, at(2*time.Minute))
	sessA.AccountID = b.ID
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, sessA))
	noErr(t, "SetDashboardSessionAccount", st.SetDashboardSessionAccount(ctx, sessA.TokenHash, a.ID))
	gotSess, err := st.DashboardSession(ctx, sessA.TokenHash)
	noErr(t, "DashboardSession", err)
	wantA := *sessA
	wantA.AccountID = a.ID
	checkDashSession(t, "the switched session", gotSess, &wantA)
	if u, _ := st.DashboardUser(ctx, ada.ID); u == nil || u.AccountID != a.ID || u.Role != amp.RoleViewer {
		t.Errorf("after switching to a, ada by id: %+v", u)
	}

	// Removed from a: the session acting for a ends, the one acting for b
	// stays, and ada's next sessions start in b.
	noErr(t, "RemoveDashboardMember from a", st.RemoveDashboardMember(ctx, a.ID, ada.ID))
	_, err = st.DashboardSession(ctx, sessA.TokenHash)
	wantErr(t, "the session acting for the account left", err, amp.ErrNotFound)
	if _, err := st.DashboardSession(ctx, sessB.TokenHash); err != nil {
		t.Errorf("the session acting for the account kept: %v", err)
	}
	got, err = st.DashboardUser(ctx, ada.ID)
	noErr(t, "DashboardUser after leaving a", err)
	checkDashUser(t, "ada after leaving a", got, ada)
	if ms, _ := st.DashboardMemberships(ctx, ada.ID); len(ms) != 1 || ms[0].AccountID != b.ID {
		t.Errorf("memberships after leaving a: %+v", ms)
	}
	if as, _ := st.DashboardUsers(ctx, a.ID); len(as) != 1 || as[0].ID != "usr_owner" {
		t.Errorf("a's members after ada left: %+v", as)
	}
	// Removed from b, the last: the login goes, with every session.
	noErr(t, "RemoveDashboardMember from b", st.RemoveDashboardMember(ctx, b.ID, ada.ID))
	_, err = st.DashboardUser(ctx, ada.ID)
	wantErr(t, "a user in no account", err, amp.ErrNotFound)
	_, err = st.DashboardSession(ctx, sessB.TokenHash)
	wantErr(t, "the session of a user in no account", err, amp.ErrNotFound)
	if ms, err := st.DashboardMemberships(ctx, ada.ID); err != nil || len(ms) != 0 {
		t.Errorf("memberships of a deleted user: %+v, %v", ms, err)
	}
}

// Role changes apply to members of the account only, all or none, and
// ownership moves without ever having two owners.
func (s *dashSuite) testRoles(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	b := dashAccount("acct_team_2")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_other", "other@example.com", b.ID), b))
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, member("usr_dev", "dev@example.com", a.ID, amp.RoleDeveloper, at(time.Hour)), nil))

	role := func(id string) amp.Role {
		t.Helper()
		u, err := st.DashboardUser(ctx, id)
		noErr(t, "DashboardUser", err)
		return u.Role
	}
	noErr(t, "SetDashboardRoles", st.SetDashboardRoles(ctx, a.ID, map[string]amp.Role{"usr_dev": amp.RoleAdmin}))
	if r := role("usr_dev"); r != amp.RoleAdmin {
		t.Errorf("role after SetDashboardRoles = %q, want admin", r)
	}
	// A second owner is refused, and nothing changes.
	wantErr(t, "SetDashboardRoles to a second owner",
		st.SetDashboardRoles(ctx, a.ID, map[string]amp.Role{"usr_dev": amp.RoleOwner}), amp.ErrConflict)
	if r := role("usr_dev"); r != amp.RoleAdmin {
		t.Errorf("role after a refused change = %q, want admin", r)
	}
	// A member of another account is not found, and the batch is undone.
	wantErr(t, "SetDashboardRoles with another account's user",
		st.SetDashboardRoles(ctx, a.ID, map[string]amp.Role{"usr_dev": amp.RoleViewer, "usr_other": amp.RoleViewer}), amp.ErrNotFound)
	if r := role("usr_dev"); r != amp.RoleAdmin {
		t.Errorf("role after a refused batch = %q, want admin", r)
	}
	if r := role("usr_other"); r != amp.RoleOwner {
		t.Errorf("the other account's owner has role %q", r)
	}
	// Transfer: the owner becomes admin and the admin owner, in one call.
	noErr(t, "SetDashboardRoles transfer", st.SetDashboardRoles(ctx, a.ID, map[string]amp.Role{"usr_owner": amp.RoleAdmin, "usr_dev": amp.RoleOwner}))
	if r, r2 := role("usr_owner"), role("usr_dev"); r != amp.RoleAdmin || r2 != amp.RoleOwner {
		t.Errorf("after transfer: old owner %q, new owner %q", r, r2)
	}
}

// Links read back as stored; the list holds an account's unused links of
// one purpose; deletion is by account and purpose.
func (s *dashSuite) testTokens(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	b := s.teamAccount2(t, st)
	i1 := invite("hash_i1", a.ID, amp.RoleDeveloper, at(time.Minute))
	i1.CreatedAt = i1.CreatedAt.In(elsewhere)
	i2 := invite("hash_i2", a.ID, amp.RoleViewer, at(0))
	i2.Email = ""
	reset := &amp.DashboardToken{Hash: "hash_r", Purpose: amp.TokenReset, AccountID: a.ID, UserID: "usr_owner", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	other := invite("hash_b", b.ID, amp.RoleViewer, at(0))
	for _, tk := range []*amp.DashboardToken{i1, i2, reset, other} {
		noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, tk))
	}
	wantErr(t, "CreateDashboardToken with a taken hash", st.CreateDashboardToken(ctx, invite("hash_i1", a.ID, amp.RoleViewer, at(0))), amp.ErrConflict)
	wantErr(t, "CreateDashboardToken of an unknown account", st.CreateDashboardToken(ctx, invite("hash_x", "acct_missing", amp.RoleViewer, at(0))), amp.ErrNotFound)

	got, err := st.DashboardToken(ctx, "hash_i1")
	noErr(t, "DashboardToken", err)
	want := *i1
	want.CreatedAt = i1.CreatedAt.UTC()
	checkToken(t, "DashboardToken", got, &want)
	_, err = st.DashboardToken(ctx, "hash_missing")
	wantErr(t, "DashboardToken of an unknown hash", err, amp.ErrNotFound)

	list, err := st.DashboardTokens(ctx, a.ID, amp.TokenInvite)
	noErr(t, "DashboardTokens", err)
	if len(list) != 2 || list[0].Hash != "hash_i2" || list[1].Hash != "hash_i1" {
		t.Fatalf("DashboardTokens = %v, want hash_i2, hash_i1", tokenHashes(list))
	}
	checkToken(t, "listed invitation", list[0], i2)

	n, err := st.DeleteDashboardTokens(ctx, a.ID, amp.TokenInvite, "hash_b")
	noErr(t, "DeleteDashboardTokens of another account's link", err)
	if n != 0 {
		t.Errorf("DeleteDashboardTokens deleted another account's link")
	}
	n, err = st.DeleteDashboardTokens(ctx, a.ID, amp.TokenInvite, "hash_i1")
	noErr(t, "DeleteDashboardTokens one", err)
	if n != 1 {
		t.Errorf("DeleteDashboardTokens one deleted %d", n)
	}
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, invite("hash_i3", a.ID, amp.RoleViewer, at(0))))
	n, err = st.DeleteDashboardTokens(ctx, a.ID, amp.TokenInvite, "")
	noErr(t, "DeleteDashboardTokens all", err)
	if n != 2 {
		t.Errorf("DeleteDashboardTokens all deleted %d, want 2", n)
	}
	for _, h := range []string{"hash_r", "hash_b"} {
		if _, err := st.DashboardToken(ctx, h); err != nil {
			t.Errorf("link %s after deleting invitations: %v", h, err)
		}
	}
}

func (s *dashSuite) teamAccount2(t *testing.T, st DashboardBackend) *amp.Account {
	t.Helper()
	b := dashAccount("acct_team_2")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(t.Context(), dashUser("usr_other", "other@example.com", b.ID), b))
	return b
}

func tokenHashes(ts []*amp.DashboardToken) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Hash)
	}
	return out
}

// An invitation is used once, before it expires; a refused new user leaves
// it unused.
func (s *dashSuite) testUseInvite(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	tk := invite("hash_i", a.ID, amp.RoleDeveloper, at(0))
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, tk))

	// Email taken: refused, and the link still works.
	taken := member("usr_new", "owner@example.com", a.ID, amp.RoleDeveloper, at(time.Hour))
	wantErr(t, "UseDashboardToken with a taken email", st.UseDashboardToken(ctx, "hash_i", at(time.Hour), amp.TokenUse{NewUser: taken}), amp.ErrConflict)
	owner2 := member("usr_new", "new@example.com", a.ID, amp.RoleOwner, at(time.Hour))
	wantErr(t, "UseDashboardToken making a second owner", st.UseDashboardToken(ctx, "hash_i", at(time.Hour), amp.TokenUse{NewUser: owner2}), amp.ErrConflict)
	got, err := st.DashboardToken(ctx, "hash_i")
	noErr(t, "DashboardToken", err)
	if got.UsedAt != nil {
		t.Fatal("a refused use marked the link used")
	}
	// Expired: refused.
	nu := member("usr_new", "new@example.com", a.ID, amp.RoleDeveloper, at(time.Hour))
	wantErr(t, "UseDashboardToken at its expiry", st.UseDashboardToken(ctx, "hash_i", tk.ExpiresAt, amp.TokenUse{NewUser: nu}), amp.ErrNotFound)
	_, err = st.DashboardUser(ctx, "usr_new")
	wantErr(t, "the user of a refused use", err, amp.ErrNotFound)

	noErr(t, "UseDashboardToken", st.UseDashboardToken(ctx, "hash_i", at(time.Hour), amp.TokenUse{NewUser: nu}))
	u, err := st.DashboardUser(ctx, "usr_new")
	noErr(t, "DashboardUser", err)
	checkDashUser(t, "the invited member", u, nu)
	got, err = st.DashboardToken(ctx, "hash_i")
	noErr(t, "DashboardToken", err)
	want := *tk
	want.UsedAt = ptr(at(time.Hour))
	checkToken(t, "the used link", got, &want)
	list, err := st.DashboardTokens(ctx, a.ID, amp.TokenInvite)
	noErr(t, "DashboardTokens", err)
	if len(list) != 0 {
		t.Errorf("a used link is listed: %v", tokenHashes(list))
	}
	wantErr(t, "UseDashboardToken twice", st.UseDashboardToken(ctx, "hash_i", at(time.Hour),
		amp.TokenUse{NewUser: member("usr_new2", "new2@example.com", a.ID, amp.RoleDeveloper, at(time.Hour))}), amp.ErrNotFound)
	wantErr(t, "UseDashboardToken of an unknown link", st.UseDashboardToken(ctx, "hash_missing", at(0), amp.TokenUse{}), amp.ErrNotFound)
	n, err := st.DeleteDashboardTokens(ctx, a.ID, amp.TokenInvite, "hash_i")
	noErr(t, "DeleteDashboardTokens of a used link", err)
	if n != 0 {
		t.Error("DeleteDashboardTokens deleted a used link")
	}
}

// A reset link sets the password and ends every session of the user, with
// the link's use.
func (s *dashSuite) testUseReset(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, dashSession("hash_s1", "usr_owner", at(0))))
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, dashSession("hash_s2", "usr_owner", at(0))))
	tk := &amp.DashboardToken{Hash: "hash_r", Purpose: amp.TokenReset, AccountID: a.ID, UserID: "usr_owner", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, tk))
	bad := &amp.DashboardToken{Hash: "hash_r2", Purpose: amp.TokenReset, AccountID: a.ID, UserID: "usr_missing", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, bad))

	wantErr(t, "UseDashboardToken for an unknown user", st.UseDashboardToken(ctx, "hash_r2", at(time.Minute),
		amp.TokenUse{Password: &amp.PasswordChange{UserID: "usr_missing", Hash: "$argon2id$x", At: at(time.Minute)}}), amp.ErrNotFound)
	got, err := st.DashboardToken(ctx, "hash_r2")
	noErr(t, "DashboardToken", err)
	if got.UsedAt != nil {
		t.Error("a failed reset marked its link used")
	}

	noErr(t, "UseDashboardToken", st.UseDashboardToken(ctx, "hash_r", at(time.Minute),
		amp.TokenUse{Password: &amp.PasswordChange{UserID: "usr_owner", Hash: "$argon2id$new", At: at(time.Minute)}}))
	u, err := st.DashboardUser(ctx, "usr_owner")
	noErr(t, "DashboardUser", err)
	if u.PasswordHash != "$argon2id$new" || !u.PasswordChangedAt.Equal(at(time.Minute)) {
		t.Errorf("after reset: hash %q changed %v", u.PasswordHash, u.PasswordChangedAt)
	}
	for _, h := range []string{"hash_s1", "hash_s2"} {
		_, err := st.DashboardSession(ctx, h)
		wantErr(t, "a session after the reset", err, amp.ErrNotFound)
	}
}

// Of several concurrent uses of one link, exactly one succeeds.
func (s *dashSuite) testConcurrentUse(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	noErr(t, "CreateDashboardToken", st.CreateDashboardToken(ctx, invite("hash_i", a.ID, amp.RoleViewer, at(0))))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := member(fmt.Sprintf("usr_c%d", i), fmt.Sprintf("c%d@example.com", i), a.ID, amp.RoleViewer, at(time.Minute))
			errs[i] = st.UseDashboardToken(ctx, "hash_i", at(time.Minute), amp.TokenUse{NewUser: u})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		default:
			wantErr(t, "a losing concurrent use", err, amp.ErrNotFound)
		}
	}
	members, err := st.DashboardUsers(ctx, a.ID)
	noErr(t, "DashboardUsers", err)
	if ok != 1 || len(members) != 2 {
		t.Errorf("%d uses succeeded and the account has %d members; want 1 and 2", ok, len(members))
	}
}

// Audit events read back newest first, by account, in pages.
func (s *dashSuite) testAudit(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	var ids []int64
	for i := range 5 {
		e := &amp.AuditEvent{AccountID: "acct_a", At: at(time.Duration(i) * time.Minute).In(elsewhere), ActorID: "usr_1", ActorEmail: "ada@example.com",
			Action: amp.AuditKeyCreated, Target: fmt.Sprintf("key_%d", i), Detail: "name \"ci\""}
		noErr(t, "AppendAudit", st.AppendAudit(ctx, e))
		if len(ids) > 0 && e.ID <= ids[len(ids)-1] {
			t.Fatalf("AppendAudit ids not increasing: %d after %d", e.ID, ids[len(ids)-1])
		}
		ids = append(ids, e.ID)
		other := &amp.AuditEvent{AccountID: "acct_b", At: at(0), Action: amp.AuditPlanChanged, Target: "acct_b", Detail: "pro"}
		noErr(t, "AppendAudit", st.AppendAudit(ctx, other))
	}
	page, err := st.AuditEvents(ctx, "acct_a", 0, 3)
	noErr(t, "AuditEvents", err)
	if len(page) != 3 || page[0].ID != ids[4] || page[2].ID != ids[2] {
		t.Fatalf("first page: %d events", len(page))
	}
	e := page[0]
	var d diff
	eq(&d, "AccountID", e.AccountID, "acct_a")
	d.time("At", e.At, at(4*time.Minute))
	eq(&d, "ActorID", e.ActorID, "usr_1")
	eq(&d, "ActorEmail", e.ActorEmail, "ada@example.com")
	eq(&d, "Action", e.Action, amp.AuditKeyCreated)
	eq(&d, "Target", e.Target, "key_4")
	eq(&d, "Detail", e.Detail, "name \"ci\"")
	d.check(t, "newest event")
	next, err := st.AuditEvents(ctx, "acct_a", page[2].ID, 3)
	noErr(t, "AuditEvents next page", err)
	if len(next) != 2 || next[0].ID != ids[1] || next[1].ID != ids[0] {
		t.Fatalf("second page: %d events", len(next))
	}
	for _, e := range append(page, next...) {
		if e.AccountID != "acct_a" {
			t.Errorf("another account's event: %+v", e)
		}
	}
	none, err := st.AuditEvents(ctx, "acct_missing", 0, 10)
	noErr(t, "AuditEvents of an unknown account", err)
	if len(none) != 0 {
		t.Errorf("unknown account has %d events", len(none))
	}

	// Pruning by age, the clock being the events' times: everything
	// before the cutoff goes, of every account; the cutoff itself and
	// later stay.
	n, err := st.PruneAudit(ctx, at(2*time.Minute).In(elsewhere))
	noErr(t, "PruneAudit", err)
	if n != 2+5 { // acct_a's first two, and acct_b's five at at(0)
		t.Errorf("PruneAudit deleted %d events, want 7", n)
	}
	left, err := st.AuditEvents(ctx, "acct_a", 0, 10)
	noErr(t, "AuditEvents after pruning", err)
	if len(left) != 3 || left[2].ID != ids[2] || !left[2].At.Equal(at(2*time.Minute)) {
		t.Errorf("after pruning acct_a keeps %d events, want its 3 from the cutoff on", len(left))
	}
	if b, _ := st.AuditEvents(ctx, "acct_b", 0, 10); len(b) != 0 {
		t.Errorf("after pruning acct_b keeps %d events, want none", len(b))
	}
	if n, err := st.PruneAudit(ctx, at(2*time.Minute)); err != nil || n != 0 {
		t.Errorf("pruning again: %d, %v; want 0, nil", n, err)
	}
	// The ids go on increasing after a prune.
	e = &amp.AuditEvent{AccountID: "acct_a", At: at(time.Hour), Action: amp.AuditKeyRevoked, Target: "key_9"}
	noErr(t, "AppendAudit after pruning", st.AppendAudit(ctx, e))
	if e.ID <= ids[4] {
		t.Errorf("an event appended after pruning has id %d, not above %d", e.ID, ids[4])
	}
}

// A TOTP secret reads back with the user; steps only move forward; a
// recovery code works once; setting a secret replaces the codes; the
// account's requirement reads back.
func (s *dashSuite) testTwoFactor(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := s.teamAccount(t, st, "acct_team_1")
	noErr(t, "SetDashboardTOTP", st.SetDashboardTOTP(ctx, "usr_owner", "JBSWY3DPEHPK3PXP", []string{"h1", "h2"}))
	u, err := st.DashboardUser(ctx, "usr_owner")
	noErr(t, "DashboardUser", err)
	if u.TOTPSecret != "JBSWY3DPEHPK3PXP" || u.TOTPStep != 0 {
		t.Fatalf("after SetDashboardTOTP: secret %q step %d", u.TOTPSecret, u.TOTPStep)
	}
	wantErr(t, "SetDashboardTOTP of an unknown user", st.SetDashboardTOTP(ctx, "usr_missing", "X", nil), amp.ErrNotFound)

	noErr(t, "UseTOTPStep", st.UseTOTPStep(ctx, "usr_owner", 100))
	wantErr(t, "UseTOTPStep replayed", st.UseTOTPStep(ctx, "usr_owner", 100), amp.ErrConflict)
	wantErr(t, "UseTOTPStep earlier", st.UseTOTPStep(ctx, "usr_owner", 99), amp.ErrConflict)
	noErr(t, "UseTOTPStep later", st.UseTOTPStep(ctx, "usr_owner", 101))
	wantErr(t, "UseTOTPStep of an unknown user", st.UseTOTPStep(ctx, "usr_missing", 5), amp.ErrNotFound)
	u, err = st.DashboardUser(ctx, "usr_owner")
	noErr(t, "DashboardUser", err)
	if u.TOTPStep != 101 {
		t.Errorf("TOTPStep = %d, want 101", u.TOTPStep)
	}

	n, err := st.RecoveryCodesLeft(ctx, "usr_owner")
	noErr(t, "RecoveryCodesLeft", err)
	if n != 2 {
		t.Errorf("RecoveryCodesLeft = %d, want 2", n)
	}
	noErr(t, "UseRecoveryCode", st.UseRecoveryCode(ctx, "usr_owner", "h1", at(0)))
	wantErr(t, "UseRecoveryCode twice", st.UseRecoveryCode(ctx, "usr_owner", "h1", at(0)), amp.ErrNotFound)
	wantErr(t, "UseRecoveryCode unknown", st.UseRecoveryCode(ctx, "usr_owner", "h9", at(0)), amp.ErrNotFound)
	wantErr(t, "UseRecoveryCode of another user", st.UseRecoveryCode(ctx, "usr_other", "h2", at(0)), amp.ErrNotFound)
	if n, _ := st.RecoveryCodesLeft(ctx, "usr_owner"); n != 1 {
		t.Errorf("RecoveryCodesLeft after one use = %d, want 1", n)
	}
	// A new secret: step back to 0, new codes only.
	noErr(t, "SetDashboardTOTP again", st.SetDashboardTOTP(ctx, "usr_owner", "NEWSECRET", []string{"h3"}))
	wantErr(t, "an old code after new ones", st.UseRecoveryCode(ctx, "usr_owner", "h2", at(0)), amp.ErrNotFound)
	noErr(t, "a new code", st.UseRecoveryCode(ctx, "usr_owner", "h3", at(0)))
	noErr(t, "UseTOTPStep after a new secret", st.UseTOTPStep(ctx, "usr_owner", 1))
	// Off.
	noErr(t, "SetDashboardTOTP off", st.SetDashboardTOTP(ctx, "usr_owner", "", nil))
	if u, _ := st.DashboardUser(ctx, "usr_owner"); u.TOTPSecret != "" {
		t.Error("TOTP secret kept after turning it off")
	}

	req, err := st.TwoFactorRequired(ctx, a.ID)
	noErr(t, "TwoFactorRequired", err)
	if req {
		t.Error("a new account requires two-factor sign-in")
	}
	noErr(t, "SetTwoFactorRequired", st.SetTwoFactorRequired(ctx, a.ID, true))
	if req, _ := st.TwoFactorRequired(ctx, a.ID); !req {
		t.Error("requirement not stored")
	}
	noErr(t, "SetTwoFactorRequired off", st.SetTwoFactorRequired(ctx, a.ID, false))
	if req, _ := st.TwoFactorRequired(ctx, a.ID); req {
		t.Error("requirement not cleared")
	}
	wantErr(t, "SetTwoFactorRequired of an unknown account", st.SetTwoFactorRequired(ctx, "acct_missing", true), amp.ErrNotFound)
}
