package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/amp-protocol/amp"
)

// quotas counts each account's live requests of the current UTC month.
//
// Lock order: io, then the map lock, then an account's lock. io serialises
// the store reads that load a count with the writes that flush counts, so
// that a load never sees a flushed delta that is also still pending (or
// miss one that has left pending but not reached the store).
type quotas struct {
	store amp.QuotaStore

	io       sync.Mutex
	mu       sync.Mutex
	accounts map[string]*quotaAccount
}

type quotaAccount struct {
	mu sync.Mutex
	// dead marks an account flush forgot: a request that still holds it
	// must look the account up again.
	dead bool
	// month is the month whose count committed holds; zero until loaded.
	month     time.Time
	committed int64 // 2xx requests of month: the stored count plus those not yet flushed
	reserved  int64 // requests admitted and not yet finished
	// pending holds the counts finished since the last flush, by month.
	// Usually it has one month; around a month's end, two.
	pending map[time.Time]int64
}

func newQuotas(store amp.QuotaStore) *quotas {
	return &quotas{store: store, accounts: make(map[string]*quotaAccount)}
}

// The in-memory QuotaCounter.
var _ QuotaCounter = (*quotas)(nil)

func (q *quotas) Reserve(ctx context.Context, id string, limit int64, now time.Time) (bool, error) {
	return q.reserve(ctx, id, limit, now)
}

func (q *quotas) Release(_ context.Context, id string, _ time.Time) { q.release(id) }

func (q *quotas) Finish(_ context.Context, id string, success bool, now time.Time) {
	q.finish(id, success, now)
}

func (q *quotas) Usage(ctx context.Context, id string, now time.Time) (used, inFlight int64, err error) {
	return q.usage(ctx, id, now)
}

func (q *quotas) Flush(ctx context.Context, now time.Time) error { return q.flush(ctx, now) }

// lock returns the account's entry, created if absent, with its lock held.
func (q *quotas) lock(id string) *quotaAccount {
	for {
		q.mu.Lock()
		a, ok := q.accounts[id]
		if !ok {
			a = &quotaAccount{pending: make(map[time.Time]int64)}
			q.accounts[id] = a
		}
		q.mu.Unlock()
		a.mu.Lock()
		if !a.dead {
			return a
		}
		a.mu.Unlock()
	}
}

// reserve reserves one unit of the account's quota for the month of now,
// unless limit (0 = unlimited) units are already counted or reserved. It
// loads the account's count from the store at the first request of a
// month.
func (q *quotas) reserve(ctx context.Context, id string, limit int64, now time.Time) (bool, error) {
	month := amp.MonthStart(now)
	a := q.lock(id)
	for !a.month.Equal(month) {
		a.mu.Unlock()
		if err := q.load(ctx, id, month); err != nil {
			return false, err
		}
		a = q.lock(id)
		if a.month.After(month) {
			break
		}
	}
	defer a.mu.Unlock()
	// A concurrent request may have moved the account to a later month
	// while the lock was released; counting against that month's count is
	// then the stricter choice and still exact for it.
	if limit > 0 && a.committed+a.reserved >= limit {
		return false, nil
	}
	a.reserved++
	return true, nil
}

// load sets the account's count to the stored count of month plus what is
// pending for it, unless another request did so meanwhile.
func (q *quotas) load(ctx context.Context, id string, month time.Time) error {
	q.io.Lock()
	defer q.io.Unlock()
	// Flushes, the only forgetters of accounts, wait for io: the account
	// locked here stays live until load returns.
	a := q.lock(id)
	done := !a.month.Before(month)
	a.mu.Unlock()
	if done {
		return nil
	}
	var stored int64
	if q.store != nil {
		var err error
		if stored, err = q.store.QuotaUsage(ctx, id, month); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.month.Before(month) {
		a.month = month
		a.committed = stored + a.pending[month]
	}
	return nil
}

// release gives back a reservation of a request refused after reserve.
func (q *quotas) release(id string) {
	a := q.lock(id)
	if a.reserved > 0 {
		a.reserved--
	}
	a.mu.Unlock()
}

// finish ends a reservation; a successful request is counted in the month
// of now, which is where a request admitted just before a month's end and
// finished after it belongs to.
func (q *quotas) finish(id string, success bool, now time.Time) {
	a := q.lock(id)
	defer a.mu.Unlock()
	if a.reserved > 0 {
		a.reserved--
	}
	if !success {
		return
	}
	month := amp.MonthStart(now)
	a.pending[month]++
	if a.month.Equal(month) {
		a.committed++
	}
	// Otherwise the month is not loaded (yet): its next load adds the
	// pending count to the stored one.
}

// usage returns the account's count and reservations in the month of now.
func (q *quotas) usage(ctx context.Context, id string, now time.Time) (used, inFlight int64, err error) {
	month := amp.MonthStart(now)
	a := q.lock(id)
	if !a.month.Equal(month) {
		a.mu.Unlock()
		if err := q.load(ctx, id, month); err != nil {
			return 0, 0, err
		}
		a = q.lock(id)
	}
	defer a.mu.Unlock()
	if !a.month.Equal(month) {
		// The account has moved on to a later month meanwhile.
		return 0, a.reserved, nil
	}
	return a.committed, a.reserved, nil
}

// flush writes the pending counts to the store, and forgets accounts that
// have nothing pending or reserved and whose count belongs to a past month.
// Counts that fail to be written stay pending.
func (q *quotas) flush(ctx context.Context, now time.Time) error {
	if q.store == nil {
		return nil
	}
	q.io.Lock()
	defer q.io.Unlock()
	current := amp.MonthStart(now)
	var deltas []amp.QuotaDelta
	q.mu.Lock()
	for id, a := range q.accounts {
		a.mu.Lock()
		for month, n := range a.pending {
			if n != 0 {
				deltas = append(deltas, amp.QuotaDelta{AccountID: id, Month: month, Delta: n})
			}
			delete(a.pending, month)
		}
		if a.reserved == 0 && a.month.Before(current) {
			a.dead = true
			delete(q.accounts, id)
		}
		a.mu.Unlock()
	}
	q.mu.Unlock()
	if len(deltas) == 0 {
		return nil
	}
	if err := q.store.AddQuotaUsage(ctx, deltas); err != nil {
		q.mu.Lock()
		for _, d := range deltas {
			a, ok := q.accounts[d.AccountID]
			if !ok {
				a = &quotaAccount{pending: make(map[time.Time]int64)}
				q.accounts[d.AccountID] = a
			}
			a.mu.Lock()
			a.pending[d.Month] += d.Delta
			a.mu.Unlock()
		}
		q.mu.Unlock()
		return err
	}
	return nil
}
