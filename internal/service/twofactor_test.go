package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/totp"
)

// enable2FA turns on two-factor sign-in for s and returns the secret and
// recovery codes.
func enable2FA(t *testing.T, tm *team, s *service.Session) (string, []string) {
	t.Helper()
	ctx := context.Background()
	setup, err := tm.svc.BeginTwoFactor(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup.QR) == 0 || setup.URL == "" {
		t.Fatalf("setup %+v", setup)
	}
	_, err = tm.svc.EnableTwoFactor(ctx, s, setup.Secret, "000000")
	wantCode(t, err, amp.CodeInvalidRequest)
	code, err := totp.Code(setup.Secret, tm.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := tm.svc.EnableTwoFactor(ctx, s, setup.Secret, code)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != service.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	return setup.Secret, codes
}

// signIn runs the password step and returns the challenge.
func (tm *team) challenge(t *testing.T, email string) string {
	t.Helper()
	_, err := tm.svc.SignIn(context.Background(), service.SignInAttempt{Email: email, Password: goodPassword, ClientIP: tm.ip()})
	var sf *service.SecondFactorNeeded
	if !errors.As(err, &sf) {
		t.Fatalf("SignIn of %s with two-factor: %v, want a second factor", email, err)
	}
	return sf.Challenge
}

// A TOTP code signs in once: the same code is refused again within its
// window, as is the code that turned two-factor on; a recovery code works
// once; a challenge works once and expires.
func TestTwoFactorSignIn(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	secret, codes := enable2FA(t, tm, tm.owner)

	// The setup code is spent: its step cannot sign in.
	setupCode, _ := totp.Code(secret, tm.clock.Now())
	_, err := tm.svc.SignInSecondFactor(ctx, tm.challenge(t, "owner@example.com"), setupCode, tm.ip(), "")
	wantCode(t, err, amp.CodeUnauthorized)

	tm.clock.Advance(totp.Period)
	code, _ := totp.Code(secret, tm.clock.Now())
	ch := tm.challenge(t, "owner@example.com")
	_, err = tm.svc.SignInSecondFactor(ctx, ch, "123456", tm.ip(), "")
	wantCode(t, err, amp.CodeUnauthorized)
	s, err := tm.svc.SignInSecondFactor(ctx, ch, code, tm.ip(), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.User.ID != tm.owner.User.ID {
		t.Fatal("signed in as someone else")
	}
	// The challenge is spent.
	_, err = tm.svc.SignInSecondFactor(ctx, ch, code, tm.ip(), "")
	wantCode(t, err, amp.CodeNotFound)
	// Replay: the same code, within its window, with a fresh challenge.
	_, err = tm.svc.SignInSecondFactor(ctx, tm.challenge(t, "owner@example.com"), code, tm.ip(), "")
	wantCode(t, err, amp.CodeUnauthorized)
	if amp.ErrorMessage(err) != service.MsgBadCode {
		t.Errorf("replay message %q", amp.ErrorMessage(err))
	}

	// Recovery codes: once each, spaces and case forgiven.
	ch = tm.challenge(t, "owner@example.com")
	if _, err := tm.svc.SignInSecondFactor(ctx, ch, " "+codes[0]+" ", tm.ip(), ""); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	_, err = tm.svc.SignInSecondFactor(ctx, tm.challenge(t, "owner@example.com"), codes[0], tm.ip(), "")
	wantCode(t, err, amp.CodeUnauthorized)
	if n, err := tm.svc.RecoveryCodesLeft(ctx, tm.owner); err != nil || n != service.RecoveryCodeCount-1 {
		t.Errorf("RecoveryCodesLeft = %d, %v", n, err)
	}

	// A challenge expires.
	ch = tm.challenge(t, "owner@example.com")
	tm.clock.Advance(service.ChallengeTTL)
	code, _ = totp.Code(secret, tm.clock.Now())
	_, err = tm.svc.SignInSecondFactor(ctx, ch, code, tm.ip(), "")
	wantCode(t, err, amp.CodeNotFound)

	// A wrong password still answers as before, with no challenge.
	_, err = tm.svc.SignIn(ctx, service.SignInAttempt{Email: "owner@example.com", Password: "wrong password here", ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeUnauthorized)

	// Off, with the password: sign-in is one step again.
	wantCode(t, tm.svc.DisableTwoFactor(ctx, tm.owner, "not it at all", tm.ip()), amp.CodeInvalidRequest)
	if err := tm.svc.DisableTwoFactor(ctx, tm.owner, goodPassword, tm.ip()); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.svc.SignIn(ctx, service.SignInAttempt{Email: "owner@example.com", Password: goodPassword, ClientIP: tm.ip()}); err != nil {
		t.Fatalf("sign-in after turning two-factor off: %v", err)
	}
}

// The owner requires two-factor sign-in: members without it can do
// nothing until they set it up, and cannot turn it off.
func TestTwoFactorRequired(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	dev := tm.join(t, "dev@example.com", amp.RoleDeveloper)
	admin := tm.join(t, "admin@example.com", amp.RoleAdmin)
	wantCode(t, tm.svc.RequireTwoFactor(ctx, admin, true), amp.CodeForbidden)
	wantCode(t, tm.svc.RequireTwoFactor(ctx, tm.owner, true), amp.CodeInvalidRequest) // the owner has none yet
	enable2FA(t, tm, tm.owner)
	if err := tm.svc.RequireTwoFactor(ctx, tm.owner, true); err != nil {
		t.Fatal(err)
	}
	s, err := tm.svc.Session(ctx, dev.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !s.NeedsTwoFactorSetup {
		t.Fatal("a member without two-factor is not asked to set it up")
	}
	_, err = tm.svc.CreateKeyAs(ctx, s, amp.ModeTest, service.KeyOptions{})
	wantCode(t, err, amp.CodeForbidden)
	_, err = tm.svc.Members(ctx, s)
	wantCode(t, err, amp.CodeForbidden)
	enable2FA(t, tm, s)
	if _, err := tm.svc.CreateKeyAs(ctx, s, amp.ModeTest, service.KeyOptions{}); err != nil {
		t.Fatalf("after setting it up: %v", err)
	}
	wantCode(t, tm.svc.DisableTwoFactor(ctx, s, goodPassword, tm.ip()), amp.CodeForbidden)
	owner, err := tm.svc.Session(ctx, tm.owner.Token)
	if err != nil || owner.NeedsTwoFactorSetup {
		t.Fatalf("owner's session: %+v, %v", owner, err)
	}
	es, err := tm.svc.AuditLog(ctx, owner, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range es {
		if e.Action == amp.AuditTwoFactorChanged {
			found++
		}
	}
	if found != 3 { // owner on, required, developer on
		t.Errorf("%d two-factor audit events, want 3", found)
	}
}
