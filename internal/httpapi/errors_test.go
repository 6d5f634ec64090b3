package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpapi"
	"github.com/amp-protocol/amp/internal/service"
)

// contractStatus is the table of docs/api.md#errors, written out
// independently of the server's.
var contractStatus = map[string]int{
	"INVALID_REQUEST":          400,
	"INVALID_USER_ID":          400,
	"INVALID_TASK":             400,
	"INVALID_PREFERENCE":       400,
	"UNAUTHORIZED":             401,
	"KEY_EXPIRED":              401,
	"KEY_QUARANTINED":          401,
	"FORBIDDEN":                403,
	"NOT_FOUND":                404,
	"INVALID_REQUEST_ID":       404,
	"METHOD_NOT_ALLOWED":       405,
	"OUTCOME_ALREADY_REPORTED": 409,
	"REQUEST_EXPIRED":          410,
	"PAYLOAD_TOO_LARGE":        413,
	"RATE_LIMIT_EXCEEDED":      429,
	"QUOTA_EXCEEDED":           429,
	"INTERNAL_ERROR":           500,
	"SERVICE_UNAVAILABLE":      503,
}

func TestStatusTable(t *testing.T) {
	for code, want := range contractStatus {
		if got := httpapi.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%s) = %d, want %d", code, got, want)
		}
	}
	if got, want := httpapi.Codes(), slices.Sorted(func(yield func(string) bool) {
		for c := range contractStatus {
			if !yield(c) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("Codes() = %v, want %v", got, want)
	}
	if got := httpapi.HTTPStatus("NO_SUCH_CODE"); got != 500 {
		t.Errorf("HTTPStatus of an unknown code = %d, want 500", got)
	}
}

// errorCase is one way to provoke an error code.
type errorCase struct {
	name  string
	opts  []func(*options)
	run   func(t *testing.T, f *fixture) *result
	check func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail)
}

func post(path, key string, body any) request {
	return request{method: "POST", path: path, key: key, body: body}
}

func wantField(field string) func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
	return func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
		t.Helper()
		if got := e.Details["field"]; got != field {
			t.Errorf("details.field = %v, want %s (message %q)", got, field, e.Message)
		}
	}
}

func nested(depth int) map[string]any {
	m := map[string]any{"leaf": 1}
	for range depth - 1 {
		m = map[string]any{"n": m}
	}
	return m
}

// limiterRefusing returns options whose limiter refuses with err.
func limiterRefusing(st amp.RateState, err error) func(*options) {
	return func(o *options) {
		o.limiter = &fakeLimiter{AdmitFn: func(*amp.Account, *amp.APIKey, time.Time) (amp.RateState, error) { return st, err }}
	}
}

func learnerWith(l *fakeLearner) func(*options) { return func(o *options) { o.learner = l } }

