package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// team is an account with its owner, signed up through the service.
type team struct {
	*usersFixture
	owner *service.Session
	ips   int
}

func newTeam(t *testing.T) *team {
	t.Helper()
	f := newUsersFixture(t, true)
	owner, err := f.svc.SignUp(context.Background(), service.SignUp{Email: "owner@example.com", Password: goodPassword, AccountName: "Team", ClientIP: "198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	return &team{usersFixture: f, owner: owner}
}

// ip returns a fresh client address, so that joins do not spend one
// address's sign-in budget.
func (tm *team) ip() string {
	tm.ips++
	return fmt.Sprintf("192.0.2.%d", tm.ips)
}

// join invites email with role, as the owner, and accepts the invitation.
func (tm *team) join(t *testing.T, email string, role amp.Role) *service.Session {
	t.Helper()
	ctx := context.Background()
	inv, err := tm.svc.Invite(ctx, tm.owner, "", role)
	if err != nil {
		t.Fatalf("Invite %s: %v", role, err)
	}
	s, err := tm.svc.AcceptInvitation(ctx, service.Join{Secret: inv.Secret, Email: email, Password: goodPassword, ClientIP: tm.ip()})
	if err != nil {
		t.Fatalf("AcceptInvitation %s: %v", role, err)
	}
	if s.Membership.Role != role || s.Account().ID != tm.owner.Account().ID {
		t.Fatalf("joined as %s of %s, want %s of %s", s.Membership.Role, s.Account().ID, role, tm.owner.Account().ID)
	}
	return s
}

func (tm *team) lastAudit(t *testing.T) *amp.AuditEvent {
	t.Helper()
	es, err := tm.db.AuditEvents(context.Background(), tm.owner.Account().ID, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 {
		return nil
	}
	return es[0]
}

// roleAction is one action of a role test: who may do it, what it audits
// ("" for reads), and how to do it as session s.
type roleAction struct {
	name    string
	allowed []amp.Role
	audit   amp.AuditAction
	do      func(t *testing.T, tm *team, s *service.Session) error
}

// runRoleActions runs every action as every role, each role in a team of
// its own: an allowed action succeeds and, when it changes something, is
// audited under the member's name; any other is FORBIDDEN and unaudited.
func runRoleActions(t *testing.T, actions []roleAction) {
	t.Helper()
	for _, role := range amp.Roles {
		t.Run(string(role), func(t *testing.T) {
			tm := newTeam(t)
			s := tm.owner
			if role != amp.RoleOwner {
				s = tm.join(t, string(role)+"@example.com", role)
			}
			for _, a := range actions {
				before := tm.lastAudit(t)
				err := a.do(t, tm, s)
				after := tm.lastAudit(t)
				if slices.Contains(a.allowed, role) {
					if err != nil {
						t.Errorf("%s as %s: %v, want allowed", a.name, role, err)
						continue
					}
					if a.audit == "" {
						continue
					}
					if after == nil || (before != nil && after.ID == before.ID) || after.Action != a.audit || after.ActorEmail != s.User.Email {
						t.Errorf("%s as %s: last audit event %+v, want %s by %s", a.name, role, after, a.audit, s.User.Email)
					}
					continue
				}
				if code := amp.ErrorCode(err); code != amp.CodeForbidden {
					t.Errorf("%s as %s: %v (code %q), want FORBIDDEN", a.name, role, err, code)
				}
				if after != nil && after.ActorEmail == s.User.Email && (before == nil || after.ID != before.ID) {
					t.Errorf("%s as %s: refused, yet audited: %+v", a.name, role, after)
				}
			}
		})
	}
}

// Every role against every action of the dashboard: allowed or FORBIDDEN,
// decided by the service, and each allowed change audited under the
// member's name.
func TestRolesAllowAndForbid(t *testing.T) {
	ctx := context.Background()
	all := amp.Roles
	actions := []roleAction{
		{"list members", all, "", func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.Members(ctx, s)
			return err
		}},
		{"create key", []amp.Role{amp.RoleOwner, amp.RoleAdmin, amp.RoleDeveloper}, amp.AuditKeyCreated, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.CreateKeyAs(ctx, s, amp.ModeTest, service.KeyOptions{Name: "ci"})
			return err
		}},
		{"roll key", []amp.Role{amp.RoleOwner, amp.RoleAdmin, amp.RoleDeveloper}, amp.AuditKeyRolled, func(t *testing.T, tm *team, s *service.Session) error {
			k, err := tm.svc.CreateKey(ctx, s.Account().ID, amp.ModeTest, service.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tm.svc.RollKeyAs(ctx, s, k.Key.ID, time.Hour)
			return err
		}},
		{"revoke key", []amp.Role{amp.RoleOwner, amp.RoleAdmin, amp.RoleDeveloper}, amp.AuditKeyRevoked, func(t *testing.T, tm *team, s *service.Session) error {
			k, err := tm.svc.CreateKey(ctx, s.Account().ID, amp.ModeLive, service.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tm.svc.RevokeKeyAs(ctx, s, k.Key.ID)
			return err
		}},
		{"change holdout", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditAccountChanged, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.UpdateAccountAs(ctx, s, func(a *amp.Account) error { a.HoldoutPercent += 5; return nil })
			return err
		}},
		{"change plan", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditPlanChanged, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.UpdateAccountAs(ctx, s, func(a *amp.Account) error {
				a.Plan = map[amp.Plan]amp.Plan{amp.PlanStarter: amp.PlanPro, amp.PlanPro: amp.PlanStarter}[a.Plan]
				return nil
			})
			return err
		}},
		{"erase profile", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditProfileErased, func(t *testing.T, tm *team, s *service.Session) error {
			tn := s.Tenant(amp.ModeTest)
			if _, err := tm.db.UpdateProfile(ctx, tn, "user-1", func(p *amp.ProfileRecord, created bool) error { return nil }); err != nil {
				t.Fatal(err)
			}
			return tm.svc.EraseProfileAs(ctx, s, amp.ModeTest, "user-1")
		}},
		{"invite", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditMemberInvited, func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.Invite(ctx, s, "new@example.com", amp.RoleViewer)
			return err
		}},
		{"revoke invitation", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditInviteRevoked, func(t *testing.T, tm *team, s *service.Session) error {
			inv, err := tm.svc.Invite(ctx, tm.owner, "", amp.RoleViewer)
			if err != nil {
				t.Fatal(err)
			}
			return tm.svc.RevokeInvitation(ctx, s, inv.Token.Hash)
		}},
		{"change role", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditRoleChanged, func(t *testing.T, tm *team, s *service.Session) error {
			v := tm.join(t, "target-role@example.com", amp.RoleViewer)
			return tm.svc.ChangeRole(ctx, s, v.User.ID, amp.RoleDeveloper)
		}},
		{"remove member", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, amp.AuditMemberRemoved, func(t *testing.T, tm *team, s *service.Session) error {
			v := tm.join(t, "target-remove@example.com", amp.RoleViewer)
			return tm.svc.RemoveMember(ctx, s, v.User.ID)
		}},
		{"read audit log", []amp.Role{amp.RoleOwner, amp.RoleAdmin}, "", func(t *testing.T, tm *team, s *service.Session) error {
			_, err := tm.svc.AuditLog(ctx, s, 0, 10)
			return err
		}},
		// Last: it makes the owner an admin.
		{"transfer ownership", []amp.Role{amp.RoleOwner}, amp.AuditOwnerTransferred, func(t *testing.T, tm *team, s *service.Session) error {
			v := tm.join(t, "target-owner@example.com", amp.RoleViewer)
			return tm.svc.TransferOwnership(ctx, s, v.User.ID)
		}},
	}
	runRoleActions(t, actions)
}

