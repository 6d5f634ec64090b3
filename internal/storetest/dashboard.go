package storetest

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// DashboardBackend is what RunDashboard tests: the dashboard's store beside
// the accounts its users own.
type DashboardBackend interface {
	amp.AccountStore
	amp.DashboardStore
}

// RunDashboard runs the conformance suite of amp.DashboardStore as subtests
// of t. open must return a new, open store on an empty database each time.
// A store that implements io.Closer is closed by the suite at the end of the
// subtest that opened it.
//
//	func TestDashboardStore(t *testing.T) {
//		storetest.RunDashboard(t, func(t *testing.T) storetest.DashboardBackend {
//			return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
//		})
//	}
func RunDashboard(t *testing.T, open func(t *testing.T) DashboardBackend) {
	s := &dashSuite{open: open}
	t.Run("DashboardUsers", s.testUsers)
	t.Run("DashboardUserConflicts", s.testUserConflicts)
	t.Run("DashboardPassword", s.testPassword)
	t.Run("DashboardSessions", s.testSessions)
	t.Run("DashboardSessionsOfUser", s.testSessionsOfUser)
	t.Run("DashboardExpiredSessions", s.testExpiredSessions)
	t.Run("DashboardConcurrentSessions", s.testConcurrentSessions)
	t.Run("TeamMembers", s.testMembers)
	t.Run("TeamMemberships", s.testMemberships)
	t.Run("TeamRoles", s.testRoles)
	t.Run("TeamTokens", s.testTokens)
	t.Run("TeamUseInvite", s.testUseInvite)
	t.Run("TeamUseReset", s.testUseReset)
	t.Run("TeamConcurrentUse", s.testConcurrentUse)
	t.Run("TeamAudit", s.testAudit)
	t.Run("TwoFactor", s.testTwoFactor)
	t.Run("DashboardTextRule", s.testTextRule)
}

type dashSuite struct {
	open func(t *testing.T) DashboardBackend
}

