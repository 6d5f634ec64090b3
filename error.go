package amp

import (
	"context"
	"errors"
	"fmt"
)

// Error codes of the API (docs/api.md#errors). The HTTP status of each is
// defined once, in internal/httpapi.
const (
	CodeInvalidRequest         = "INVALID_REQUEST"
	CodeInvalidUserID          = "INVALID_USER_ID"
	CodeInvalidTask            = "INVALID_TASK"
	CodeInvalidPreference      = "INVALID_PREFERENCE"
	CodeUnauthorized           = "UNAUTHORIZED"
	CodeKeyExpired             = "KEY_EXPIRED"
	CodeKeyQuarantined         = "KEY_QUARANTINED"
	CodeForbidden              = "FORBIDDEN"
	CodeNotFound               = "NOT_FOUND"
	CodeInvalidRequestID       = "INVALID_REQUEST_ID"
	CodeMethodNotAllowed       = "METHOD_NOT_ALLOWED"
	CodeOutcomeAlreadyReported = "OUTCOME_ALREADY_REPORTED"
	CodeRequestExpired         = "REQUEST_EXPIRED"
	CodePayloadTooLarge        = "PAYLOAD_TOO_LARGE"
	CodeRateLimitExceeded      = "RATE_LIMIT_EXCEEDED"
	CodeQuotaExceeded          = "QUOTA_EXCEEDED"
	CodeInternal               = "INTERNAL_ERROR"
	CodeServiceUnavailable     = "SERVICE_UNAVAILABLE"
)

// Error is an error the API reports to its caller. Message and Details are
// shown to the client; Err is the cause, logged but never shown.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns e with details attached.
func (e *Error) WithDetails(d map[string]any) *Error {
	e.Details = d
	return e
}

// ErrorCode returns the code of the *Error in err's chain. A cancelled or
// timed-out context maps to SERVICE_UNAVAILABLE rather than an internal
// error, ErrInvalidInput (a store refusing text) to INVALID_REQUEST;
// anything else unknown is INTERNAL_ERROR.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return CodeServiceUnavailable
	}
	if errors.Is(err, ErrInvalidInput) {
		return CodeInvalidRequest
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic message: their cause is logged, never shown.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	switch ErrorCode(err) {
	case CodeServiceUnavailable:
		return "The service is temporarily unavailable. Please retry."
	case CodeInvalidRequest:
		return invalidTextMessage
	}
	return "An internal error occurred."
}

// ErrorDetails returns the client-visible details of err, if any.
func ErrorDetails(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// Storage sentinels. Backends map their driver's errors onto these, so that
// the service never inspects driver errors.
var (
	// ErrNotFound: the row does not exist in the caller's account and mode.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint would be violated.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store cannot be reached or is shutting down.
	ErrUnavailable = errors.New("store unavailable")
)