// An invitation works once, not after it expires, only for its email when
// it names one, and survives a taken email.
func TestInvitations(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	inv, err := tm.svc.Invite(ctx, tm.owner, " Dev@Example.com ", amp.RoleDeveloper)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Token.Hash == inv.Secret || strings.Contains(inv.Token.Hash, inv.Secret) {
		t.Fatal("the stored invitation holds its secret")
	}
	info, err := tm.svc.Link(ctx, inv.Secret)
	if err != nil || info.Role != amp.RoleDeveloper || info.AccountName != "Team" || info.Email != "dev@example.com" {
		t.Fatalf("Link = %+v, %v", info, err)
	}
	join := service.Join{Secret: inv.Secret, Email: "other@example.com", Password: goodPassword, ClientIP: tm.ip()}
	_, err = tm.svc.AcceptInvitation(ctx, join)
	wantCode(t, err, amp.CodeInvalidRequest)
	join.Email = "owner@example.com"
	inv2, err := tm.svc.Invite(ctx, tm.owner, "", amp.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.AcceptInvitation(ctx, service.Join{Secret: inv2.Secret, Email: "owner@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeInvalidRequest)
	if _, err := tm.svc.Link(ctx, inv2.Secret); err != nil {
		t.Errorf("an invitation refused for a taken email is spent: %v", err)
	}

	join.Email = "DEV@example.com"
	s, err := tm.svc.AcceptInvitation(ctx, join)
	if err != nil {
		t.Fatal(err)
	}
	if s.User.Email != "dev@example.com" || s.Membership.Role != amp.RoleDeveloper {
		t.Fatalf("joined as %+v", s.Membership)
	}
	if e := tm.lastAudit(t); e == nil || e.Action != amp.AuditMemberJoined || e.Target != "dev@example.com" {
		t.Errorf("audit after join: %+v", e)
	}
	// Reuse.
	join.Email = "dev2@example.com"
	_, err = tm.svc.AcceptInvitation(ctx, join)
	wantCode(t, err, amp.CodeNotFound)
	if amp.ErrorMessage(err) != service.MsgBadLink {
		t.Errorf("reuse message %q", amp.ErrorMessage(err))
	}
	// Expiry: usable up to its end, not at it.
	inv3, err := tm.svc.Invite(ctx, tm.owner, "", amp.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(service.InvitationTTL)
	_, err = tm.svc.AcceptInvitation(ctx, service.Join{Secret: inv3.Secret, Email: "late@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeNotFound)
	_, err = tm.svc.Link(ctx, inv3.Secret)
	wantCode(t, err, amp.CodeNotFound)
	// Garbage.
	_, err = tm.svc.AcceptInvitation(ctx, service.Join{Secret: "nonsense", Email: "x@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeNotFound)
}

// Who may act on whom: nobody on themselves, nobody on a member they do
// not outrank, no role granted at or above one's own (but admin by the
// owner); a removed member's sessions end; ownership moves whole.
func TestMemberRules(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	admin := tm.join(t, "admin@example.com", amp.RoleAdmin)
	admin2 := tm.join(t, "admin2@example.com", amp.RoleAdmin)
	dev := tm.join(t, "dev@example.com", amp.RoleDeveloper)

	_, err := tm.svc.Invite(ctx, admin, "", amp.RoleAdmin)
	wantCode(t, err, amp.CodeForbidden)
	_, err = tm.svc.Invite(ctx, tm.owner, "", amp.RoleOwner)
	wantCode(t, err, amp.CodeInvalidRequest)
	_, err = tm.svc.Invite(ctx, tm.owner, "", "superuser")
	wantCode(t, err, amp.CodeInvalidRequest)
	wantCode(t, tm.svc.ChangeRole(ctx, admin, admin2.User.ID, amp.RoleViewer), amp.CodeForbidden)
	wantCode(t, tm.svc.ChangeRole(ctx, admin, tm.owner.User.ID, amp.RoleViewer), amp.CodeForbidden)
	wantCode(t, tm.svc.ChangeRole(ctx, admin, dev.User.ID, amp.RoleAdmin), amp.CodeForbidden)
	wantCode(t, tm.svc.ChangeRole(ctx, tm.owner, tm.owner.User.ID, amp.RoleViewer), amp.CodeInvalidRequest)
	wantCode(t, tm.svc.ChangeRole(ctx, tm.owner, dev.User.ID, amp.RoleOwner), amp.CodeInvalidRequest)
	wantCode(t, tm.svc.RemoveMember(ctx, admin, admin2.User.ID), amp.CodeForbidden)
	wantCode(t, tm.svc.RemoveMember(ctx, admin, tm.owner.User.ID), amp.CodeForbidden)
	wantCode(t, tm.svc.RemoveMember(ctx, tm.owner, tm.owner.User.ID), amp.CodeInvalidRequest)
	wantCode(t, tm.svc.RemoveMember(ctx, tm.owner, "usr_missing"), amp.CodeNotFound)
	// A member of another account is not found.
	other, err := tm.svc.SignUp(ctx, service.SignUp{Email: "else@example.com", Password: goodPassword, ClientIP: tm.ip()})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, tm.svc.RemoveMember(ctx, tm.owner, other.User.ID), amp.CodeNotFound)
	wantCode(t, tm.svc.ChangeRole(ctx, tm.owner, other.User.ID, amp.RoleViewer), amp.CodeNotFound)

	// The owner may promote to admin.
	if err := tm.svc.ChangeRole(ctx, tm.owner, dev.User.ID, amp.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if s, err := tm.svc.Session(ctx, dev.Token); err != nil || s.Membership.Role != amp.RoleAdmin {
		t.Fatalf("promoted session: %+v, %v", s, err)
	}
	// Removal ends the member's sessions.
	if err := tm.svc.RemoveMember(ctx, tm.owner, dev.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.svc.Session(ctx, dev.Token); err != service.ErrNoSession {
		t.Fatalf("removed member's session: %v", err)
	}
	// Transfer: one owner before and after.
	if err := tm.svc.TransferOwnership(ctx, tm.owner, admin.User.ID); err != nil {
		t.Fatal(err)
	}
	m, err := tm.svc.Members(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	owners := 0
	for _, u := range m.Users {
		if u.Role == amp.RoleOwner {
			owners++
			if u.ID != admin.User.ID {
				t.Errorf("owner after transfer: %s", u.Email)
			}
		}
	}
	if owners != 1 {
		t.Errorf("%d owners after transfer", owners)
	}
	if s, err := tm.svc.Session(ctx, tm.owner.Token); err != nil || s.Membership.Role != amp.RoleAdmin {
		t.Errorf("the old owner's session: %+v, %v", s, err)
	}
	wantCode(t, tm.svc.TransferOwnership(ctx, tm.owner, admin2.User.ID), amp.CodeForbidden)
	if e := tm.lastAudit(t); e == nil || e.Action != amp.AuditOwnerTransferred || e.Target != "admin@example.com" {
		t.Errorf("audit of transfer: %+v", e)
	}
}

// The audit log names keys by id and mask, never by secret, and links by
// the first characters of their hash, never by secret.
func TestAuditHoldsNoSecrets(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	k, err := tm.svc.CreateKeyAs(ctx, tm.owner, amp.ModeTest, service.KeyOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := tm.svc.RollKeyAs(ctx, tm.owner, k.Key.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := tm.svc.Invite(ctx, tm.owner, "", amp.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	// The operator's actions are audited as the operator's.
	if _, err := tm.svc.RevokeKey(ctx, "", rolled.Key.ID); err != nil {
		t.Fatal(err)
	}
	es, err := tm.svc.AuditLog(ctx, tm.owner, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d audit events, want 4", len(es))
	}
	if es[0].Action != amp.AuditKeyRevoked || es[0].ActorID != "" || !strings.Contains(es[0].Target, rolled.Key.ID) {
		t.Errorf("operator's revocation: %+v", es[0])
	}
	if es[2].Action != amp.AuditKeyRolled || !strings.Contains(es[2].Detail, rolled.Key.ID) {
		t.Errorf("roll: %+v", es[2])
	}
	for _, e := range es {
		for _, secret := range []string{k.Secret, rolled.Secret, inv.Secret, inv.Token.Hash} {
			if strings.Contains(fmt.Sprintf("%+v", *e), secret) {
				t.Errorf("audit event %+v holds a secret", e)
			}
		}
	}
}

// The audit log keeps DefaultAuditRetention (400 days) by default: the
// background jobs' prune removes older events, of every account, and
// keeps the rest.
func TestAuditRetention(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if got := tm.svc.AuditRetention(); got != 400*24*time.Hour {
		t.Fatalf("AuditRetention() = %v, want 400 days", got)
	}
	old, err := tm.svc.CreateKeyAs(ctx, tm.owner, amp.ModeTest, service.KeyOptions{Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(300 * 24 * time.Hour)
	recent, err := tm.svc.CreateKeyAs(ctx, tm.owner, amp.ModeTest, service.KeyOptions{Name: "recent"})
	if err != nil {
		t.Fatal(err)
	}
	targets := func() string {
		es, err := tm.db.AuditEvents(ctx, tm.owner.Account().ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range es {
			b.WriteString(e.Target + "\n")
		}
		return b.String()
	}
	// 300 days on, nothing is old enough.
	if n, err := tm.svc.PruneAuditLog(ctx); err != nil || n != 0 {
		t.Fatalf("prune at 300 days: %d, %v; want 0", n, err)
	}
	tm.clock.Advance(100*24*time.Hour + time.Second)
	n, err := tm.svc.PruneAuditLog(ctx)
	if err != nil || n == 0 {
		t.Fatalf("prune at 400 days: %d, %v; want the first key's event gone", n, err)
	}
	if got := targets(); strings.Contains(got, old.Key.ID) || !strings.Contains(got, recent.Key.ID) {
		t.Errorf("after pruning at 400 days the log holds:\n%s\nwant %s and not %s", got, recent.Key.ID, old.Key.ID)
	}

	// A negative retention keeps every event.
	forever, err := service.New(service.Config{Store: tm.db, Learner: fixedLearner{}, Now: tm.clock.Now, Seed: 2, Users: tm.db, AuditRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	tm.clock.Advance(10 * 365 * 24 * time.Hour)
	if n, err := forever.PruneAuditLog(ctx); err != nil || n != 0 || !strings.Contains(targets(), recent.Key.ID) {
		t.Errorf("prune with retention -1: %d, %v; want nothing pruned", n, err)
	}
	if forever.AuditRetention() != 0 {
		t.Errorf("AuditRetention() of a log kept for ever = %v, want 0", forever.AuditRetention())
	}
}

// One login in two accounts: an invitation to an email that has a login
// joins that login once its user is signed in; each account's role holds
// in that account only; switching changes which; removal from one
// account keeps the other.
func TestOneLoginSeveralAccounts(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t) // owner@example.com owns "Team"
	// ada owns an account of her own.
	ada, err := tm.svc.SignUp(ctx, service.SignUp{Email: "ada@example.com", Password: goodPassword, AccountName: "Ada's", ClientIP: tm.ip()})
	if err != nil {
		t.Fatal(err)
	}
	home := ada.Account().ID
	team := tm.owner.Account().ID

	// Team's owner invites ada as a viewer. A new login for her email is
	// refused with the way forward, and leaves the link usable.
	inv, err := tm.svc.Invite(ctx, tm.owner, "ada@example.com", amp.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.AcceptInvitation(ctx, service.Join{Secret: inv.Secret, Email: "ada@example.com", Password: goodPassword, ClientIP: tm.ip()})
	wantCode(t, err, amp.CodeInvalidRequest)
	if amp.ErrorMessage(err) != service.MsgLoginExists {
		t.Errorf("a new login for a taken email: %q", amp.ErrorMessage(err))
	}
	// Another signed-in user cannot use an invitation for ada's email.
	other, err := tm.svc.SignUp(ctx, service.SignUp{Email: "eve@example.com", Password: goodPassword, AccountName: "Eve's", ClientIP: tm.ip()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.JoinAs(ctx, other, inv.Secret)
	wantCode(t, err, amp.CodeInvalidRequest)
	// ada, signed in, joins: the session now acts for Team, as a viewer.
	inTeam, err := tm.svc.JoinAs(ctx, ada, inv.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if inTeam.Account().ID != team || inTeam.Membership.Role != amp.RoleViewer || len(inTeam.Accounts) != 2 ||
		inTeam.User.Role != amp.RoleViewer || inTeam.User.AccountID != team {
		t.Fatalf("after joining: account %s as %s, %d accounts", inTeam.Account().ID, inTeam.Membership.Role, len(inTeam.Accounts))
	}
	_, err = tm.svc.JoinAs(ctx, ada, inv.Secret)
	wantCode(t, err, amp.CodeNotFound) // used once
	if e := tm.lastAudit(t); e == nil || e.Action != amp.AuditMemberJoined || e.ActorEmail != "ada@example.com" {
		t.Errorf("Team's audit log after the join: %+v", e)
	}
	// A second invitation to an account she is in is refused, and stays
	// usable.
	again, err := tm.svc.Invite(ctx, tm.owner, "", amp.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.JoinAs(ctx, inTeam, again.Secret)
	wantCode(t, err, amp.CodeInvalidRequest)
	if _, err := tm.svc.Link(ctx, again.Secret); err != nil {
		t.Errorf("the refused invitation: %v", err)
	}

	// Each role holds in its own account only. As Team's viewer: no keys.
	_, err = tm.svc.CreateKeyAs(ctx, inTeam, amp.ModeTest, service.KeyOptions{Name: "x"})
	wantCode(t, err, amp.CodeForbidden)
	_, err = tm.svc.AuditLog(ctx, inTeam, 0, 10)
	wantCode(t, err, amp.CodeForbidden)
	if _, err := tm.svc.Members(ctx, inTeam); err != nil {
		t.Errorf("a viewer lists members: %v", err)
	}
	// The same session, resolved again by its token, acts for Team still.
	again2, err := tm.svc.Session(ctx, inTeam.Token)
	if err != nil || again2.Account().ID != team || again2.Membership.Role != amp.RoleViewer {
		t.Fatalf("the session read back: %+v, %v", again2, err)
	}
	// Switched to her own account, she is its owner.
	atHome, err := tm.svc.SwitchAccount(ctx, inTeam, home)
	if err != nil {
		t.Fatal(err)
	}
	if atHome.Account().ID != home || atHome.Membership.Role != amp.RoleOwner {
		t.Fatalf("after switching home: %s as %s", atHome.Account().ID, atHome.Membership.Role)
	}
	k, err := tm.svc.CreateKeyAs(ctx, atHome, amp.ModeTest, service.KeyOptions{Name: "ada"})
	if err != nil || k.Key.AccountID != home {
		t.Fatalf("the owner creates a key at home: %v", err)
	}
	if _, err := tm.svc.AuditLog(ctx, atHome, 0, 10); err != nil {
		t.Errorf("the owner reads her audit log: %v", err)
	}
	// Her owner role at home gives her nothing in Team: a key of Team is
	// out of reach from home, and Team's members are not hers to change.
	teamKey, err := tm.svc.CreateKeyAs(ctx, tm.owner, amp.ModeTest, service.KeyOptions{Name: "team"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.svc.RevokeKeyAs(ctx, atHome, teamKey.Key.ID)
	wantCode(t, err, amp.CodeNotFound)
	err = tm.svc.RemoveMember(ctx, atHome, tm.owner.User.ID)
	wantCode(t, err, amp.CodeNotFound)
	// An account she is not in cannot be switched to.
	_, err = tm.svc.SwitchAccount(ctx, atHome, other.Account().ID)
	wantCode(t, err, amp.CodeNotFound)
	// A new sign-in starts in the account she switched to last.
	s, err := tm.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: goodPassword, ClientIP: tm.ip()})
	if err != nil || s.Account().ID != home {
		t.Fatalf("sign-in after switching home: %v, %v", s, err)
	}
	backInTeam, err := tm.svc.SwitchAccount(ctx, s, team)
	if err != nil {
		t.Fatal(err)
	}

	// Team's owner removes her: her sessions acting for Team end, those
	// at home stay, and her home account is untouched.
	if err := tm.svc.RemoveMember(ctx, tm.owner, ada.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.svc.Session(ctx, backInTeam.Token); err != service.ErrNoSession {
		t.Errorf("a session acting for the account she left: %v, want ErrNoSession", err)
	}
	still, err := tm.svc.Session(ctx, atHome.Token)
	if err != nil || still.Account().ID != home || still.Membership.Role != amp.RoleOwner || len(still.Accounts) != 1 {
		t.Fatalf("her session at home after the removal: %+v, %v", still, err)
	}
	if _, err := tm.svc.SignIn(ctx, service.SignInAttempt{Email: "ada@example.com", Password: goodPassword, ClientIP: tm.ip()}); err != nil {
		t.Errorf("signing in after leaving Team: %v", err)
	}
	m, err := tm.svc.Members(ctx, tm.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range m.Users {
		if u.ID == ada.User.ID {
			t.Errorf("ada is still a member of Team")
		}
	}
}
