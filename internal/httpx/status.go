package httpx

import (
	"maps"
	"net/http"
	"slices"

	"github.com/amp-protocol/amp"
)

// statusByCode is the one table from error code to HTTP status, for the
// API's envelopes and the dashboard's pages alike (docs/api.md#errors). A
// code missing here is a bug and is answered as an internal error.
var statusByCode = map[string]int{
	amp.CodeInvalidRequest:         http.StatusBadRequest,
	amp.CodeInvalidUserID:          http.StatusBadRequest,
	amp.CodeInvalidTask:            http.StatusBadRequest,
	amp.CodeInvalidPreference:      http.StatusBadRequest,
	amp.CodeUnauthorized:           http.StatusUnauthorized,
	amp.CodeKeyExpired:             http.StatusUnauthorized,
	amp.CodeKeyQuarantined:         http.StatusUnauthorized,
	amp.CodeForbidden:              http.StatusForbidden,
	amp.CodeNotFound:               http.StatusNotFound,
	amp.CodeInvalidRequestID:       http.StatusNotFound,
	amp.CodeMethodNotAllowed:       http.StatusMethodNotAllowed,
	amp.CodeOutcomeAlreadyReported: http.StatusConflict,
	amp.CodeRequestExpired:         http.StatusGone,
	amp.CodePayloadTooLarge:        http.StatusRequestEntityTooLarge,
	amp.CodeRateLimitExceeded:      http.StatusTooManyRequests,
	amp.CodeQuotaExceeded:          http.StatusTooManyRequests,
	amp.CodeInternal:               http.StatusInternalServerError,
	amp.CodeServiceUnavailable:     http.StatusServiceUnavailable,
}

// Status returns the HTTP status of an error code, and 500 for a code
// that is not defined.
func Status(code string) int {
	if st, ok := statusByCode[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// KnownCode reports whether code is in the table.
func KnownCode(code string) bool {
	_, ok := statusByCode[code]
	return ok
}

// Codes returns every error code the table knows, sorted.
func Codes() []string {
	return slices.Sorted(maps.Keys(statusByCode))
}
