package amp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func TestAdminRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"EmptyKeyName", amp.ValidateKeyName(""), true},
		{"KeyName", amp.ValidateKeyName("ci — été"), true},
		{"KeyName100", amp.ValidateKeyName(strings.Repeat("n", 100)), true},
		{"KeyName101", amp.ValidateKeyName(strings.Repeat("n", 101)), false},
		{"KeyNameBEL", amp.ValidateKeyName("bad\x07name"), false},
		{"KeyNameDEL", amp.ValidateKeyName("bad\x7fname"), false},
		{"KeyNameC1", amp.ValidateKeyName("bad\u0085name"), false},
		{"KeyNameBadUTF8", amp.ValidateKeyName("bad\xffname"), false},
		{"NoScopes", amp.ValidateScopes(nil), true},
		{"Scopes", amp.ValidateScopes(amp.AllScopes), true},
		{"UnknownScope", amp.ValidateScopes([]amp.Scope{amp.ScopeContext, "admin"}), false},
		{"PlanRate", amp.ValidateKeyRateLimit(0, 10), true},
		{"RateAtPlan", amp.ValidateKeyRateLimit(10, 10), true},
		{"RateAbovePlan", amp.ValidateKeyRateLimit(11, 10), false},
		{"NegativeRate", amp.ValidateKeyRateLimit(-1, 10), false},
		{"NeverExpires", amp.ValidateKeyExpiry(0), true},
		{"TenYears", amp.ValidateKeyExpiry(amp.MaxKeyLifetime), true},
		{"PastExpiry", amp.ValidateKeyExpiry(-time.Second), false},
		{"TooFar", amp.ValidateKeyExpiry(amp.MaxKeyLifetime + 1), false},
		{"GraceNow", amp.ValidateRollGrace(0), true},
		{"GraceTooLong", amp.ValidateRollGrace(amp.MaxRollGrace + 1), false},
		{"Mode", amp.ValidateMode(amp.ModeLive), true},
		{"BadMode", amp.ValidateMode("prod"), false},
		{"AccountName", amp.ValidateAccountName("Analytical Engines"), true},
		{"NoAccountName", amp.ValidateAccountName(""), false},
		{"AccountNameNUL", amp.ValidateAccountName("a\x00b"), false},
		{"Email", amp.ValidateEmail("ada@example.com"), true},
		{"EmailNoDot", amp.ValidateEmail("ada@localhost"), false},
		{"EmailDisplayName", amp.ValidateEmail("Ada <ada@example.com>"), false},
		{"EmailTooLong", amp.ValidateEmail(strings.Repeat("a", 250) + "@example.com"), false},
		{"Password", amp.ValidatePassword("correct horse battery staple"), true},
		{"ShortPassword", amp.ValidatePassword("short"), false},
		{"LongPassword", amp.ValidatePassword(strings.Repeat("x", amp.MaxPasswordBytes+1)), false},
		{"PasswordControl", amp.ValidatePassword("correct horse\nbattery"), false},
	} {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, tc.err, tc.ok)
		}
		if tc.err != nil && amp.ErrorCode(tc.err) != amp.CodeInvalidRequest {
			t.Errorf("%s: code %s, want INVALID_REQUEST", tc.name, amp.ErrorCode(tc.err))
		}
	}
	if got := amp.NormalizeEmail("  Ada@Example.COM "); got != "ada@example.com" {
		t.Errorf("NormalizeEmail = %q", got)
	}
	for in, want := range map[string]string{
		"ci":             "ci",
		"bad\x07name":    "bad\uFFFDname",
		"esc\x1b[2Jname": "esc\uFFFD[2Jname",
		"bad\xffutf8":    "bad\uFFFDutf8",
		"été":            "été",
	} {
		if got := amp.PrintableName(in); got != want {
			t.Errorf("PrintableName(%q) = %q, want %q", in, got, want)
		}
	}
}
