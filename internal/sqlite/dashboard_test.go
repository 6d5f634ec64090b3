package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/amp-protocol/amp/internal/storetest"
)

func TestDashboardStore(t *testing.T) {
	storetest.RunDashboard(t, func(t *testing.T) storetest.DashboardBackend {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	})
}
