package amp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input bounds (docs/api.md#input-bounds). Every field that takes input has
// one.
const (
	MaxBodyBytes       = 64 << 10
	MaxUserIDBytes     = 256
	MaxTaskBytes       = 4096
	MaxTaskTypeBytes   = 64
	MaxRequestIDBytes  = 64
	MaxMetadataBytes   = 16 << 10
	MaxMetadataDepth   = 5
	MaxTimeToStartSecs = 1e7 // about 115 days: far beyond the 24 h outcome window
)

// ValidateUserID checks a userId: present, at most 256 bytes of valid UTF-8,
// without control characters.
func ValidateUserID(id string) error {
	switch {
	case id == "":
		return Errorf(CodeInvalidUserID, "userId is required.")
	case len(id) > MaxUserIDBytes:
		return Errorf(CodeInvalidUserID, "userId must be at most %d bytes.", MaxUserIDBytes)
	case !utf8.ValidString(id):
		return Errorf(CodeInvalidUserID, "userId must be valid UTF-8.")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return Errorf(CodeInvalidUserID, "userId must not contain control characters.")
	}
	return nil
}

// Validate checks every field of a context request against its bounds.
func (r *ContextRequest) Validate() error {
	if err := ValidateUserID(r.UserID); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(r.Task) == "":
		return Errorf(CodeInvalidTask, "task is required.")
	case len(r.Task) > MaxTaskBytes:
		return Errorf(CodeInvalidTask, "task must be at most %d bytes.", MaxTaskBytes)
	case !ValidText(r.Task):
		return Errorf(CodeInvalidTask, "task must be valid UTF-8 without NUL characters.")
	}
	if !r.Complexity.Valid() {
		return invalidField("complexity", "complexity must be one of low, medium, high.")
	}
	if len(r.TaskType) > MaxTaskTypeBytes {
		return invalidField("taskType", "taskType must be at most 64 bytes.")
	}
	if !utf8.ValidString(r.TaskType) || strings.IndexFunc(r.TaskType, unicode.IsControl) >= 0 {
		return invalidField("taskType", "taskType must be printable UTF-8.")
	}
	return ValidateMetadata(r.Metadata)
}

// Validate checks every field of an outcome report against its bounds.
func (r *OutcomeRequest) Validate() error {
	switch {
	case r.RequestID == "":
		return invalidField("requestId", "requestId is required.")
	case len(r.RequestID) > MaxRequestIDBytes:
		return invalidField("requestId", "requestId must be at most 64 bytes.")
	case !utf8.ValidString(r.RequestID) || strings.IndexFunc(r.RequestID, unicode.IsControl) >= 0:
		return invalidField("requestId", "requestId must be printable UTF-8.")
	case r.Started == nil:
		return invalidField("started", "started is required and must be a boolean.")
	}
	if r.TimeToStart != nil {
		t := *r.TimeToStart
		if math.IsNaN(t) || t < 0 || t > MaxTimeToStartSecs {
			return invalidField("timeToStart", "timeToStart must be a number of seconds between 0 and 10000000.")
		}
	}
	if r.Satisfaction != nil {
		s := *r.Satisfaction
		if math.IsNaN(s) || s < 0 || s > 1 {
			return invalidField("satisfaction", "satisfaction must be a number between 0 and 1.")
		}
	}
	return ValidateMetadata(r.Metadata)
}

// Validate checks a profile update: every preference given must be a
// documented enum value.
func (u *ProfileUpdate) Validate() error {
	if u.PreferredFraming != nil && !u.PreferredFraming.Valid() {
		return invalidPreference("preferredFraming", *u.PreferredFraming)
	}
	if u.CommunicationStyle != nil && !u.CommunicationStyle.Valid() {
		return invalidPreference("communicationStyle", *u.CommunicationStyle)
	}
	if u.ComplexityPreference != nil && !u.ComplexityPreference.Valid() {
		return invalidPreference("complexityPreference", *u.ComplexityPreference)
	}
	if u.EncouragementLevel != nil && !u.EncouragementLevel.Valid() {
		return invalidPreference("encouragementLevel", *u.EncouragementLevel)
	}
	return ValidateMetadata(u.Metadata)
}

func invalidPreference[T ~string](field string, v T) error {
	return Errorf(CodeInvalidPreference, "%s %q is not an allowed value.", field, string(v)).
		WithDetails(map[string]any{"field": field})
}

func invalidField(field, msg string) error {
	return Errorf(CodeInvalidRequest, "%s", msg).WithDetails(map[string]any{"field": field})
}

// ValidateMetadata checks a metadata value: absent, null, or a JSON object
// of at most 16 KiB nested at most 5 levels deep (the object itself is level 1),
// obeying the text rule (CheckJSONText).
func ValidateMetadata(raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	if len(raw) > MaxMetadataBytes {
		return invalidField("metadata", "metadata must be at most 16 KiB.")
	}
	if err := CheckJSONText(raw); err != nil {
		return invalidField("metadata", "metadata "+err.Reason+".")
	}
	trimmed := bytes.TrimSpace(raw)
	if bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return invalidField("metadata", "metadata must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return invalidField("metadata", "metadata must be valid JSON.")
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > MaxMetadataDepth {
				return invalidField("metadata", "metadata must be nested at most 5 levels deep.")
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}
