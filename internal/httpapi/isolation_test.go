package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// shape is what a client can observe of a response, minus what differs
// between any two requests (the request id, the timestamp, the date) and
// the userId it asked about.
type shape struct {
	Status  int
	Headers []string
	Body    any
}

func shapeOf(t *testing.T, res *result, userID string) shape {
	t.Helper()
	var body any
	res.decode(t, &body)
	var scrub func(v any) any
	scrub = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				switch {
				case k == "requestId" || k == "timestamp":
					out[k] = "…"
				case k == "userId" && e == userID:
					out[k] = "<user>"
				default:
					out[k] = scrub(e)
				}
			}
			return out
		case []any:
			for i := range x {
				x[i] = scrub(x[i])
			}
		}
		return v
	}
	names := slices.Sorted(maps.Keys(res.header))
	names = slices.DeleteFunc(names, func(h string) bool { return h == "Date" })
	return shape{Status: res.status, Headers: names, Body: scrub(body)}
}

// wantSame checks that two responses look the same to a client.
func wantSame(t *testing.T, what string, a *result, aUser string, b *result, bUser string) {
	t.Helper()
	sa, sb := shapeOf(t, a, aUser), shapeOf(t, b, bUser)
	if !reflect.DeepEqual(sa, sb) {
		ja, _ := json.Marshal(sa)
		jb, _ := json.Marshal(sb)
		t.Errorf("%s: the response reveals data of another tenant:\n got %s\nwant %s (as for data that never existed)", what, ja, jb)
	}
}

// TestIsolation checks that a key cannot read, change, delete or even
// detect the data of another mode or account: every answer about the
// owner's user is the one a truly absent user gets, and the owner's data
// is unchanged afterwards.
func TestIsolation(t *testing.T) {
	f := newFixture(t)
	pairs := []struct{ name, owner, intruder string }{
		{"TestKeyOnLiveData", f.liveKey, f.testKey},
		{"LiveKeyOnTestData", f.testKey, f.liveKey},
		{"OtherAccountOnLiveData", f.liveKey, f.otherKey},
		{"LiveDataOfOtherAccount", f.otherKey, f.liveKey},
	}
	for i, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			user := fmt.Sprintf("alice-%d", i)
			profile := "/v1/profile/" + user
			c1 := f.getContext(t, p.owner, user)
			f.reportOutcome(t, p.owner, c1.RequestID)
			pending := f.getContext(t, p.owner, user) // no outcome yet
			wantOK(t, f.do(t, request{method: "PUT", path: profile, key: p.owner,
				body: map[string]any{"preferredFraming": "challenge", "metadata": map[string]any{"owner": "secret"}}}), nil)
			var before amp.Profile
			wantOK(t, f.do(t, request{method: "GET", path: profile, key: p.owner}), &before)

			absent := fmt.Sprintf("nobody-%d", i)
			wantSame(t, "GET",
				f.do(t, request{method: "GET", path: profile, key: p.intruder}), user,
				f.do(t, request{method: "GET", path: "/v1/profile/" + absent, key: p.intruder}), absent)
			wantSame(t, "DELETE",
				f.do(t, request{method: "DELETE", path: profile, key: p.intruder}), user,
				f.do(t, request{method: "DELETE", path: "/v1/profile/" + absent, key: p.intruder}), absent)
			wantSame(t, "POST /v1/outcome",
				f.do(t, post("/v1/outcome", p.intruder, map[string]any{"requestId": pending.RequestID, "started": true})), "",
				f.do(t, post("/v1/outcome", p.intruder, map[string]any{"requestId": "req_" + strings.Repeat("0", 24), "started": true})), "")
			// A context for the same userId starts from nothing, like one
			// for a user never seen anywhere.
			fresh := fmt.Sprintf("fresh-%d", i)
			wantSame(t, "POST /v1/context",
				f.do(t, post("/v1/context", p.intruder, map[string]any{"userId": user, "task": "t", "taskType": "writing"})), user,
				f.do(t, post("/v1/context", p.intruder, map[string]any{"userId": fresh, "task": "t", "taskType": "writing"})), fresh)
			// Setting preferences creates the intruder's own profile, which
			// shows nothing of the owner's.
			update := map[string]any{"communicationStyle": "technical"}
			fresh2 := fmt.Sprintf("fresh2-%d", i)
			wantSame(t, "PUT",
				f.do(t, request{method: "PUT", path: profile, key: p.intruder, body: update}), user,
				f.do(t, request{method: "PUT", path: "/v1/profile/" + fresh2, key: p.intruder, body: update}), fresh2)

			var after amp.Profile
			wantOK(t, f.do(t, request{method: "GET", path: profile, key: p.owner}), &after)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("the owner's profile changed:\nbefore %+v\n after %+v", before, after)
			}
			// The intruder's attempt consumed nothing: the owner can still
			// report the pending outcome.
			f.reportOutcome(t, p.owner, pending.RequestID)
		})
	}
}

// TestRequestIDBoundToTenant checks that a requestId issued to one
// account and mode is unknown to every other, and that trying it there
// does not use it up.
func TestRequestIDBoundToTenant(t *testing.T) {
	f := newFixture(t)
	keys := map[string]string{
		"A/live": f.liveKey,
		"A/test": f.testKey,
		"B/live": f.otherKey,
		"B/test": f.key(t, f.other.ID, amp.ModeTest, service.KeyOptions{}),
	}
	names := slices.Sorted(maps.Keys(keys))
	for _, issuer := range names {
		c := f.getContext(t, keys[issuer], "u")
		for _, other := range names {
			if other == issuer {
				continue
			}
			res := f.do(t, post("/v1/outcome", keys[other], map[string]any{"requestId": c.RequestID, "started": true}))
			if res.status != 404 || res.errorBody(t).Code != amp.CodeInvalidRequestID {
				t.Errorf("requestId of %s reported with %s: got %d %s, want 404 INVALID_REQUEST_ID", issuer, other, res.status, res.body)
			}
		}
		f.reportOutcome(t, keys[issuer], c.RequestID)
	}
}
