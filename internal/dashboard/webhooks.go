package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// The webhook pages: endpoints of the page's mode (list, add, edit,
// disable, remove, roll the secret, send a test event), the delivery log
// with each delivery's detail and replay, and the quarantine banner's
// restore action. Every action is one service call, which checks the role
// (docs/team.md): the pages only hide what it would refuse.

// webhookRoutes registers the pages of mode m under p.
func (h *handler) webhookRoutes(mux *http.ServeMux, m amp.Mode, p string) {
	mux.HandleFunc("GET "+p+"/webhooks", h.authed(m, h.webhooksPage))
	mux.HandleFunc("POST "+p+"/webhooks", h.authed(m, h.createEndpoint))
	mux.HandleFunc("GET "+p+"/webhooks/{id}", h.authed(m, h.endpointPage))
	mux.HandleFunc("POST "+p+"/webhooks/{id}", h.authed(m, h.updateEndpoint))
	mux.HandleFunc("GET "+p+"/webhooks/{id}/created", h.authed(m, h.endpointCreated))
	mux.HandleFunc("POST "+p+"/webhooks/{id}/status", h.authed(m, h.endpointStatus))
	mux.HandleFunc("POST "+p+"/webhooks/{id}/test", h.authed(m, h.sendTestEvent))
	mux.HandleFunc("GET "+p+"/webhooks/{id}/roll", h.authed(m, h.endpointRollPage))
	mux.HandleFunc("POST "+p+"/webhooks/{id}/roll", h.authed(m, h.rollEndpointSecret))
	mux.HandleFunc("GET "+p+"/webhooks/{id}/remove", h.authed(m, h.endpointRemovePage))
	mux.HandleFunc("POST "+p+"/webhooks/{id}/remove", h.authed(m, h.removeEndpoint))
	mux.HandleFunc("GET "+p+"/webhook-deliveries", h.authed(m, h.deliveriesPage))
	mux.HandleFunc("GET "+p+"/webhook-deliveries/{id}", h.authed(m, h.deliveryPage))
	mux.HandleFunc("POST "+p+"/webhook-deliveries/{id}/replay", h.authed(m, h.replayDelivery))
	mux.HandleFunc("POST "+p+"/keys/{id}/restore", h.authed(m, h.restoreKey))
}

// eventDescriptions says what each event type is for, next to its box.
var eventDescriptions = map[amp.EventType]string{
	amp.EventKeyLeakSuspected:   "a key may have leaked: a burst, a new country, or a secret scanner's report",
	amp.EventKeyQuarantined:     "a key was quarantined and is refused until restored",
	amp.EventKeyExpiring:        "a key expires in 7 days",
	amp.EventKeyRotationDue:     "a key is older than the rotation age",
	amp.EventQuotaThreshold:     "live usage reached 80, 95 or 100% of the monthly quota",
	amp.EventRateLimitSustained: "a key has been rate limited for minutes on end",
	amp.EventProfileDeleted:     "a profile was erased (the erasure receipt)",
	amp.EventWebhookTest:        "sent when you ask for a test event (always delivered to its endpoint)",
}

type eventChoice struct {
	Type        amp.EventType
	Description string
}

func eventChoices() []eventChoice {
	out := make([]eventChoice, len(amp.EventTypes))
	for i, t := range amp.EventTypes {
		out[i] = eventChoice{t, eventDescriptions[t]}
	}
	return out
}

// Grace periods offered when rolling a signing secret, within
// service.MaxWebhookSecretRollGrace.
var secretGraceChoices = graceChoices

// endpointForm is the add or edit form's input, kept to refill it.
type endpointForm struct {
	URL, Description string
	Types            map[amp.EventType]bool
	Errors           map[string]string // by field: url, description, events
}

// endpointFormField maps the service's mistakes to the form's fields, by
// the start of their message (the service gives no details.field here).
func endpointFormField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "Invalid endpoint URL"):
		return "url"
	case strings.HasPrefix(msg, "A description"):
		return "description"
	case strings.Contains(msg, "event type"):
		return "events"
	}
	return ""
}

type endpointRow struct {
	*amp.WebhookEndpoint
	Status string // enabled, disabled, circuit_open, circuit_half_open
	Last   *amp.WebhookDelivery
}

type webhooksPage struct {
	Endpoints []endpointRow
	Form      endpointForm
	Events    []eventChoice
	Max       int
}

