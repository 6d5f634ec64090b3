package service

import (
	"context"
	"fmt"
)

// settingLastTestReset records the UTC month ("2006-01") whose test-mode
// reset has been done, so that a restart neither skips nor repeats one.
const settingLastTestReset = "test_reset_month"

// ResetTestDataIfDue erases all test-mode data once per UTC month: test
// profiles reset at 00:00 UTC on the first day of each month
// (docs/api.md#modes).
// On a fresh database the current month counts as done. It reports whether
// it reset.
func (s *Service) ResetTestDataIfDue(ctx context.Context) (bool, error) {
	month := s.Now().Format("2006-01")
	last, err := s.store.Setting(ctx, settingLastTestReset)
	if err != nil {
		return false, fmt.Errorf("read last reset: %w", err)
	}
	if last >= month { // "2006-01" strings order as months do
		return false, nil
	}
	if last != "" {
		n, err := s.store.ResetTestData(ctx)
		if err != nil {
			return false, fmt.Errorf("reset test data: %w", err)
		}
		s.log.Info("test-mode data reset for the new month", "month", month, "profiles", n)
	}
	if err := s.store.SetSetting(ctx, settingLastTestReset, month); err != nil {
		return false, fmt.Errorf("record reset: %w", err)
	}
	return last != "", nil
}