func (s *dashSuite) store(t *testing.T) DashboardBackend {
	t.Helper()
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	if c, ok := st.(io.Closer); ok {
		var once sync.Once
		t.Cleanup(func() {
			once.Do(func() {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		})
	}
	return st
}

func dashAccount(id string) *amp.Account {
	return &amp.Account{ID: id, Name: "Account " + id, Plan: amp.PlanStarter, CreatedAt: at(-time.Hour)}
}

func dashUser(id, email, accountID string) *amp.DashboardUser {
	return &amp.DashboardUser{
		ID:                id,
		Email:             email,
		PasswordHash:      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		AccountID:         accountID,
		Role:              amp.RoleOwner,
		CreatedAt:         at(0),
		PasswordChangedAt: at(time.Second),
	}
}

func dashSession(hash, userID string, created time.Time) *amp.DashboardSession {
	return &amp.DashboardSession{TokenHash: hash, UserID: userID, CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(7 * 24 * time.Hour)}
}

func checkDashUser(t *testing.T, what string, got, want *amp.DashboardUser) {
	t.Helper()
	var d diff
	eq(&d, "ID", got.ID, want.ID)
	eq(&d, "Email", got.Email, want.Email)
	eq(&d, "PasswordHash", got.PasswordHash, want.PasswordHash)
	eq(&d, "AccountID", got.AccountID, want.AccountID)
	eq(&d, "Role", got.Role, want.Role)
	joined := want.JoinedAt
	if joined.IsZero() {
		// A user's first membership is as old as the user.
		joined = want.CreatedAt
	}
	d.time("JoinedAt", got.JoinedAt, joined)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("PasswordChangedAt", got.PasswordChangedAt, want.PasswordChangedAt)
	eq(&d, "TOTPSecret", got.TOTPSecret, want.TOTPSecret)
	eq(&d, "TOTPStep", got.TOTPStep, want.TOTPStep)
	d.check(t, what)
}

func checkDashSession(t *testing.T, what string, got, want *amp.DashboardSession) {
	t.Helper()
	var d diff
	eq(&d, "TokenHash", got.TokenHash, want.TokenHash)
	eq(&d, "UserID", got.UserID, want.UserID)
	eq(&d, "AccountID", got.AccountID, want.AccountID)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.check(t, what)
}

// A user created with its account reads back by id and by email, and the
// account exists; a user can also be given an existing account.
func (s *dashSuite) testUsers(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	u := dashUser("usr_1", "ada@example.com", a.ID)
	// A time in another zone comes back as the same instant in UTC.
	u.CreatedAt = u.CreatedAt.In(elsewhere)
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, u, a))
	want := *u
	want.CreatedAt = u.CreatedAt.UTC()

	got, err := st.DashboardUser(ctx, "usr_1")
	noErr(t, "DashboardUser", err)
	checkDashUser(t, "DashboardUser", got, &want)
	got, err = st.DashboardUserByEmail(ctx, "ada@example.com")
	noErr(t, "DashboardUserByEmail", err)
	checkDashUser(t, "DashboardUserByEmail", got, &want)
	acct, err := st.Account(ctx, a.ID)
	noErr(t, "Account", err)
	checkAccount(t, "account created with the user", acct, a)

	// An existing account.
	b := dashAccount("acct_dash_2")
	noErr(t, "CreateAccount", st.CreateAccount(ctx, b))
	u2 := dashUser("usr_2", "grace@example.com", b.ID)
	noErr(t, "CreateDashboardUser with an existing account", st.CreateDashboardUser(ctx, u2, nil))
	got, err = st.DashboardUserByEmail(ctx, "grace@example.com")
	noErr(t, "DashboardUserByEmail", err)
	checkDashUser(t, "user of an existing account", got, u2)

	_, err = st.DashboardUser(ctx, "usr_missing")
	wantErr(t, "DashboardUser of an unknown id", err, amp.ErrNotFound)
	_, err = st.DashboardUserByEmail(ctx, "nobody@example.com")
	wantErr(t, "DashboardUserByEmail of an unknown email", err, amp.ErrNotFound)
	// Emails are stored as given (the dashboard normalises them): a lookup
	// is exact.
	_, err = st.DashboardUserByEmail(ctx, "ADA@example.com")
	wantErr(t, "DashboardUserByEmail with another case", err, amp.ErrNotFound)
}

// A taken email, user id or account is a conflict, and a failed sign-up
// leaves no account behind.
func (s *dashSuite) testUserConflicts(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_1", "ada@example.com", a.ID), a))

	b := dashAccount("acct_dash_2")
	err := st.CreateDashboardUser(ctx, dashUser("usr_2", "ada@example.com", b.ID), b)
	wantErr(t, "CreateDashboardUser with a taken email", err, amp.ErrConflict)
	_, err = st.Account(ctx, b.ID)
	wantErr(t, "the account of a refused sign-up", err, amp.ErrNotFound)

	err = st.CreateDashboardUser(ctx, dashUser("usr_1", "other@example.com", b.ID), b)
	wantErr(t, "CreateDashboardUser with a taken id", err, amp.ErrConflict)
	_, err = st.Account(ctx, b.ID)
	wantErr(t, "the account of a refused sign-up", err, amp.ErrNotFound)

	err = st.CreateDashboardUser(ctx, dashUser("usr_3", "third@example.com", a.ID), nil)
	wantErr(t, "a second owner of one account", err, amp.ErrConflict)
	dev := dashUser("usr_3", "third@example.com", a.ID)
	dev.Role = amp.RoleDeveloper
	noErr(t, "a developer beside the owner", st.CreateDashboardUser(ctx, dev, nil))

	err = st.CreateDashboardUser(ctx, dashUser("usr_4", "fourth@example.com", a.ID), dashAccount(a.ID))
	wantErr(t, "CreateDashboardUser with a taken account id", err, amp.ErrConflict)

	err = st.CreateDashboardUser(ctx, dashUser("usr_5", "fifth@example.com", "acct_missing"), nil)
	wantErr(t, "CreateDashboardUser of an unknown account", err, amp.ErrNotFound)
	_, err = st.DashboardUserByEmail(ctx, "fifth@example.com")
	wantErr(t, "the refused user", err, amp.ErrNotFound)

	// The first user is intact.
	got, err := st.DashboardUser(ctx, "usr_1")
	noErr(t, "DashboardUser", err)
	checkDashUser(t, "the first user", got, dashUser("usr_1", "ada@example.com", a.ID))
}

