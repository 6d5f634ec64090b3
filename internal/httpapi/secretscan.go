package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// handleSecretScanning answers POST /v1/secret-scanning/github, GitHub's
// secret-scanning partner call. It carries no API key: the scanner signs
// the raw body, which the service verifies before reading it, so the body
// is passed on byte for byte.
func (s *Server) handleSecretScanning(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxScanBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return amp.Errorf(amp.CodePayloadTooLarge, "The request body must be at most %d bytes.", service.MaxScanBodyBytes).
				WithDetails(map[string]any{"limit": service.MaxScanBodyBytes})
		}
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return &amp.Error{Code: amp.CodeInvalidRequest, Message: "The request body could not be read.", Err: err}
	}
	fb, err := s.svc.ReportLeakedTokens(r.Context(), r.Header.Get("Github-Public-Key-Identifier"), r.Header.Get("Github-Public-Key-Signature"), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fb)
}
