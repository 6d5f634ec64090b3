package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// badTexts break the text rule (amp.ValidText): every backend refuses them
// in a write with amp.ErrInvalidInput, which PostgreSQL must (it cannot
// store them) and SQLite is held to so that the two answer alike.
var badTexts = map[string]string{
	"NUL":         "a\x00b",
	"InvalidUTF8": "a\xffb",
	"Surrogate":   "a\xed\xa0\x80b", // U+D800 encoded: not UTF-8
}

// badJSON breaks the text rule inside JSON: a \u0000 escape, a lone
// surrogate escape, invalid UTF-8 in a string.
var badJSON = map[string]json.RawMessage{
	"NULEscape":      json.RawMessage(`{"a":"\u0000"}`),
	"NULEscapeInKey": json.RawMessage(`{"\u0000":1}`),
	"LoneSurrogate":  json.RawMessage(`{"a":"\ud800"}`),
	"InvalidUTF8":    json.RawMessage("{\"a\":\"\xff\"}"),
}

// wantInvalid fails unless err is amp.ErrInvalidInput.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, amp.ErrInvalidInput) {
		t.Errorf("%s: got %v, want ErrInvalidInput", what, err)
	}
}

// wantNotFoundOrInvalid: a lookup by text that breaks the rule finds
// nothing, or is refused; it never fails otherwise.
func wantNotFoundOrInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, amp.ErrNotFound) && !errors.Is(err, amp.ErrInvalidInput) {
		t.Errorf("%s: got %v, want ErrNotFound or ErrInvalidInput", what, err)
	}
}

func (s *suite) testTextRule(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	setupAccounts(t, st)
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			a := newAccount("acct_text_"+name, at(0))
			a.Name = bad
			wantInvalid(t, "CreateAccount with a bad name", st.CreateAccount(ctx, a))
			_, err := st.Account(ctx, a.ID)
			wantErr(t, "the refused account", err, amp.ErrNotFound)

			acct, err := st.Account(ctx, tenantA.AccountID)
			noErr(t, "Account", err)
			acct.Name = bad
			wantInvalid(t, "UpdateAccount with a bad name", st.UpdateAccount(ctx, acct))

			k := newKey("key_text_"+name+"_0001", tenantA, at(0))
			k.Name = bad
			wantInvalid(t, "CreateKey with a bad name", st.CreateKey(ctx, k))
			_, err = st.KeyByHash(ctx, k.Hash)
			wantErr(t, "the refused key", err, amp.ErrNotFound)
			_, err = st.KeyByHash(ctx, bad)
			wantNotFoundOrInvalid(t, "KeyByHash of bad text", err)

			d := newDecision(tenantA, "req_text_"+name, bad, at(0))
			wantInvalid(t, "SaveDecision with a bad userId", st.SaveDecision(ctx, d, &amp.ProfileRecord{Model: []byte("m")}))
			d = newDecision(tenantA, bad, "u_text", at(0))
			wantInvalid(t, "SaveDecision with a bad requestId", st.SaveDecision(ctx, d, &amp.ProfileRecord{Model: []byte("m")}))
			d = newDecision(tenantA, "req_text_tt_"+name, "u_text", at(0))
			d.TaskType = bad
			wantInvalid(t, "SaveDecision with a bad taskType", st.SaveDecision(ctx, d, &amp.ProfileRecord{Model: []byte("m")}))

			_, err = st.Profile(ctx, tenantA, bad)
			wantNotFoundOrInvalid(t, "Profile of a bad userId", err)
			_, err = st.RecordOutcome(ctx, tenantA, bad, neverCalled(t))
			wantNotFoundOrInvalid(t, "RecordOutcome of a bad requestId", err)
		})
	}
	for name, bad := range badJSON {
		t.Run("Metadata"+name, func(t *testing.T) {
			user := "u_meta_" + name
			d := newDecision(tenantA, "req_meta_"+name, user, at(0))
			err := st.SaveDecision(ctx, d, &amp.ProfileRecord{Model: []byte("m"), Metadata: bad, CreatedAt: at(0), UpdatedAt: at(0)})
			wantInvalid(t, "SaveDecision with bad profile metadata", err)
			_, err = st.Profile(ctx, tenantA, user)
			wantErr(t, "the refused profile", err, amp.ErrNotFound)

			// A good decision, then an outcome and a profile update with
			// bad metadata: both refused, nothing stored.
			noErr(t, "SaveDecision", st.SaveDecision(ctx, d, &amp.ProfileRecord{Model: []byte("m"), CreatedAt: at(0), UpdatedAt: at(0)}))
			o := &amp.OutcomeRecord{Started: true, Metadata: bad, ReportedAt: at(time.Minute)}
			_, err = st.RecordOutcome(ctx, tenantA, d.RequestID, countingApply(o))
			wantInvalid(t, "RecordOutcome with bad metadata", err)
			_, err = st.UpdateProfile(ctx, tenantA, user, func(p *amp.ProfileRecord, created bool) error {
				p.Metadata = bad
				p.UpdatedAt = at(2 * time.Minute)
				return nil
			})
			wantInvalid(t, "UpdateProfile with bad metadata", err)
			p, err := st.Profile(ctx, tenantA, user)
			noErr(t, "Profile", err)
			if p.OutcomeCount != 0 || p.Metadata != nil {
				t.Errorf("after the refused writes: outcomes %d, metadata %s", p.OutcomeCount, p.Metadata)
			}
			// The outcome was not stored: a good one is still accepted.
			o.Metadata = json.RawMessage(`{"a":"\u00e9"}`)
			_, err = st.RecordOutcome(ctx, tenantA, d.RequestID, countingApply(o))
			noErr(t, "RecordOutcome after the refused one", err)
		})
	}
}

// testDashboardTextRule holds the dashboard's rows to the text rule: the
// sign-in email above all, which anyone may type.
func (s *dashSuite) testTextRule(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			u := dashUser("du_text_"+name, bad+"@example.com", "acct_dtext_"+name)
			wantInvalid(t, "CreateDashboardUser with a bad email", st.CreateDashboardUser(ctx, u, dashAccount(u.AccountID)))
			_, err := st.DashboardUser(ctx, u.ID)
			wantErr(t, "the refused user", err, amp.ErrNotFound)
			_, err = st.DashboardUserByEmail(ctx, bad+"@example.com")
			wantNotFoundOrInvalid(t, "DashboardUserByEmail of a bad email", err)
		})
	}
}