func (s *dashSuite) testPassword(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	u := dashUser("usr_1", "ada@example.com", a.ID)
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, u, a))
	noErr(t, "SetDashboardPassword", st.SetDashboardPassword(ctx, "usr_1", "$argon2id$new", at(time.Hour)))
	got, err := st.DashboardUser(ctx, "usr_1")
	noErr(t, "DashboardUser", err)
	want := *u
	want.PasswordHash, want.PasswordChangedAt = "$argon2id$new", at(time.Hour)
	checkDashUser(t, "user after SetDashboardPassword", got, &want)
	wantErr(t, "SetDashboardPassword of an unknown user",
		st.SetDashboardPassword(ctx, "usr_missing", "x", at(time.Hour)), amp.ErrNotFound)
}

func (s *dashSuite) testSessions(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_1", "ada@example.com", a.ID), a))

	sess := dashSession("hash_1", "usr_1", at(0))
	sess.AccountID = a.ID
	noErr(t, "CreateDashboardSession", st.CreateDashboardSession(ctx, sess))
	got, err := st.DashboardSession(ctx, "hash_1")
	noErr(t, "DashboardSession", err)
	checkDashSession(t, "DashboardSession", got, sess)

	wantErr(t, "CreateDashboardSession with a taken hash",
		st.CreateDashboardSession(ctx, dashSession("hash_1", "usr_1", at(time.Minute))), amp.ErrConflict)
	wantErr(t, "CreateDashboardSession of an unknown user",
		st.CreateDashboardSession(ctx, dashSession("hash_2", "usr_missing", at(0))), amp.ErrNotFound)
	_, err = st.DashboardSession(ctx, "hash_2")
	wantErr(t, "the refused session", err, amp.ErrNotFound)

	// Touch moves LastSeenAt forward only.
	noErr(t, "TouchDashboardSession", st.TouchDashboardSession(ctx, "hash_1", at(10*time.Minute)))
	noErr(t, "TouchDashboardSession earlier", st.TouchDashboardSession(ctx, "hash_1", at(5*time.Minute)))
	got, err = st.DashboardSession(ctx, "hash_1")
	noErr(t, "DashboardSession", err)
	want := *sess
	want.LastSeenAt = at(10 * time.Minute)
	checkDashSession(t, "session after touches", got, &want)
	noErr(t, "TouchDashboardSession of a missing session", st.TouchDashboardSession(ctx, "hash_missing", at(0)))

	noErr(t, "DeleteDashboardSession", st.DeleteDashboardSession(ctx, "hash_1"))
	_, err = st.DashboardSession(ctx, "hash_1")
	wantErr(t, "a deleted session", err, amp.ErrNotFound)
	noErr(t, "DeleteDashboardSession of a missing session", st.DeleteDashboardSession(ctx, "hash_1"))
}

