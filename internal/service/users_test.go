package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

const goodPassword = "correct horse battery staple"

// usersFixture is a service that keeps dashboard users, with cheap hashes.
type usersFixture struct {
	svc   *service.Service
	db    *sqlite.DB
	clock *testclock.Clock
}

func newUsersFixture(t *testing.T, signup bool) *usersFixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testclock.New(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	svc, err := service.New(service.Config{Store: db, Learner: fixedLearner{}, Now: clock.Now, Seed: 1,
		Users: db, AllowSignup: signup, Passwords: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	return &usersFixture{svc: svc, db: db, clock: clock}
}

func TestSignUpSignInSessions(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, true)
	s, err := f.svc.SignUp(ctx, service.SignUp{Email: " Ada@Example.com ", Password: goodPassword, AccountName: " Engines ", ClientIP: "203.0.113.1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.User.Email != "ada@example.com" || s.Account().Name != "Engines" || s.Account().Plan != amp.PlanStarter ||
		s.Membership.Role != amp.RoleOwner || !service.ValidToken(s.Token) {
		t.Fatalf("sign-up session: user %+v, membership %+v", s.User, s.Membership)
	}
	if strings.Contains(s.User.PasswordHash, goodPassword) || !strings.HasPrefix(s.User.PasswordHash, "$argon2id$") {
		t.Errorf("stored password hash %q", s.User.PasswordHash)
	}
	got, err := f.svc.Session(ctx, s.Token)
	if err != nil || got.User.ID != s.User.ID || got.Account().ID != s.Account().ID {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
		if _, err := f.svc.Session(ctx, bad); !errors.Is(err, service.ErrNoSession) {
			t.Errorf("Session(%q) = %v, want ErrNoSession", bad, err)
		}
	}

	// Signing in again replaces the browser's session.
	s2, err := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ADA@example.com", Password: goodPassword, ClientIP: "203.0.113.1", Replaces: s.Token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Session(ctx, s.Token); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("the replaced session lives on: %v", err)
	}
	// An unknown email and a wrong password: one answer.
	_, unknown := f.svc.SignIn(ctx, service.SignInAttempt{Email: "nobody@example.com", Password: goodPassword, ClientIP: "203.0.113.2"})
	_, wrong := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: "not the password", ClientIP: "203.0.113.2"})
	if amp.ErrorCode(unknown) != amp.CodeUnauthorized || unknown.Error() != wrong.Error() {
		t.Errorf("unknown email: %v; wrong password: %v", unknown, wrong)
	}

	// A password change ends every session and starts a new one.
	other, err := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: goodPassword, ClientIP: "203.0.113.3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(ctx, s2, "not the password", "a brand new passphrase", "203.0.113.1"); amp.ErrorMessage(err) != "The current password is incorrect." {
		t.Errorf("a wrong current password: %v", err)
	}
	if _, err := f.svc.ChangePassword(ctx, s2, goodPassword, "short", "203.0.113.1"); amp.ErrorCode(err) != amp.CodeInvalidRequest {
		t.Errorf("a short new password: %v", err)
	}
	f.clock.Advance(time.Second)
	fresh, err := f.svc.ChangePassword(ctx, s2, goodPassword, "a brand new passphrase", "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []*service.Session{s2, other} {
		if _, err := f.svc.Session(ctx, old.Token); !errors.Is(err, service.ErrNoSession) {
			t.Errorf("a session from before the password change lives on: %v", err)
		}
	}
	if _, err := f.svc.Session(ctx, fresh.Token); err != nil {
		t.Errorf("the new session: %v", err)
	}

	// Idle and absolute timeouts.
	idle, lifetime := f.svc.SessionTimeouts()
	f.clock.Advance(idle)
	if _, err := f.svc.Session(ctx, fresh.Token); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("an idle session lives on: %v", err)
	}
	s3, _ := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: "a brand new passphrase", ClientIP: "203.0.113.1"})
	for range lifetime / (idle / 2) {
		f.clock.Advance(idle / 2)
		if _, err := f.svc.Session(ctx, s3.Token); err != nil {
			break
		}
	}
	if _, err := f.svc.Session(ctx, s3.Token); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("a session past its lifetime lives on: %v", err)
	}

	// End other sessions, sign out.
	a, _ := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: "a brand new passphrase", ClientIP: "203.0.113.1"})
	b, _ := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: "a brand new passphrase", ClientIP: "203.0.113.1"})
	if n, err := f.svc.EndOtherSessions(ctx, a); err != nil || n < 1 {
		t.Errorf("EndOtherSessions = %d, %v", n, err)
	}
	if _, err := f.svc.Session(ctx, b.Token); !errors.Is(err, service.ErrNoSession) {
		t.Error("another session survived EndOtherSessions")
	}
	if err := f.svc.SignOut(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Session(ctx, a.Token); !errors.Is(err, service.ErrNoSession) {
		t.Error("a signed-out session lives on")
	}
}

