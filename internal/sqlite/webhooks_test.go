package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/storetest"
)

func TestWebhookStore(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) storetest.WebhookBackend {
		return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
	}, func(t *testing.T, closed storetest.WebhookBackend) storetest.WebhookBackend {
		return mustOpen(t, closed.(*sqlite.DB).Path())
	})
}
