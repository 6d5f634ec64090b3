package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/storetest"
)

func TestDashboardStore(t *testing.T) {
	storetest.RunDashboard(t, func(t *testing.T) storetest.DashboardBackend {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	})
}

func TestRequestLogStore(t *testing.T) {
	storetest.RunRequestLog(t, func(t *testing.T) amp.RequestLogStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	})
}

func TestProfileList(t *testing.T) {
	storetest.RunProfileList(t, func(t *testing.T) storetest.ProfileListBackend {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	})
}