// DeleteDashboardSessions ends the sessions of one user only, keeping the
// one asked for.
func (s *dashSuite) testSessionsOfUser(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a, b := dashAccount("acct_dash_1"), dashAccount("acct_dash_2")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_1", "ada@example.com", a.ID), a))
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_2", "grace@example.com", b.ID), b))
	for _, sess := range []*amp.DashboardSession{
		dashSession("a1", "usr_1", at(0)), dashSession("a2", "usr_1", at(time.Minute)), dashSession("a3", "usr_1", at(2*time.Minute)),
		dashSession("b1", "usr_2", at(0)),
	} {
		noErr(t, "CreateDashboardSession "+sess.TokenHash, st.CreateDashboardSession(ctx, sess))
	}
	n, err := st.DeleteDashboardSessions(ctx, "usr_1", "a2")
	noErr(t, "DeleteDashboardSessions", err)
	if n != 2 {
		t.Errorf("DeleteDashboardSessions ended %d sessions, want 2", n)
	}
	for hash, live := range map[string]bool{"a1": false, "a2": true, "a3": false, "b1": true} {
		_, err := st.DashboardSession(ctx, hash)
		if live {
			noErr(t, "session "+hash, err)
		} else {
			wantErr(t, "session "+hash, err, amp.ErrNotFound)
		}
	}
	n, err = st.DeleteDashboardSessions(ctx, "usr_1", "")
	noErr(t, "DeleteDashboardSessions keeping none", err)
	if n != 1 {
		t.Errorf("DeleteDashboardSessions keeping none ended %d sessions, want 1", n)
	}
	_, err = st.DashboardSession(ctx, "b1")
	noErr(t, "the other user's session", err)
}

// DeleteExpiredDashboardSessions removes sessions past their end or idle
// since idleBefore, at the boundaries included, and no others.
func (s *dashSuite) testExpiredSessions(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_1", "ada@example.com", a.ID), a))
	now := at(30 * 24 * time.Hour)
	idleBefore := now.Add(-12 * time.Hour)
	sessions := map[string]struct {
		seen, expires time.Time
		removed       bool
	}{
		"fresh":       {now.Add(-time.Minute), now.Add(time.Hour), false},
		"ended":       {now.Add(-time.Minute), now.Add(-time.Second), true},
		"ends-now":    {now.Add(-time.Minute), now, true},
		"idle":        {idleBefore.Add(-time.Second), now.Add(time.Hour), true},
		"idle-edge":   {idleBefore, now.Add(time.Hour), true},
		"barely-seen": {idleBefore.Add(time.Millisecond), now.Add(time.Hour), false},
	}
	for hash, v := range sessions {
		noErr(t, "CreateDashboardSession "+hash, st.CreateDashboardSession(ctx, &amp.DashboardSession{
			TokenHash: hash, UserID: "usr_1", CreatedAt: at(0), LastSeenAt: v.seen, ExpiresAt: v.expires,
		}))
	}
	n, err := st.DeleteExpiredDashboardSessions(ctx, now, idleBefore)
	noErr(t, "DeleteExpiredDashboardSessions", err)
	if n != 4 {
		t.Errorf("DeleteExpiredDashboardSessions removed %d sessions, want 4", n)
	}
	for hash, v := range sessions {
		_, err := st.DashboardSession(ctx, hash)
		if v.removed {
			wantErr(t, "session "+hash, err, amp.ErrNotFound)
		} else {
			noErr(t, "session "+hash, err)
		}
	}
}

// Sessions created and read from many goroutines at once all arrive.
func (s *dashSuite) testConcurrentSessions(t *testing.T) {
	ctx := t.Context()
	st := s.store(t)
	a := dashAccount("acct_dash_1")
	noErr(t, "CreateDashboardUser", st.CreateDashboardUser(ctx, dashUser("usr_1", "ada@example.com", a.ID), a))
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			hash := "h" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			if err := st.CreateDashboardSession(ctx, dashSession(hash, "usr_1", at(time.Duration(i)*time.Second))); err != nil {
				errs <- err
				return
			}
			if _, err := st.DashboardSession(ctx, hash); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent session: %v", err)
	}
	deleted, err := st.DeleteDashboardSessions(ctx, "usr_1", "")
	noErr(t, "DeleteDashboardSessions", err)
	if deleted != n {
		t.Errorf("DeleteDashboardSessions ended %d sessions, want %d", deleted, n)
	}
}
