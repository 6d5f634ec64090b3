package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// The members and audit log pages. Who may see and do what is the
// service's (internal/service, team.go): the page hides what the role
// lacks, and the service refuses it whatever the page shows.

type memberRow struct {
	User      *amp.DashboardUser
	You       bool
	CanChange bool
	Roles     []amp.Role // the roles it may be given
}

type inviteRow struct {
	Hash      string
	Role      amp.Role
	Email     string
	ExpiresAt time.Time
	Expired   bool
}

type inviteForm struct {
	Email string
	Role  amp.Role
}

type membersPage struct {
	Members     []memberRow
	Invitations []inviteRow
	InviteRoles []amp.Role
	Form        inviteForm
	FieldErrors map[string]string
	// Link is the URL of a new invitation, shown once.
	Link      string
	LinkRole  amp.Role
	LinkEmail string
	Emailed   bool // the link was also sent to LinkEmail
}

type auditPage struct {
	Events []*amp.AuditEvent
	// Older is the "before" of the next page; 0 when there is none.
	Older int64
	// Retention says how long events are kept; "" for ever.
	Retention string
}

func (h *handler) membersData(r *http.Request, rq *request, form inviteForm) (*membersPage, error) {
	m, err := h.svc.Members(r.Context(), rq.sess)
	if err != nil {
		return nil, err
	}
	roles := h.svc.GrantableRoles(rq.sess)
	data := &membersPage{InviteRoles: roles, Form: form}
	for _, u := range m.Users {
		row := memberRow{User: u, You: u.ID == rq.user.ID, CanChange: h.svc.CanActOn(rq.sess, u)}
		if row.CanChange {
			row.Roles = roles
		}
		data.Members = append(data.Members, row)
	}
	now := h.svc.Now()
	for _, t := range m.Invitations {
		data.Invitations = append(data.Invitations, inviteRow{Hash: t.Hash, Role: t.Role, Email: t.Email, ExpiresAt: t.ExpiresAt, Expired: !now.Before(t.ExpiresAt)})
	}
	return data, nil
}

func (h *handler) membersPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	data, err := h.membersData(r, rq, inviteForm{Role: amp.RoleDeveloper})
	if err != nil {
		return err
	}
	pd := h.page(rq, "members", "Members", data)
	switch r.URL.Query().Get("done") {
	case "role":
		pd.Flash = "Role changed."
	case "removed":
		pd.Flash = "The member was removed: their sessions in this account ended, and their login keeps only the other accounts it belongs to."
	case "transferred":
		pd.Flash = "Ownership transferred. You are now an admin of this account."
	case "revoked":
		pd.Flash = "The invitation was revoked; its link no longer works."
	}
	return h.render(w, http.StatusOK, "members", pd)
}

