package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// RunQuota runs the conformance suite of amp.QuotaStore alone, for stores
// that keep no usage rows, such as QuotaStore. RunUsage runs the same
// checks on backends.
func RunQuota(t *testing.T, open func(t *testing.T) amp.QuotaStore) {
	t.Run("QuotaUsage", func(t *testing.T) { checkQuotaStore(t, open(t)) })
}

// QuotaStore is an amp.QuotaStore in memory, for the tests of its
// consumers (the limiter, the Redis quota counter); it passes RunQuota.
// SetFail makes every call fail, to test how they cope with a store that
// is down. It is safe for concurrent use.
type QuotaStore struct {
	mu     sync.Mutex
	counts map[quotaKey]int64
	fail   error
}

type quotaKey struct {
	accountID string
	month     int64 // Unix seconds of the month's start
}

var _ amp.QuotaStore = (*QuotaStore)(nil)

// NewQuotaStore returns an empty QuotaStore.
func NewQuotaStore() *QuotaStore { return &QuotaStore{counts: make(map[quotaKey]int64)} }

func keyOf(accountID string, month time.Time) quotaKey {
	return quotaKey{accountID, amp.MonthStart(month).Unix()}
}

// AddQuotaUsage adds the deltas, all or none.
func (s *QuotaStore) AddQuotaUsage(_ context.Context, deltas []amp.QuotaDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, d := range deltas {
		s.counts[keyOf(d.AccountID, d.Month)] += d.Delta
	}
	return nil
}

// QuotaUsage returns the account's count of the month starting at month.
func (s *QuotaStore) QuotaUsage(_ context.Context, accountID string, month time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	return s.counts[keyOf(accountID, month)], nil
}

// Count returns the stored count, whatever SetFail says.
func (s *QuotaStore) Count(accountID string, month time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[keyOf(accountID, month)]
}

// SetFail makes every later call return err, or work again when err is nil.
func (s *QuotaStore) SetFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}
