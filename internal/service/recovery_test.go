package service_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/service"
)

// fakeMailer keeps the emails it is asked to send.
type fakeMailer struct {
	mu   sync.Mutex
	sent []string // "to\nsubject\nbody"
}

func (m *fakeMailer) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, to+"\n"+subject+"\n"+body)
	return nil
}

// The operator's link sets a new password once; every old session ends.
func TestOperatorResetLink(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	other, err := tm.svc.SignIn(ctx, service.SignInAttempt{Email: "owner@example.com", Password: goodPassword, ClientIP: tm.ip()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.IssueResetLink(ctx, "nobody@example.com")
	wantCode(t, err, amp.CodeNotFound)
	secret, err := tm.svc.IssueResetLink(ctx, " OWNER@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := tm.svc.Link(ctx, secret); err != nil || info.Purpose != amp.TokenReset || info.Email != "owner@example.com" {
		t.Fatalf("Link = %+v, %v", info, err)
	}
	// A reset link is no invitation.
	_, err = tm.svc.AcceptInvitation(ctx, service.Join{Secret: secret, Email: "x@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeNotFound)
	wantCode(t, tm.svc.ResetPassword(ctx, secret, "short", tm.ip()), amp.CodeInvalidRequest)

	const next = "a brand new long password"
	tm.clock.Advance(service.OperatorResetTTL - 1)
	if err := tm.svc.ResetPassword(ctx, secret, next, tm.ip()); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tm.owner.Token, other.Token} {
		if _, err := tm.svc.Session(ctx, tok); err != service.ErrNoSession {
			t.Errorf("a session from before the reset: %v", err)
		}
	}
	_, err = tm.svc.SignIn(ctx, service.SignInAttempt{Email: "owner@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeUnauthorized)
	if _, err := tm.svc.SignIn(ctx, service.SignInAttempt{Email: "owner@example.com", Password: next, ClientIP: tm.ip()}); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	// Once only.
	err = tm.svc.ResetPassword(ctx, secret, "yet another long password", tm.ip())
	wantCode(t, err, amp.CodeNotFound)
	es, err := tm.db.AuditEvents(ctx, tm.owner.Account().ID, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != amp.AuditPasswordReset || es[1].Action != amp.AuditResetLinkIssued || es[1].ActorID != "" {
		t.Errorf("audit: %+v %+v", es[0], es[1])
	}
	// Expiry.
	secret2, err := tm.svc.IssueResetLink(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(service.OperatorResetTTL)
	wantCode(t, tm.svc.ResetPassword(ctx, secret2, next+"!", tm.ip()), amp.CodeNotFound)
}

// Self-service reset: the same answer for known and unknown emails, an
// email with a working link for a known one, none without a mailer.
func TestResetByEmail(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, true)
	_, err := f.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword, ClientIP: "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	link := func(s string) string { return "https://amp.example/dashboard/reset?t=" + s }
	if f.svc.PasswordResetByEmail() {
		t.Fatal("reset by email without a mailer")
	}
	wantCode(t, f.svc.RequestPasswordReset(ctx, "ada@example.com", "198.51.100.8", link), amp.CodeNotFound)

	m := &fakeMailer{}
	svc, err := service.New(service.Config{Store: f.db, Learner: fixedLearner{}, Now: f.clock.Now, Seed: 2, Users: f.db, Mailer: m,
		Passwords: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestPasswordReset(ctx, "nobody@example.com", "198.51.100.8", link); err != nil {
		t.Fatalf("unknown email: %v", err)
	}
	if err := svc.RequestPasswordReset(ctx, "Ada@example.com", "198.51.100.8", link); err != nil {
		t.Fatal(err)
	}
	if len(m.sent) != 1 || !strings.HasPrefix(m.sent[0], "ada@example.com\n") {
		t.Fatalf("sent %q", m.sent)
	}
	secret := regexp.MustCompile(`reset\?t=(\S+)`).FindStringSubmatch(m.sent[0])
	if secret == nil {
		t.Fatalf("no link in %q", m.sent[0])
	}
	if err := svc.ResetPassword(ctx, secret[1], "the new long password", "198.51.100.9"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.ResetPassword(ctx, secret[1], "the new long password", "198.51.100.9"), amp.CodeNotFound)
}

// The first-run link claims the default account for its first user, once;
// a new one replaces the old; none once the account has a user.
func TestSetupLink(t *testing.T) {
	ctx := context.Background()
	f := newUsersFixture(t, false)
	if s, err := f.svc.SetupLink(ctx); err != nil || s != "" {
		t.Fatalf("SetupLink without a default account = %q, %v", s, err)
	}
	def, key, err := f.svc.EnsureDefaultAccount(ctx)
	if err != nil || key == "" {
		t.Fatal(err)
	}
	old, err := f.svc.SetupLink(ctx)
	if err != nil || old == "" {
		t.Fatalf("SetupLink = %q, %v", old, err)
	}
	secret, err := f.svc.SetupLink(ctx)
	if err != nil || secret == "" || secret == old {
		t.Fatalf("second SetupLink = %q, %v", secret, err)
	}
	_, err = f.svc.AcceptInvitation(ctx, service.Join{Secret: old, Email: "first@example.com", Password: goodPassword, ClientIP: "192.0.2.1"})
	wantCode(t, err, amp.CodeNotFound)
	s, err := f.svc.AcceptInvitation(ctx, service.Join{Secret: secret, Email: "first@example.com", Password: goodPassword, ClientIP: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Account().ID != def.ID || s.Membership.Role != amp.RoleOwner {
		t.Fatalf("claimed %s as %s, want %s as owner", s.Account().ID, s.Membership.Role, def.ID)
	}
	keys, err := f.svc.Keys(ctx, s.Account().ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("the claimed account's keys: %d, %v", len(keys), err)
	}
	if again, err := f.svc.SetupLink(ctx); err != nil || again != "" {
		t.Fatalf("SetupLink after the claim = %q, %v", again, err)
	}
	_, err = f.svc.AcceptInvitation(ctx, service.Join{Secret: secret, Email: "second@example.com", Password: goodPassword, ClientIP: "192.0.2.3"})
	wantCode(t, err, amp.CodeNotFound)
}

// An invitation that names an email is mailed when a mailer is set.
func TestEmailInvitation(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	m := &fakeMailer{}
	svc, err := service.New(service.Config{Store: tm.db, Learner: fixedLearner{}, Now: tm.clock.Now, Seed: 4, Users: tm.db, Mailer: m,
		Passwords: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := svc.Invite(ctx, tm.owner, "dev@example.com", amp.RoleDeveloper)
	if err != nil {
		t.Fatal(err)
	}
	if !svc.EmailInvitation(ctx, tm.owner, inv, "https://amp.example/dashboard/join?t="+inv.Secret) {
		t.Fatal("not sent")
	}
	if len(m.sent) != 1 || !strings.HasPrefix(m.sent[0], "dev@example.com\n") || !strings.Contains(m.sent[0], inv.Secret) || !strings.Contains(m.sent[0], "as developer") {
		t.Fatalf("sent %q", m.sent)
	}
	anon, err := svc.Invite(ctx, tm.owner, "", amp.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if svc.EmailInvitation(ctx, tm.owner, anon, "x") || len(m.sent) != 1 {
		t.Error("an invitation without an email was mailed")
	}
	if tm.svc.EmailInvitation(ctx, tm.owner, inv, "x") {
		t.Error("mailed without a mailer")
	}
}