// invite creates an invitation and shows its link, once, in the response
// to the post: like a new key, it is a secret that no later page shows.
func (h *handler) invite(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := inviteForm{Email: amp.NormalizeEmail(r.PostFormValue("email")), Role: amp.Role(r.PostFormValue("role"))}
	inv, err := h.svc.Invite(r.Context(), rq.sess, form.Email, form.Role)
	if err != nil {
		status := httpx.Status(amp.ErrorCode(err))
		if status != http.StatusBadRequest {
			return err
		}
		data, derr := h.membersData(r, rq, form)
		if derr != nil {
			return derr
		}
		field, _ := amp.ErrorDetails(err)["field"].(string)
		if field == "" {
			field = "email"
		}
		data.FieldErrors = map[string]string{field: amp.ErrorMessage(err)}
		pd := h.page(rq, "members", "Members", data)
		pd.Error = "The invitation was not created: see the form below."
		return h.render(w, status, "members", pd)
	}
	dest := invitedPath(rq.mode, inv.Token.Hash)
	if h.cfg.PublicURL != "" {
		// The emailed link points at the configured address, never at the
		// request's Host header.
		if h.svc.EmailInvitation(r.Context(), rq.sess, inv, h.cfg.PublicURL+Prefix+"/join?t="+url.QueryEscape(inv.Secret)) {
			dest += "?emailed=1"
		}
	}
	h.log.Info("dashboard: member invited", "user_id", rq.user.ID, "account_id", rq.account.ID, "role", inv.Token.Role)
	h.setOnce(w, newInviteCookie, inv.Secret, invitedPath(rq.mode, inv.Token.Hash))
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

// newInviteCookie carries an invitation's secret from the post that made
// it to the one page that shows its link (setOnce): reloading that page
// invites no one more.
const newInviteCookie = "amp_new_invite"

// invitedPath is the page of the invitation whose stored hash is hash; the
// hash is no secret (the revoke buttons carry it too).
func invitedPath(m amp.Mode, hash string) string { return modePath(m, "members/invited/"+hash) }

// invited is the members page with a new invitation's link, shown once.
// A reload, or an invitation used or revoked since, shows no link.
func (h *handler) invited(w http.ResponseWriter, r *http.Request, rq *request) error {
	hash := r.PathValue("hash")
	secret := h.takeOnce(w, r, newInviteCookie, invitedPath(rq.mode, hash))
	data, err := h.membersData(r, rq, inviteForm{Role: amp.RoleDeveloper})
	if err != nil {
		return err
	}
	var inv *inviteRow
	for i := range data.Invitations {
		if data.Invitations[i].Hash == hash {
			inv = &data.Invitations[i]
		}
	}
	if inv == nil {
		return amp.Errorf(amp.CodeNotFound, "No such invitation: it was used or revoked.")
	}
	data.Form.Role = inv.Role
	pd := h.page(rq, "members", "Members", data)
	if secret != "" && service.LinkHash(secret) == hash {
		data.Link, data.LinkRole, data.LinkEmail = h.requestBase(r)+Prefix+"/join?t="+url.QueryEscape(secret), inv.Role, inv.Email
		data.Emailed = inv.Email != "" && r.URL.Query().Get("emailed") == "1"
	} else {
		pd.Flash = "The link of this invitation was shown once. If it was not sent, revoke the invitation below and invite again."
	}
	return h.render(w, http.StatusOK, "members", pd)
}

// switchAccount makes the session act for another of the user's accounts
// and opens its keys page in the mode the user was in.
func (h *handler) switchAccount(w http.ResponseWriter, r *http.Request, rq *request) error {
	s, err := h.svc.SwitchAccount(r.Context(), rq.sess, r.PostFormValue("account"))
	if err != nil {
		return err
	}
	mode := amp.Mode(r.PostFormValue("mode"))
	if !mode.Valid() {
		mode = amp.ModeTest
	}
	h.log.Info("dashboard: account switched", "user_id", rq.user.ID, "account_id", s.Account().ID)
	http.Redirect(w, r, modePath(mode, "keys")+"?done=switched", http.StatusSeeOther)
	return nil
}

// requestBase is the scheme and host the browser reached the dashboard at.
func (h *handler) requestBase(r *http.Request) string {
	if r.TLS != nil || h.cfg.Secure {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (h *handler) revokeInvitation(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.RevokeInvitation(r.Context(), rq.sess, r.PostFormValue("invitation")); err != nil {
		return err
	}
	http.Redirect(w, r, modePath(rq.mode, "members")+"?done=revoked", http.StatusSeeOther)
	return nil
}

func (h *handler) changeRole(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.ChangeRole(r.Context(), rq.sess, r.PathValue("id"), amp.Role(r.PostFormValue("role"))); err != nil {
		return err
	}
	http.Redirect(w, r, modePath(rq.mode, "members")+"?done=role", http.StatusSeeOther)
	return nil
}

func (h *handler) removeMember(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.RemoveMember(r.Context(), rq.sess, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, modePath(rq.mode, "members")+"?done=removed", http.StatusSeeOther)
	return nil
}

func (h *handler) transferOwnership(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.TransferOwnership(r.Context(), rq.sess, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, modePath(rq.mode, "members")+"?done=transferred", http.StatusSeeOther)
	return nil
}

// auditPageSize is the audit log's page length.
const auditPageSize = 50

func (h *handler) auditPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return amp.Errorf(amp.CodeNotFound, "No such page of the audit log.")
		}
		before = n
	}
	// One more than shown tells whether an older page exists.
	es, err := h.svc.AuditLog(r.Context(), rq.sess, before, auditPageSize+1)
	if err != nil {
		return err
	}
	data := &auditPage{Events: es}
	if d := h.svc.AuditRetention(); d > 0 {
		data.Retention = inWords(d)
	}
	if len(es) > auditPageSize {
		data.Events = es[:auditPageSize]
		data.Older = data.Events[auditPageSize-1].ID
	}
	return h.render(w, http.StatusOK, "audit", h.page(rq, "audit", "Audit log", data))
}
