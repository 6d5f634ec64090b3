package dashboard

import (
	"net/http"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

// The Requests page: the request log, searched by key, status and request
// id (the service parses and checks the filter).

type requestsPage struct {
	Enabled     bool
	Retention   string
	Keep        int
	Keys        []*amp.APIKey // of the page's mode, for the key filter
	KeyNames    map[string]string
	Query       service.RequestLogQuery
	Entries     []*amp.RequestLogEntry
	Older       string // the "before" of the next page, RFC 3339 with nanoseconds
	FieldErrors map[string]string
}

const requestsPageSize = 50

func (h *handler) requestsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	query := service.RequestLogQuery{KeyID: q.Get("key"), Status: q.Get("status"), RequestID: q.Get("request_id"), Limit: requestsPageSize + 1}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return amp.Errorf(amp.CodeNotFound, "No such page of the request log.")
		}
		query.Before = t
	}
	data := &requestsPage{Enabled: h.svc.RequestLogEnabled(), Query: query, KeyNames: map[string]string{}}
	retention, keep := h.svc.RequestLogRetention()
	data.Retention, data.Keep = inWords(retention), keep
	keys, err := h.svc.Keys(r.Context(), rq.account.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Mode == rq.mode {
			data.Keys = append(data.Keys, k)
			name := k.Name
			if name == "" {
				name = k.Masked()
			}
			data.KeyNames[k.ID] = name
		}
	}
	if _, ok := data.KeyNames[query.KeyID]; query.KeyID != "" && !ok {
		// The key filter is a list of this mode's keys: another value is
		// a page that does not exist.
		return amp.Errorf(amp.CodeNotFound, "No such API key in %s mode.", rq.mode)
	}
	status := http.StatusOK
	es, err := h.svc.RequestLog(r.Context(), rq.sess, rq.mode, query)
	if err != nil {
		if httpx.Status(amp.ErrorCode(err)) != http.StatusBadRequest {
			return err
		}
		data.FieldErrors = fieldErrors(err, "request_id")
		status = http.StatusBadRequest
	}
	if len(es) > requestsPageSize {
		es = es[:requestsPageSize]
		data.Older = es[len(es)-1].At.Format(time.RFC3339Nano)
	}
	data.Entries = es
	pd := h.page(rq, "requests", "Requests", data)
	if status != http.StatusOK {
		pd.Error = "Check the search below."
	}
	return h.render(w, status, "requests", pd)
}