func TestSignUpRules(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, true)
	if _, err := f.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword, ClientIP: "ip"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  service.SignUp
		msg  string
	}{
		{"BadEmail", service.SignUp{Email: "not-an-email", Password: goodPassword}, "Enter a valid email address."},
		{"ShortPassword", service.SignUp{Email: "b@example.com", Password: "short"}, "Choose a password of at least 12 characters."},
		{"AccountName", service.SignUp{Email: "b@example.com", Password: goodPassword, AccountName: "a\x07b"}, "An account name is required: at most 100 bytes of text, without control characters."},
		{"TakenEmail", service.SignUp{Email: "ADA@example.com", Password: goodPassword}, service.MsgSignupRefused},
	} {
		_, err := f.svc.SignUp(ctx, tc.req)
		if amp.ErrorCode(err) != amp.CodeInvalidRequest || amp.ErrorMessage(err) != tc.msg {
			t.Errorf("%s: %v, want INVALID_REQUEST %q", tc.name, err, tc.msg)
		}
	}
	closed := newUsersFixture(t, false)
	if _, err := closed.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword}); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Errorf("a closed sign-up: %v", err)
	}
	// The operator adds users instead, by the same rules.
	acct, err := closed.svc.CreateAccount(ctx, "default", amp.PlanStarter, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := closed.svc.AddUser(ctx, service.NewUser{Email: "Ops@Example.com", Password: goodPassword, AccountID: acct.ID})
	if err != nil || u.AccountID != acct.ID || u.Email != "ops@example.com" {
		t.Fatalf("AddUser = %+v, %v", u, err)
	}
	if _, err := closed.svc.AddUser(ctx, service.NewUser{Email: "two@example.com", Password: goodPassword, AccountID: acct.ID}); !errors.Is(err, amp.ErrConflict) {
		t.Errorf("a second user of one account: %v", err)
	}
	if _, err := closed.svc.AddUser(ctx, service.NewUser{Email: "x@example.com", Password: goodPassword, AccountID: "acct_nope"}); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Errorf("an unknown account: %v", err)
	}
	if _, err := closed.svc.AddUser(ctx, service.NewUser{Email: "x@example.com", Password: "short"}); amp.ErrorMessage(err) != "Choose a password of at least 12 characters." {
		t.Errorf("a short password: %v", err)
	}
	if _, err := closed.svc.SignIn(ctx, service.SignInAttempt{Email: "ops@example.com", Password: goodPassword, ClientIP: "ip"}); err != nil {
		t.Errorf("the added user cannot sign in: %v", err)
	}
}

