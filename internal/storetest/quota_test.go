package storetest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/storetest"
)

func TestQuotaStore(t *testing.T) {
	storetest.RunQuota(t, func(*testing.T) amp.QuotaStore { return storetest.NewQuotaStore() })
}

func TestQuotaStoreFails(t *testing.T) {
	s := storetest.NewQuotaStore()
	june := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := s.AddQuotaUsage(t.Context(), []amp.QuotaDelta{{AccountID: "a", Month: june, Delta: 2}}); err != nil {
		t.Fatal(err)
	}
	s.SetFail(amp.ErrUnavailable)
	if err := s.AddQuotaUsage(t.Context(), []amp.QuotaDelta{{AccountID: "a", Month: june, Delta: 1}}); !errors.Is(err, amp.ErrUnavailable) {
		t.Errorf("AddQuotaUsage while failing: %v", err)
	}
	if _, err := s.QuotaUsage(t.Context(), "a", june); !errors.Is(err, amp.ErrUnavailable) {
		t.Errorf("QuotaUsage while failing: %v", err)
	}
	s.SetFail(nil)
	if n, err := s.QuotaUsage(t.Context(), "a", june); err != nil || n != 2 || s.Count("a", june) != 2 {
		t.Errorf("after failing: %d, %v; want 2 (the failed add added nothing)", n, err)
	}
}