// TestErrorCodes provokes every error code of docs/api.md#errors through the
// real server and checks status, code, envelope and headers (do checks the
// envelope and the OpenAPI document on every response).
func TestErrorCodes(t *testing.T) {
	ctxBody := func(userID, task string) map[string]any { return map[string]any{"userId": userID, "task": task} }
	tooLarge := `{"userId":"u","task":"` + strings.Repeat("x", amp.MaxBodyBytes) + `"}`
	secretCause := "dial tcp 10.1.2.3:5432: password authentication failed for hunter2"

	cases := map[string][]errorCase{
		amp.CodeInvalidRequest: {
			{name: "MalformedJSON", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId": "u", "task":`))
			}},
			{name: "WrongType", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x","started":"yes"}`))
			}, check: wantField("started")},
			{name: "WrongTypeEnum", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId":"u","task":"t","complexity":5}`))
			}, check: wantField("complexity")},
			{name: "WrongTypeUserID", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId":42,"task":"t"}`))
			}, check: wantField("userId")},
			{name: "TrailingGarbage", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId":"u","task":"t"} x`))
			}},
			{name: "TwoValues", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId":"u","task":"t"}{}`))
			}},
			{name: "Array", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `[{"userId":"u","task":"t"}]`))
			}},
			{name: "Null", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `null`))
			}},
			{name: "EmptyBody", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ``))
			}},
			{name: "DuplicateField", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userId":"a","task":"t","userId":"b"}`))
			}, check: wantField("userId")},
			{name: "BadComplexity", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t", "complexity": "extreme"}))
			}, check: wantField("complexity")},
			{name: "TaskTypeTooLong", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t", "taskType": strings.Repeat("x", 65)}))
			}, check: wantField("taskType")},
			{name: "MetadataTooDeep", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t", "metadata": nested(6)}))
			}, check: wantField("metadata")},
			{name: "MetadataNotObject", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x","started":true,"metadata":[1]}`))
			}, check: wantField("metadata")},
			{name: "StartedMissing", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x"}`))
			}, check: wantField("started")},
			{name: "SatisfactionAboveOne", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x","started":true,"satisfaction":1.5}`))
			}, check: wantField("satisfaction")},
			{name: "SatisfactionOverflows", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x","started":true,"satisfaction":1e400}`))
			}, check: wantField("satisfaction")},
			{name: "NegativeTimeToStart", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, `{"requestId":"req_x","started":true,"timeToStart":-1}`))
			}, check: wantField("timeToStart")},
			{name: "PreferenceWrongType", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/u", key: f.liveKey, body: `{"preferredFraming":3}`})
			}, check: wantField("preferredFraming")},
		},
		amp.CodeInvalidUserID: {
			{name: "Missing", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, map[string]any{"task": "t"}))
			}},
			{name: "WrongCaseFieldIsUnknown", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, `{"userid":"u","task":"t"}`))
			}},
			{name: "TooLong", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody(strings.Repeat("u", 257), "t")))
			}},
			{name: "ControlCharacterInPath", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/a%01b", key: f.liveKey})
			}},
			{name: "TooLongInPath", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/" + strings.Repeat("u", 257), key: f.liveKey, body: `{}`})
			}},
			{name: "InvalidUTF8InPath", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "DELETE", path: "/v1/profile/%ff%fe", key: f.liveKey})
			}},
		},
		amp.CodeInvalidTask: {
			{name: "Missing", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u"}))
			}},
			{name: "Blank", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", " \t ")))
			}},
			{name: "TooLong", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", strings.Repeat("t", amp.MaxTaskBytes+1))))
			}},
		},
		amp.CodeInvalidPreference: {
			{name: "Framing", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/u", key: f.liveKey, body: map[string]any{"preferredFraming": "bogus"}})
			}, check: wantField("preferredFraming")},
			{name: "Encouragement", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/u", key: f.liveKey, body: map[string]any{"encouragementLevel": "lots"}})
			}, check: wantField("encouragementLevel")},
		},
		amp.CodeUnauthorized: {
			{name: "NoHeader", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", "", ctxBody("u", "t")))
			}},
			{name: "OtherScheme", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/u", header: http.Header{"Authorization": {"Basic " + f.liveKey}}})
			}},
			{name: "Malformed", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", "amp_sk_live_1234567890abcdef", ctxBody("u", "t")))
			}},
			{name: "BadChecksum", run: func(t *testing.T, f *fixture) *result {
				k := []byte(f.liveKey)
				k[15] ^= 1
				return f.do(t, post("/v1/context", string(k), ctxBody("u", "t")))
			}},
			{name: "UnknownWellFormed", run: func(t *testing.T, f *fixture) *result {
				k, err := amp.NewKey(strings.NewReader(strings.Repeat("k", 200)), amp.ModeLive)
				if err != nil {
					t.Fatal(err)
				}
				return f.do(t, post("/v1/context", k, ctxBody("u", "t")))
			}},
			{name: "Revoked", run: func(t *testing.T, f *fixture) *result {
				if _, err := f.svc.RevokeKey(context.Background(), f.acct.ID, f.liveKey); err != nil {
					t.Fatal(err)
				}
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}},
		},
		amp.CodeKeyExpired: {
			{name: "PastExpiry", run: func(t *testing.T, f *fixture) *result {
				k := f.key(t, f.acct.ID, amp.ModeLive, service.KeyOptions{ExpiresIn: time.Hour})
				f.getContext(t, k, "u") // valid before
				f.clock.Advance(2 * time.Hour)
				return f.do(t, post("/v1/context", k, ctxBody("u", "t")))
			}},
			{name: "RolledPastGrace", run: func(t *testing.T, f *fixture) *result {
				if _, err := f.svc.RollKey(context.Background(), f.acct.ID, f.liveKey, time.Hour); err != nil {
					t.Fatal(err)
				}
				f.getContext(t, f.liveKey, "u") // within the grace period
				f.clock.Advance(time.Hour + time.Second)
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}},
		},
		amp.CodeKeyQuarantined: {
			{name: "Quarantined", run: func(t *testing.T, f *fixture) *result {
				f.getContext(t, f.liveKey, "u") // valid before
				if _, err := f.svc.QuarantineKey(context.Background(), f.acct.ID, f.liveKey, "found in a public repository"); err != nil {
					t.Fatal(err)
				}
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				if e.Details["reason"] != "found in a public repository" || !strings.Contains(e.Message, "restore") {
					t.Errorf("the refusal does not say why or what to do: %q %v", e.Message, e.Details)
				}
			}},
		},
		amp.CodeForbidden: {
			{name: "ReadWithContextKey", run: func(t *testing.T, f *fixture) *result {
				k := f.key(t, f.acct.ID, amp.ModeLive, service.KeyOptions{Scopes: []amp.Scope{amp.ScopeContext}})
				return f.do(t, request{method: "GET", path: "/v1/profile/u", key: k})
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				if e.Details["requiredScope"] != "profiles:read" {
					t.Errorf("details = %v, want requiredScope profiles:read", e.Details)
				}
				wantRateHeaders(t, res)
			}},
			{name: "ContextWithOutcomeKey", run: func(t *testing.T, f *fixture) *result {
				k := f.key(t, f.acct.ID, amp.ModeTest, service.KeyOptions{Scopes: []amp.Scope{amp.ScopeOutcome}})
				return f.do(t, post("/v1/context", k, ctxBody("u", "t")))
			}},
			{name: "DeleteWithReadKey", run: func(t *testing.T, f *fixture) *result {
				k := f.key(t, f.acct.ID, amp.ModeTest, service.KeyOptions{Scopes: []amp.Scope{amp.ScopeProfilesRead}})
				return f.do(t, request{method: "DELETE", path: "/v1/profile/u", key: k})
			}},
		},
		amp.CodeNotFound: {
			{name: "UnknownRoute", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v2/context", key: f.liveKey})
			}},
			{name: "UnknownRouteNoKey", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "POST", path: "/v1/contexts"})
			}},
			{name: "DotSegment", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/./context", f.liveKey, ctxBody("u", "t")))
			}},
			{name: "DoubleSlash", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1//context", f.liveKey, ctxBody("u", "t")))
			}},
			{name: "DotDotInUserID", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/..", key: f.liveKey})
			}},
			{name: "EmptyUserIDSegment", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/", key: f.liveKey})
			}},
			{name: "GetAbsentProfile", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/nobody", key: f.liveKey})
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) { wantRateHeaders(t, res) }},
			{name: "DeleteAbsentProfile", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "DELETE", path: "/v1/profile/nobody", key: f.liveKey})
			}},
		},
		amp.CodeInvalidRequestID: {
			{name: "Unknown", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": "req_000000000000000000000000", "started": true}))
			}},
			{name: "OtherAccount", run: func(t *testing.T, f *fixture) *result {
				c := f.getContext(t, f.otherKey, "u")
				return f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c.RequestID, "started": true}))
			}},
			{name: "OtherMode", run: func(t *testing.T, f *fixture) *result {
				c := f.getContext(t, f.testKey, "u")
				return f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c.RequestID, "started": true}))
			}},
		},
		amp.CodeMethodNotAllowed: {
			{name: "GetContext", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/context", key: f.liveKey})
			}, check: wantAllow("POST")},
			{name: "PatchProfile", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PATCH", path: "/v1/profile/u", key: f.liveKey, body: `{}`})
			}, check: wantAllow("DELETE", "GET", "HEAD", "PUT")},
			{name: "PostHealthz", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "POST", path: "/healthz"})
			}, check: wantAllow("GET", "HEAD")},
		},
		amp.CodeOutcomeAlreadyReported: {
			{name: "Second", run: func(t *testing.T, f *fixture) *result {
				c := f.getContext(t, f.liveKey, "u")
				f.reportOutcome(t, f.liveKey, c.RequestID)
				return f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c.RequestID, "started": false}))
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				var p amp.Profile
				wantOK(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: f.liveKey}), &p)
				if p.TotalInteractions != 1 || p.CompletionRate != 1 {
					t.Errorf("after a refused second outcome: totalInteractions %d, completionRate %v; want the first kept (1, 1)", p.TotalInteractions, p.CompletionRate)
				}
			}},
		},
		amp.CodeRequestExpired: {
			{name: "After25Hours", run: func(t *testing.T, f *fixture) *result {
				c := f.getContext(t, f.liveKey, "u")
				f.clock.Advance(25 * time.Hour)
				return f.do(t, post("/v1/outcome", f.liveKey, map[string]any{"requestId": c.RequestID, "started": true}))
			}},
		},
		amp.CodePayloadTooLarge: {
			{name: "Context", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, tooLarge))
			}},
			{name: "Outcome", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/outcome", f.liveKey, tooLarge))
			}},
			{name: "Profile", run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/u", key: f.liveKey, body: tooLarge})
			}},
		},
		amp.CodeRateLimitExceeded: {
			{name: "Limiter", opts: []func(*options){limiterRefusing(
				amp.RateState{Limit: 10, Remaining: 0, Reset: 300 * time.Millisecond},
				amp.Errorf(amp.CodeRateLimitExceeded, "Rate limit exceeded.").WithDetails(map[string]any{"limit": 10, "window": "1s", "retryAfter": 42}),
			)}, run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				if got := res.header.Get("Retry-After"); got != "42" {
					t.Errorf("Retry-After = %q, want 42", got)
				}
				if e.Details["retryAfter"] != float64(42) || e.Details["window"] != "1s" || e.Details["limit"] != float64(10) {
					t.Errorf("details = %v", e.Details)
				}
				wantHeaders(t, res, map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
					"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})
			}},
			{name: "FailedAuthenticationsPerIP", opts: []func(*options){func(o *options) { o.authFailures = 2 }},
				run: func(t *testing.T, f *fixture) *result {
					for range 2 {
						wantError(t, f.do(t, post("/v1/context", "amp_sk_live_nope", ctxBody("u", "t"))), 401, amp.CodeUnauthorized)
					}
					// A valid key still passes from this address; a further
					// failure is refused.
					wantOK(t, f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t"))), nil)
					return f.do(t, post("/v1/context", "amp_sk_live_nope", ctxBody("u", "t")))
				}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
					if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
						t.Errorf("Retry-After = %q", ra)
					}
				}},
		},
		amp.CodeQuotaExceeded: {
			{name: "Limiter", opts: []func(*options){limiterRefusing(
				defaultRate,
				amp.Errorf(amp.CodeQuotaExceeded, "Monthly quota used up.").WithDetails(map[string]any{"limit": 100000, "period": "month", "resetsAt": "2026-04-01T00:00:00Z"}),
			)}, run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "GET", path: "/v1/profile/u", key: f.liveKey})
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				if e.Details["period"] != "month" || e.Details["resetsAt"] != "2026-04-01T00:00:00Z" {
					t.Errorf("details = %v", e.Details)
				}
				wantRateHeaders(t, res)
			}},
		},
		amp.CodeInternal: {
			{name: "LearnerError", opts: []func(*options){learnerWith(&fakeLearner{
				DecideFn: func(*amp.DecideInput) (*amp.Choice, error) { return nil, errors.New(secretCause) },
			})}, run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}, check: wantCauseLoggedNotShown(secretCause)},
			{name: "LearnerPanic", opts: []func(*options){learnerWith(&fakeLearner{
				DecideFn: func(*amp.DecideInput) (*amp.Choice, error) { panic(secretCause) },
			})}, run: func(t *testing.T, f *fixture) *result {
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				wantCauseLoggedNotShown(secretCause)(t, f, res, e)
				// A panicking handler is still reported, as a 500.
				if ev := f.meter.next(t); ev.Status != 500 || ev.Route != "POST /v1/context" {
					t.Errorf("event = %+v, want status 500 on POST /v1/context", ev)
				}
			}},
			{name: "SummarizeError", opts: []func(*options){learnerWith(&fakeLearner{
				SummarizeFn: func(user, pop []byte) (*amp.ModelSummary, error) { return nil, errors.New(secretCause) },
			})}, run: func(t *testing.T, f *fixture) *result {
				return f.do(t, request{method: "PUT", path: "/v1/profile/u", key: f.liveKey, body: `{}`})
			}, check: wantCauseLoggedNotShown(secretCause)},
		},
		amp.CodeServiceUnavailable: {
			{name: "ClosedStore", run: func(t *testing.T, f *fixture) *result {
				f.getContext(t, f.liveKey, "u")
				if err := f.db.Close(); err != nil {
					t.Fatal(err)
				}
				return f.do(t, post("/v1/context", f.liveKey, ctxBody("u", "t")))
			}, check: wantRetryAfter("1")},
			{name: "ClosedStoreUnknownKey", run: func(t *testing.T, f *fixture) *result {
				if err := f.db.Close(); err != nil {
					t.Fatal(err)
				}
				return f.do(t, request{method: "GET", path: "/v1/profile/u", key: f.testKey})
			}, check: wantRetryAfter("1")},
			{name: "Readyz", run: func(t *testing.T, f *fixture) *result {
				wantOK(t, f.do(t, request{method: "GET", path: "/readyz"}), nil)
				if err := f.db.Close(); err != nil {
					t.Fatal(err)
				}
				return f.do(t, request{method: "GET", path: "/readyz"})
			}, check: wantRetryAfter("1")},
			{name: "Draining", run: func(t *testing.T, f *fixture) *result {
				f.server.Drain()
				return f.do(t, request{method: "GET", path: "/readyz"})
			}, check: func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
				wantRetryAfter("1")(t, f, res, e)
				// Draining does not stop service.
				f.getContext(t, f.liveKey, "u")
			}},
		},
	}

	for code := range contractStatus {
		if len(cases[code]) == 0 {
			t.Errorf("no test case provokes %s", code)
		}
	}
	for _, code := range slices.Sorted(func(yield func(string) bool) {
		for c := range cases {
			if !yield(c) {
				return
			}
		}
	}) {
		for _, c := range cases[code] {
			t.Run(code+"/"+c.name, func(t *testing.T) {
				f := newFixture(t, c.opts...)
				res := c.run(t, f)
				e := wantError(t, res, contractStatus[code], code)
				if res.header.Get("Retry-After") != "" && code != amp.CodeRateLimitExceeded && code != amp.CodeServiceUnavailable {
					t.Errorf("Retry-After on %s", code)
				}
				if code == amp.CodeUnauthorized || code == amp.CodeKeyExpired || code == amp.CodeKeyQuarantined {
					if h := res.header.Get("RateLimit-Limit"); h != "" {
						t.Errorf("an unauthenticated response carries RateLimit-Limit %s", h)
					}
				}
				if c.check != nil {
					c.check(t, f, res, e)
				}
			})
		}
	}
}