// TestSignInThrottle: guesses slow down the address that makes them, never
// the owner elsewhere; a browser holding the device token of an earlier
// sign-in is spared even a guesser spread over many addresses, and is held
// only to its own mistakes.
func TestSignInThrottle(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, true)
	if _, err := f.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword, ClientIP: "ip0"}); err != nil {
		t.Fatal(err)
	}
	signIn := func(password, ip, device string) (*service.Session, error) {
		return f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: password, ClientIP: ip, Device: device})
	}
	wantThrottled := func(what string, err error) {
		t.Helper()
		if amp.ErrorCode(err) != amp.CodeRateLimitExceeded || amp.ErrorDetails(err)["retryAfter"] == nil {
			t.Fatalf("%s: got %v, want RATE_LIMIT_EXCEEDED with retryAfter", what, err)
		}
	}

	for i := range ratelimit.PairBurst {
		if _, err := signIn("wrong password!!", "ip1", ""); amp.ErrorCode(err) != amp.CodeUnauthorized {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, err := signIn(goodPassword, "ip1", "")
	wantThrottled("the guessing address past its budget", err)
	// The owner at another address is not slowed by that address.
	owner, err := signIn(goodPassword, "ip2", "")
	if err != nil {
		t.Fatalf("the owner elsewhere: %v", err)
	}
	if owner.DeviceToken == "" {
		t.Fatal("a sign-in gave no device token")
	}
	f.clock.Advance(ratelimit.PairRefill)
	if _, err := signIn(goodPassword, "ip1", ""); err != nil {
		t.Errorf("after the refill: %v", err)
	}

	// A guesser spread over many addresses drains the email's budget: a
	// new browser must wait, the owner's known browser does not, even at
	// one of the guesser's addresses.
	for i := range ratelimit.EmailBurst + 10 {
		signIn("wrong password!!", fmt.Sprintf("198.51.100.%d", i), "")
	}
	_, err = signIn(goodPassword, "ip3", "")
	wantThrottled("a new browser past the email's budget", err)
	again, err := signIn(goodPassword, "198.51.100.7", owner.DeviceToken)
	if err != nil {
		t.Fatalf("the owner's known browser under a spread-out flood: %v", err)
	}
	// A device token is for its email only, and a mangled one is no token.
	for _, device := range []string{again.DeviceToken[:len(again.DeviceToken)-2] + "AA", "not a token"} {
		_, err = signIn(goodPassword, "ip3", device)
		wantThrottled("a forged device token", err)
	}
	if _, err := f.svc.SignUp(ctx, service.SignUp{Email: "bob@example.com", Password: goodPassword, ClientIP: "ip9"}); err != nil {
		t.Fatal(err)
	}
	for range ratelimit.PairBurst {
		f.svc.SignIn(ctx, service.SignInAttempt{Email: "bob@example.com", Password: "wrong password!!", ClientIP: "ip4", Device: again.DeviceToken})
	}
	_, err = f.svc.SignIn(ctx, service.SignInAttempt{Email: "bob@example.com", Password: goodPassword, ClientIP: "ip4", Device: again.DeviceToken})
	wantThrottled("another email's device token", err)

	// The known browser's own mistakes count against its own budget.
	for range ratelimit.DeviceBurst {
		if _, err := signIn("wrong password!!", "ip2", again.DeviceToken); amp.ErrorCode(err) != amp.CodeUnauthorized {
			t.Fatalf("a known browser's mistake: %v", err)
		}
	}
	_, err = signIn(goodPassword, "ip2", again.DeviceToken)
	wantThrottled("the known browser past its own budget", err)
}

// TestChangePasswordThrottled: the current-password check of a session
// spends from the sign-in budgets, so a stolen session is no way to guess
// the password.
func TestChangePasswordThrottled(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, true)
	s, err := f.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword, ClientIP: "ip0"})
	if err != nil {
		t.Fatal(err)
	}
	for range ratelimit.PairBurst {
		if _, err := f.svc.ChangePassword(ctx, s, "wrong password!!", "a brand new passphrase", "ip1"); amp.ErrorCode(err) != amp.CodeInvalidRequest {
			t.Fatalf("wrong current password: %v", err)
		}
	}
	if _, err := f.svc.ChangePassword(ctx, s, goodPassword, "a brand new passphrase", "ip1"); amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Fatalf("past the budget: %v, want RATE_LIMIT_EXCEEDED", err)
	}
	if _, err := f.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: goodPassword, ClientIP: "ip1"}); amp.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Fatalf("sign-in from the same address after the failed checks: %v, want RATE_LIMIT_EXCEEDED", err)
	}
}

// Usage reports keep to the tenant: another account's key, or a key of the
// other mode, is NOT_FOUND.
func TestUsageReportsKeepToTheTenant(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := service.New(service.Config{Store: db, Learner: fixedLearner{}, Usage: db})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := svc.CreateAccount(ctx, "a", amp.PlanStarter, 0)
	b, _ := svc.CreateAccount(ctx, "b", amp.PlanStarter, 0)
	ka, err := svc.CreateKey(ctx, a.ID, amp.ModeLive, service.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := svc.CreateKey(ctx, b.ID, amp.ModeLive, service.KeyOptions{})
	live := amp.Tenant{AccountID: a.ID, Mode: amp.ModeLive}
	if _, k, err := svc.Usage(ctx, service.UsageSelection{AccountID: a.ID, Mode: amp.ModeLive, KeyOrID: ka.Key.ID, Window: time.Hour}); err != nil || k.ID != ka.Key.ID {
		t.Errorf("own key: %v", err)
	}
	for name, tc := range map[string]struct {
		t  amp.Tenant
		id string
	}{
		"OtherAccount": {live, kb.Key.ID},
		"OtherMode":    {amp.Tenant{AccountID: a.ID, Mode: amp.ModeTest}, ka.Key.ID},
		"Missing":      {live, "key_nope"},
	} {
		if _, _, err := svc.Usage(ctx, service.UsageSelection{AccountID: tc.t.AccountID, Mode: tc.t.Mode, KeyOrID: tc.id, Window: time.Hour}); amp.ErrorCode(err) != amp.CodeNotFound {
			t.Errorf("%s: %v, want NOT_FOUND", name, err)
		}
		if _, err := svc.CurrentRate(ctx, tc.t, tc.id, time.Minute); amp.ErrorCode(err) != amp.CodeNotFound {
			t.Errorf("%s: current rate %v, want NOT_FOUND", name, err)
		}
	}
	if _, _, err := svc.Usage(ctx, service.UsageSelection{AccountID: a.ID, Window: 400 * 24 * time.Hour}); amp.ErrorCode(err) != amp.CodeInvalidRequest {
		t.Errorf("a 400-day window: %v", err)
	}
	if _, _, err := svc.Usage(ctx, service.UsageSelection{AccountID: "acct_nope", Window: time.Hour}); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Errorf("an unknown account: %v", err)
	}
	q, err := svc.QuotaUsage(ctx, a)
	if err != nil || q == nil || q.Limit != amp.PlanStarter.MonthlyQuota() {
		t.Errorf("QuotaUsage = %+v, %v", q, err)
	}
}
