package httpapi

import (
	"net/http"
	"strconv"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
)

// Each handler decodes its request, calls one service method and encodes
// the result. Authentication, rate limiting and scopes happened before
// (authenticate); validation and every business rule happen after, in the
// service.

// handleContext answers POST /v1/context. The decision is logged under the
// request's own id, so the body's requestId equals the X-Request-Id header.
func (s *Server) handleContext(w http.ResponseWriter, r *http.Request) error {
	var req amp.ContextRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := s.svc.GetContext(ctx, principalFrom(ctx), httpx.FromContext(ctx).ID, &req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// handleOutcome answers POST /v1/outcome.
func (s *Server) handleOutcome(w http.ResponseWriter, r *http.Request) error {
	var req amp.OutcomeRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.ReportOutcome(r.Context(), principalFrom(r.Context()), &req); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, amp.OutcomeResponse{Success: true, Message: amp.OutcomeReportedMessage})
}

// handleGetProfile answers GET /v1/profile/{userId}. The path value is
// percent-decoded by the mux; the service validates it.
func (s *Server) handleGetProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.GetProfile(r.Context(), principalFrom(r.Context()), r.PathValue("userId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// handleUpdateProfile answers PUT /v1/profile/{userId}.
func (s *Server) handleUpdateProfile(w http.ResponseWriter, r *http.Request) error {
	var u amp.ProfileUpdate
	if err := decodeBody(w, r, &u); err != nil {
		return err
	}
	p, err := s.svc.UpdateProfile(r.Context(), principalFrom(r.Context()), r.PathValue("userId"), &u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// handleDeleteProfile answers DELETE /v1/profile/{userId}.
func (s *Server) handleDeleteProfile(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteProfile(r.Context(), principalFrom(r.Context()), r.PathValue("userId")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, amp.DeleteResponse{Success: true})
}

// healthStatus is the body of the probes' 200 answers.
type healthStatus struct {
	Status string `json:"status"`
}

// handleHealth answers GET /healthz: the process is up and serving.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, healthStatus{Status: "ok"})
}

// handleReady answers GET /readyz: 200 when the store is reachable and the
// server is not draining, 503 SERVICE_UNAVAILABLE otherwise.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return amp.Errorf(amp.CodeServiceUnavailable, "The server is shutting down.")
	}
	if err := s.svc.Ready(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, healthStatus{Status: "ready"})
}

// handleOpenAPI serves the OpenAPI 3.1 document of the API.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(openAPIDocument)
	}
	return nil
}