func wantAllow(methods ...string) func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
	return func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
		t.Helper()
		got := strings.Split(res.header.Get("Allow"), ", ")
		slices.Sort(got)
		if !slices.Equal(got, methods) {
			t.Errorf("Allow = %q, want %v", res.header.Get("Allow"), methods)
		}
	}
}

func wantRetryAfter(v string) func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
	return func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
		t.Helper()
		if got := res.header.Get("Retry-After"); got != v {
			t.Errorf("Retry-After = %q, want %q", got, v)
		}
	}
}

// wantCauseLoggedNotShown checks that an internal error's cause is in the
// log under the request id, and nowhere in the response.
func wantCauseLoggedNotShown(cause string) func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
	return func(t *testing.T, f *fixture, res *result, e amp.ErrorDetail) {
		t.Helper()
		if strings.Contains(string(res.body), "hunter2") || strings.Contains(string(res.body), "10.1.2.3") || e.Details != nil {
			t.Errorf("the response shows internals: %s", res.body)
		}
		found := false
		for _, l := range f.logs.lines(t) {
			if l["msg"] == "internal error" && l["request_id"] == e.RequestID && strings.Contains(l["err"].(string), cause) {
				found = true
			}
		}
		if !found {
			t.Errorf("no internal-error log line with request_id %s and the cause; log:\n%s", e.RequestID, f.logs.String())
		}
	}
}

func wantHeaders(t *testing.T, res *result, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := res.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// wantRateHeaders checks the default fake limiter's state in the headers.
func wantRateHeaders(t *testing.T, res *result) {
	t.Helper()
	wantHeaders(t, res, map[string]string{
		"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "2",
		"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9", "X-RateLimit-Reset": "2",
	})
}