type endpointPage struct {
	Endpoint endpointRow
	Form     endpointForm
	Events   []eventChoice
	Recent   []*amp.WebhookDelivery
	Grace    any
}

type endpointCreatedPage struct {
	Endpoint *amp.WebhookEndpoint
	Secret   string
	Rolled   bool
}

func (h *handler) endpointRow(r *http.Request, rq *request, ep *amp.WebhookEndpoint) endpointRow {
	row := endpointRow{WebhookEndpoint: ep, Status: "enabled"}
	if ep.Disabled {
		row.Status = "disabled"
	} else if h.cfg.Circuit != nil {
		switch h.cfg.Circuit(ep.ID) {
		case "open":
			row.Status = "circuit_open"
		case "half_open":
			row.Status = "circuit_half_open"
		}
	}
	if p, err := h.svc.WebhookDeliveriesAs(r.Context(), rq.sess, rq.mode, amp.DeliveryQuery{EndpointID: ep.ID, Limit: 1}); err == nil && len(p.Deliveries) > 0 {
		row.Last = p.Deliveries[0]
	}
	return row
}

func newEndpointForm() endpointForm {
	return endpointForm{Types: map[amp.EventType]bool{}}
}

func (h *handler) webhooksPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	form := newEndpointForm()
	for _, t := range amp.EventTypes {
		form.Types[t] = t != amp.EventWebhookTest
	}
	pd, err := h.webhooksData(r, rq, form)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "removed":
		pd.Flash = "The endpoint was removed with its delivery log. It receives nothing from now on."
	}
	return h.render(w, http.StatusOK, "webhooks", pd)
}

func (h *handler) webhooksData(r *http.Request, rq *request, form endpointForm) (*pageData, error) {
	eps, err := h.svc.WebhookEndpointsAs(r.Context(), rq.sess, rq.mode)
	if err != nil {
		return nil, err
	}
	data := &webhooksPage{Form: form, Events: eventChoices(), Max: service.MaxEndpointsPerAccount}
	for _, ep := range eps {
		data.Endpoints = append(data.Endpoints, h.endpointRow(r, rq, ep))
	}
	return h.page(rq, "webhooks", "Webhooks", data), nil
}

// readEndpointForm reads the add and edit forms.
func readEndpointForm(r *http.Request) (endpointForm, []amp.EventType) {
	form := newEndpointForm()
	form.URL = strings.TrimSpace(r.PostFormValue("url"))
	form.Description = strings.TrimSpace(r.PostFormValue("description"))
	var types []amp.EventType
	for _, v := range r.PostForm["events"] {
		t := amp.EventType(v)
		form.Types[t] = true
		types = append(types, t)
	}
	problems := map[string]string{}
	if form.URL == "" {
		problems["url"] = "Give the URL that will receive the events."
	}
	if len(types) == 0 {
		problems["events"] = "Choose at least one event type."
	}
	form.Errors = problems
	return form, types
}

// formProblem places the service's refusal of a form next to its field; a
// refusal that is no mistake of the input is returned as an error.
func formProblem(form *endpointForm, err error) error {
	if httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
		return err
	}
	msg := amp.ErrorMessage(err)
	form.Errors[endpointFormField(msg)] = msg
	return nil
}

func formSummary(pd *pageData, what string, problems map[string]string) {
	pd.Error = what + " see the form below."
	if len(problems) == 1 {
		for _, msg := range problems {
			pd.Error = msg
		}
	}
}

// createEndpoint adds an endpoint in the page's mode and sends the
// browser to the one page that shows its secret.
func (h *handler) createEndpoint(w http.ResponseWriter, r *http.Request, rq *request) error {
	form, types := readEndpointForm(r)
	var created *service.CreatedEndpoint
	if len(form.Errors) == 0 {
		var err error
		created, err = h.svc.CreateWebhookEndpointAs(r.Context(), rq.sess, rq.mode,
			service.EndpointOptions{URL: form.URL, Description: form.Description, EventTypes: types})
		if err != nil {
			if err := formProblem(&form, err); err != nil {
				return err
			}
		}
	}
	if len(form.Errors) > 0 {
		pd, err := h.webhooksData(r, rq, form)
		if err != nil {
			return err
		}
		formSummary(pd, "The endpoint was not added:", form.Errors)
		return h.render(w, http.StatusBadRequest, "webhooks", pd)
	}
	h.log.Info("dashboard: webhook endpoint created", "user_id", rq.user.ID, "endpoint_id", created.Endpoint.ID, "mode", rq.mode)
	h.showEndpointSecret(w, r, created, false)
	return nil
}

