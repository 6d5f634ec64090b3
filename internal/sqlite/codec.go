package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
)

// Times are stored as microseconds since the Unix epoch: PostgreSQL's
// precision, and wide enough (±292,000 years) that even the zero time.Time
// round-trips.

func encTime(t time.Time) int64 { return t.UnixMicro() }

func decTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// asStored returns t as it reads back: in UTC, to the microsecond. Records
// that methods return are made to match what later reads will return.
func asStored(t time.Time) time.Time { return decTime(encTime(t)) }

func encTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func decTimePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := decTime(n.Int64)
	return &t
}

func encBoolPtr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func decBoolPtr(n sql.NullBool) *bool {
	if !n.Valid {
		return nil
	}
	b := n.Bool
	return &b
}

func encFloatPtr(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func decFloatPtr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	f := n.Float64
	return &f
}

// encJSON stores metadata as TEXT, so that SQLite's JSON functions read it
// as JSON (they would take a BLOB for JSONB). Absent metadata is NULL.
func encJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return jsonText(raw)
}

// jsonText is metadata on its way to a TEXT column: checkText holds it to
// the text rule for JSON (no \u0000, no lone surrogates), which a plain
// string is not.
type jsonText string

// Value implements driver.Valuer.
func (j jsonText) Value() (driver.Value, error) { return string(j), nil }

// checkText refuses, with amp.ErrInvalidInput, a write whose text
// arguments break the text rule (amp.ValidText, amp.CheckJSONText): SQLite
// would store them, PostgreSQL refuses them, and every backend answers
// alike. Blobs (models, hashes) are bytes, not text, and are not checked.
func checkText(args []any) error {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			if !amp.ValidText(v) {
				return fmt.Errorf("argument %d: %w: text must be valid UTF-8 without NUL", i+1, amp.ErrInvalidInput)
			}
		case jsonText:
			if err := amp.CheckJSONText([]byte(v)); err != nil {
				return fmt.Errorf("argument %d: %w: JSON %s", i+1, amp.ErrInvalidInput, err.Reason)
			}
		}
	}
	return nil
}

// decJSON returns nil for NULL: a scanned NULL leaves the slice nil.
func decJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// encBlob stores a nil model as NULL and any other, even empty, as a BLOB.
func encBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Scopes are stored comma-separated in the key's order; no scope contains
// a comma.
func encScopes(s []amp.Scope) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return string(s[0])
	}
	var b strings.Builder
	for i, sc := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(sc))
	}
	return b.String()
}

func decScopes(s string) []amp.Scope {
	if s == "" {
		return nil
	}
	out := make([]amp.Scope, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		out = append(out, amp.Scope(part))
	}
	return out
}
