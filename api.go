package amp

import (
	"encoding/json"
	"time"
)

// ProfileVersion is the schema version reported in every profile, as in the
// docs' example.
const ProfileVersion = "2.1"

// ContextRequest is the body of POST /v1/context.
type ContextRequest struct {
	UserID     string          `json:"userId"`
	Task       string          `json:"task"`
	Complexity TaskComplexity  `json:"complexity,omitempty"`
	TaskType   string          `json:"taskType,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// Recommendation is one choice on each of the four dimensions AMP adapts.
type Recommendation struct {
	Framing       Framing       `json:"suggestedFraming"`
	Style         Style         `json:"communicationStyle"`
	Handling      Handling      `json:"complexity"`
	Encouragement Encouragement `json:"encouragement"`
}

// Context is the response of POST /v1/context (MotivationContext in the docs).
type Context struct {
	RequestID string `json:"requestId"`
	Recommendation
	Confidence float64         `json:"confidence"`
	Rationale  string          `json:"rationale"`
	Metadata   ContextMetadata `json:"metadata"`
}

// ContextMetadata describes the maturity of the profile behind a context.
type ContextMetadata struct {
	ProfilePhase     Phase `json:"profilePhase"`
	InteractionCount int   `json:"interactionCount"`
	ExplorationMode  bool  `json:"explorationMode"`
}

// OutcomeRequest is the body of POST /v1/outcome. Optional fields are
// pointers so that "absent" differs from false or zero.
type OutcomeRequest struct {
	RequestID    string          `json:"requestId"`
	Started      *bool           `json:"started"`
	Completed    *bool           `json:"completed,omitempty"`
	TimeToStart  *float64        `json:"timeToStart,omitempty"`
	FlowState    *bool           `json:"flowState,omitempty"`
	Satisfaction *float64        `json:"satisfaction,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
}

// OutcomeResponse is the response of POST /v1/outcome.
type OutcomeResponse struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

// OutcomeReportedMessage is the documented message of a stored outcome.
const OutcomeReportedMessage = "Outcome reported successfully"

// ProfileUpdate is the body of PUT /v1/profile/{userId}: a partial update in
// which only the fields present change.
type ProfileUpdate struct {
	PreferredFraming     *Framing        `json:"preferredFraming,omitempty"`
	CommunicationStyle   *Style          `json:"communicationStyle,omitempty"`
	ComplexityPreference *Handling       `json:"complexityPreference,omitempty"`
	EncouragementLevel   *Encouragement  `json:"encouragementLevel,omitempty"`
	Metadata             json.RawMessage `json:"metadata,omitempty"`
}

// Profile is a user's MotivationProfile as returned by the profile routes:
// every field of the docs' interface, plus the phase and the metadata set
// through PUT.
type Profile struct {
	UserID               string        `json:"userId"`
	PreferredFraming     Framing       `json:"preferredFraming"`
	CommunicationStyle   Style         `json:"communicationStyle"`
	ComplexityPreference Handling      `json:"complexityPreference"`
	EncouragementLevel   Encouragement `json:"encouragementLevel"`

	TotalInteractions  int     `json:"totalInteractions"`
	CompletionRate     float64 `json:"completionRate"`
	AverageTimeToStart float64 `json:"averageTimeToStart"`
	FlowStateFrequency float64 `json:"flowStateFrequency"`

	FramingConfidence    float64 `json:"framingConfidence"`
	StyleConfidence      float64 `json:"styleConfidence"`
	ComplexityConfidence float64 `json:"complexityConfidence"`

	TaskTypeAffinities map[string]float64 `json:"taskTypeAffinities"`
	TimeOfDayPatterns  []TimePattern      `json:"timeOfDayPatterns"`

	CreatedAt      time.Time `json:"createdAt"`
	LastUpdated    time.Time `json:"lastUpdated"`
	ProfileVersion string    `json:"profileVersion"`

	ProfilePhase Phase           `json:"profilePhase"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
}

// TimePattern is the completion rate of a user's outcomes whose context was
// requested within [HourStart, HourEnd] UTC.
type TimePattern struct {
	HourStart        int     `json:"hourStart"`
	HourEnd          int     `json:"hourEnd"`
	CompletionRate   float64 `json:"completionRate"`
	InteractionCount int     `json:"interactionCount"`
}

// DeleteResponse is the response of DELETE /v1/profile/{userId}.
type DeleteResponse struct {
	Success bool `json:"success"`
}

// ErrorBody is the envelope of every non-2xx response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details,omitempty"`
	RequestID string         `json:"requestId"`
	Timestamp time.Time      `json:"timestamp"`
}