// newSecretCookie carries a new signing secret from the post that made it
// to the one page that shows it (post, redirect, get), as newKeyCookie
// does for keys: scoped to that page, HttpOnly, SameSite=Strict, two
// minutes at most, cleared by the first view, and checked against the
// endpoint's current secret.
const newSecretCookie = "amp_new_whsec"

func endpointPath(m amp.Mode, id, sub string) string {
	p := modePath(m, "webhooks/"+id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func (h *handler) showEndpointSecret(w http.ResponseWriter, r *http.Request, c *service.CreatedEndpoint, rolled bool) {
	dest := endpointPath(c.Endpoint.Mode, c.Endpoint.ID, "created")
	http.SetCookie(w, &http.Cookie{Name: newSecretCookie, Value: c.Secret, Path: dest, MaxAge: 120,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
	if rolled {
		dest += "?rolled=1"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// endpointCreated shows a new signing secret once; a reload shows the
// endpoint without it.
func (h *handler) endpointCreated(w http.ResponseWriter, r *http.Request, rq *request) error {
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := &endpointCreatedPage{Endpoint: ep, Rolled: r.URL.Query().Get("rolled") != ""}
	path := endpointPath(ep.Mode, ep.ID, "created")
	if c, err := r.Cookie(newSecretCookie); err == nil {
		if ok, err := h.svc.EndpointSecretIs(r.Context(), rq.sess, rq.mode, ep.ID, c.Value); err == nil && ok {
			data.Secret = c.Value
		}
	}
	http.SetCookie(w, &http.Cookie{Name: newSecretCookie, Path: path, MaxAge: -1, HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
	title := "Your new endpoint"
	if data.Rolled {
		title = "Your new signing secret"
	}
	return h.render(w, http.StatusOK, "webhook_created", h.page(rq, "webhooks", title, data))
}

func (h *handler) endpointData(r *http.Request, rq *request, ep *amp.WebhookEndpoint, form endpointForm) (*pageData, error) {
	p, err := h.svc.WebhookDeliveriesAs(r.Context(), rq.sess, rq.mode, amp.DeliveryQuery{EndpointID: ep.ID, Limit: 10})
	if err != nil {
		return nil, err
	}
	data := &endpointPage{Endpoint: h.endpointRow(r, rq, ep), Form: form, Events: eventChoices(), Recent: p.Deliveries, Grace: secretGraceChoices}
	return h.page(rq, "webhooks", "Webhook endpoint", data), nil
}

func endpointFormOf(ep *amp.WebhookEndpoint) endpointForm {
	form := newEndpointForm()
	form.URL, form.Description = ep.URL, ep.Description
	for _, t := range ep.EventTypes {
		form.Types[t] = true
	}
	return form
}

func (h *handler) endpointPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	pd, err := h.endpointData(r, rq, ep, endpointFormOf(ep))
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "saved":
		pd.Flash = "The endpoint was saved."
	case "disabled":
		pd.Flash = "The endpoint is disabled: it receives no new deliveries, and its pending ones fail (they can be replayed)."
	case "enabled":
		pd.Flash = "The endpoint is enabled: it receives new events again."
	}
	return h.render(w, http.StatusOK, "webhook_endpoint", pd)
}

func (h *handler) updateEndpoint(w http.ResponseWriter, r *http.Request, rq *request) error {
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	form, types := readEndpointForm(r)
	if len(form.Errors) == 0 {
		_, err := h.svc.UpdateWebhookEndpointAs(r.Context(), rq.sess, rq.mode, ep.ID,
			service.EndpointChange{URL: &form.URL, Description: &form.Description, EventTypes: types})
		if err == nil {
			http.Redirect(w, r, endpointPath(rq.mode, ep.ID, "")+"?done=saved", http.StatusSeeOther)
			return nil
		}
		if err := formProblem(&form, err); err != nil {
			return err
		}
	}
	pd, err := h.endpointData(r, rq, ep, form)
	if err != nil {
		return err
	}
	formSummary(pd, "The endpoint was not saved:", form.Errors)
	return h.render(w, http.StatusBadRequest, "webhook_endpoint", pd)
}

func (h *handler) endpointStatus(w http.ResponseWriter, r *http.Request, rq *request) error {
	var disabled bool
	switch r.PostFormValue("status") {
	case "disable":
		disabled = true
	case "enable":
	default:
		return amp.Errorf(amp.CodeInvalidRequest, "Choose to enable or disable the endpoint.")
	}
	ep, err := h.svc.UpdateWebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"), service.EndpointChange{Disabled: &disabled})
	if err != nil {
		return err
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, endpointPath(rq.mode, ep.ID, "")+"?done="+done, http.StatusSeeOther)
	return nil
}

func (h *handler) sendTestEvent(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	ev, err := h.svc.SendTestEventAs(r.Context(), rq.sess, rq.mode, id)
	if err != nil {
		return err
	}
	h.log.Info("dashboard: webhook test event", "user_id", rq.user.ID, "endpoint_id", id, "event_id", ev.ID)
	http.Redirect(w, r, modePath(rq.mode, "webhook-deliveries")+"?endpoint="+url.QueryEscape(id)+"&done=test", http.StatusSeeOther)
	return nil
}

func (h *handler) endpointRollPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.Allow(rq.sess, amp.PermWebhooks); err != nil {
		return err
	}
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "webhook_roll", h.page(rq, "webhooks", "Roll signing secret", &endpointPage{Endpoint: endpointRow{WebhookEndpoint: ep}, Grace: secretGraceChoices}))
}

func (h *handler) rollEndpointSecret(w http.ResponseWriter, r *http.Request, rq *request) error {
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	grace := time.Duration(-1)
	for _, g := range secretGraceChoices {
		if g.Value == r.PostFormValue("grace") {
			grace = g.D
		}
	}
	if grace < 0 {
		pd := h.page(rq, "webhooks", "Roll signing secret", &endpointPage{Endpoint: endpointRow{WebhookEndpoint: ep}, Grace: secretGraceChoices})
		pd.Error = "Choose a grace period from the list."
		return h.render(w, http.StatusBadRequest, "webhook_roll", pd)
	}
	created, err := h.svc.RollWebhookSecretAs(r.Context(), rq.sess, rq.mode, ep.ID, grace)
	if err != nil {
		return err
	}
	h.log.Info("dashboard: webhook secret rolled", "user_id", rq.user.ID, "endpoint_id", ep.ID)
	h.showEndpointSecret(w, r, created, true)
	return nil
}

func (h *handler) endpointRemovePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := h.svc.Allow(rq.sess, amp.PermWebhooks); err != nil {
		return err
	}
	ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "webhook_remove", h.page(rq, "webhooks", "Remove endpoint", &endpointPage{Endpoint: endpointRow{WebhookEndpoint: ep}}))
}

func (h *handler) removeEndpoint(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	if err := h.svc.DeleteWebhookEndpointAs(r.Context(), rq.sess, rq.mode, id); err != nil {
		return err
	}
	h.log.Info("dashboard: webhook endpoint removed", "user_id", rq.user.ID, "endpoint_id", id)
	http.Redirect(w, r, modePath(rq.mode, "webhooks")+"?done=removed", http.StatusSeeOther)
	return nil
}

// deliveryFilter is the delivery log's filter, from the query string.
type deliveryFilter struct {
	Endpoint, Status, Type string
}

// query is the filter's query string, with before when set.
func (f deliveryFilter) query(before string) string {
	v := url.Values{}
	for k, s := range map[string]string{"endpoint": f.Endpoint, "status": f.Status, "type": f.Type, "before": before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// The status filter's choices: "delivered" is the store's succeeded.
var deliveryStatusChoices = []struct{ Value, Label string }{
	{"", "Any status"}, {"delivered", "Delivered"}, {"failed", "Failed"}, {"pending", "Pending"},
}

type deliveryRow struct {
	*amp.WebhookDelivery
	EndpointURL string
}

type deliveriesPage struct {
	Rows      []deliveryRow
	Filter    deliveryFilter
	Endpoint  *amp.WebhookEndpoint // the filter's endpoint, if any
	Endpoints []*amp.WebhookEndpoint
	Statuses  any
	Types     []amp.EventType
	NextURL   string // the older page
	FirstURL  string // the newest page, when this is not it
}

func (h *handler) deliveriesPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	qs := r.URL.Query()
	f := deliveryFilter{Endpoint: qs.Get("endpoint"), Status: qs.Get("status"), Type: qs.Get("type")}
	q := amp.DeliveryQuery{EndpointID: f.Endpoint, EventType: amp.EventType(f.Type), Before: qs.Get("before"), Limit: 50}
	switch f.Status {
	case "":
	case "delivered":
		q.Status = amp.DeliverySucceeded
	case "failed":
		q.Status = amp.DeliveryFailed
	case "pending":
		q.Status = amp.DeliveryPending
	default:
		return amp.Errorf(amp.CodeInvalidRequest, "Choose a status from the list.")
	}
	eps, err := h.svc.WebhookEndpointsAs(r.Context(), rq.sess, rq.mode)
	if err != nil {
		return err
	}
	p, err := h.svc.WebhookDeliveriesAs(r.Context(), rq.sess, rq.mode, q)
	if err != nil {
		return err
	}
	data := &deliveriesPage{Filter: f, Endpoints: eps, Statuses: deliveryStatusChoices, Types: amp.EventTypes}
	urls := map[string]string{}
	for _, ep := range eps {
		urls[ep.ID] = ep.URL
		if ep.ID == f.Endpoint {
			data.Endpoint = ep
		}
	}
	for _, d := range p.Deliveries {
		data.Rows = append(data.Rows, deliveryRow{WebhookDelivery: d, EndpointURL: urls[d.EndpointID]})
	}
	base := modePath(rq.mode, "webhook-deliveries")
	if p.Next != "" {
		data.NextURL = base + f.query(p.Next)
	}
	if q.Before != "" {
		data.FirstURL = base + f.query("")
	}
	pd := h.page(rq, "webhooks", "Webhook deliveries", data)
	if qs.Get("done") == "test" {
		pd.Flash = "A webhook.test event is on its way; it appears below as pending until the endpoint answers. Reload to see it delivered."
	}
	return h.render(w, http.StatusOK, "webhook_deliveries", pd)
}

type deliveryPage struct {
	*service.DeliveryDetail
	Body        string // the event's body, indented for reading
	EndpointURL string
}

func (h *handler) deliveryPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	d, err := h.svc.WebhookDeliveryAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := &deliveryPage{DeliveryDetail: d, Body: string(d.Event.Payload)}
	var buf bytes.Buffer
	if json.Indent(&buf, d.Event.Payload, "", "  ") == nil {
		data.Body = buf.String()
	}
	if ep, err := h.svc.WebhookEndpointAs(r.Context(), rq.sess, rq.mode, d.Delivery.EndpointID); err == nil {
		data.EndpointURL = ep.URL
	}
	slices.Reverse(data.Attempts) // newest first, as the log
	pd := h.page(rq, "webhooks", "Delivery "+d.Delivery.ID, data)
	if r.URL.Query().Get("done") == "replayed" {
		pd.Flash = "The delivery is pending again and will be sent within seconds, with the same event id and body."
	}
	return h.render(w, http.StatusOK, "webhook_delivery", pd)
}

func (h *handler) replayDelivery(w http.ResponseWriter, r *http.Request, rq *request) error {
	d, err := h.svc.ReplayDeliveryAs(r.Context(), rq.sess, rq.mode, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.log.Info("dashboard: webhook delivery replayed", "user_id", rq.user.ID, "delivery_id", d.ID)
	http.Redirect(w, r, modePath(rq.mode, "webhook-deliveries/"+d.ID)+"?done=replayed", http.StatusSeeOther)
	return nil
}

// restoreKey lifts a key's quarantine, from the banner.
func (h *handler) restoreKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	k, err := h.ownKey(r.Context(), rq, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := h.svc.RestoreKeyAs(r.Context(), rq.sess, k.ID); err != nil {
		return err
	}
	h.log.Info("dashboard: key restored from quarantine", "user_id", rq.user.ID, "key_id", k.ID)
	http.Redirect(w, r, modePath(rq.mode, "keys")+"?done=restored", http.StatusSeeOther)
	return nil
}

// loadQuarantine fills the request's quarantined keys, for the banner of
// every page of the mode. The page matters more than its banner: a failure
// is logged, and the page shown without it.
func (h *handler) loadQuarantine(r *http.Request, rq *request) {
	if rq.sess.NeedsTwoFactorSetup {
		return // nothing is shown until two-factor sign-in is set up
	}
	ks, err := h.svc.QuarantinedKeys(r.Context(), rq.sess, rq.mode)
	if err != nil {
		h.log.Warn("dashboard: quarantined keys unavailable", "account_id", rq.account.ID, "err", err)
		return
	}
	rq.quarantined = ks
}
