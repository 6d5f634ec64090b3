package mcp

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/amp-protocol/amp"
)

// The tools' schemas are inferred from the wire types of the root package,
// so that they cannot drift from what the API decodes and encodes, then
// given what inference cannot know: enums, bounds and descriptions. Length
// limits are left to the API, whose errors name the code (INVALID_USER_ID,
// INVALID_TASK …); JSON Schema counts characters where the API counts bytes.
var (
	contextInputSchema  = inferSchema[amp.ContextRequest](contextFields)
	outcomeInputSchema  = inferSchema[amp.OutcomeRequest](outcomeFields)
	userInputSchema     = inferSchema[UserInput](userFields)
	updateInputSchema   = inferSchema[UpdateProfileInput](updateFields)
	contextOutputSchema = inferSchema[amp.Context](contextOutFields)
	outcomeOutputSchema = inferSchema[amp.OutcomeResponse](nil)
	profileOutputSchema = inferSchema[amp.Profile](profileOutFields)
	deleteOutputSchema  = inferSchema[amp.DeleteResponse](nil)
)

// field is what a schema property gets beyond its inferred type.
type field struct {
	desc     string
	enum     []string
	min, max *float64
}

func num(f float64) *float64 { return &f }

func enumOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

var metadataField = field{desc: "Optional JSON object of your own (at most 16 KiB, 5 levels deep), stored with the record."}

var contextFields = map[string]field{
	"userId":     {desc: "Your stable identifier of the user (1 to 256 bytes). Not an email address or other personal data."},
	"task":       {desc: "The task to present, in plain words (1 to 4096 bytes)."},
	"complexity": {desc: "How demanding the task is.", enum: enumOf(amp.TaskComplexities)},
	"taskType":   {desc: "A short category of the task such as coding, writing or admin (at most 64 bytes). AMP learns per category."},
	"metadata":   metadataField,
}

var outcomeFields = map[string]field{
	"requestId":    {desc: "The requestId that get_context returned for this task, unchanged."},
	"started":      {desc: "Whether the user began the task."},
	"completed":    {desc: "Whether the user finished the task."},
	"timeToStart":  {desc: "Seconds between presenting the task and the user starting it.", min: num(0), max: num(amp.MaxTimeToStartSecs)},
	"flowState":    {desc: "Whether the user seemed absorbed and productive while working."},
	"satisfaction": {desc: "The user's satisfaction, from 0 (very unhappy) to 1 (delighted).", min: num(0), max: num(1)},
	"metadata":     metadataField,
}

var userFields = map[string]field{
	"userId": contextFields["userId"],
}

var updateFields = map[string]field{
	"userId":               contextFields["userId"],
	"preferredFraming":     {desc: "How to frame tasks for this user.", enum: enumOf(amp.Framings)},
	"communicationStyle":   {desc: "How to talk to this user.", enum: enumOf(amp.Styles)},
	"complexityPreference": {desc: "How much of the work to hand over.", enum: enumOf(amp.Handlings)},
	"encouragementLevel":   {desc: "How much encouragement to give.", enum: enumOf(amp.Encouragements)},
	"metadata":             {desc: "Optional JSON object of your own; replaces the profile's stored metadata."},
}

var contextOutFields = map[string]field{
	"requestId":          {desc: "Pass it to report_outcome for this task."},
	"suggestedFraming":   {desc: "How to frame the task.", enum: enumOf(amp.Framings)},
	"communicationStyle": {desc: "How to talk about it.", enum: enumOf(amp.Styles)},
	"complexity":         {desc: "How much of the work to hand over.", enum: enumOf(amp.Handlings)},
	"encouragement":      {desc: "How much encouragement to give.", enum: enumOf(amp.Encouragements)},
	"confidence":         {desc: "AMP's confidence in the recommendation, 0 to 1.", min: num(0), max: num(1)},
	"rationale":          {desc: "Why AMP recommends this, in a sentence."},
}

var profileOutFields = map[string]field{
	"preferredFraming":     {enum: enumOf(amp.Framings)},
	"communicationStyle":   {enum: enumOf(amp.Styles)},
	"complexityPreference": {enum: enumOf(amp.Handlings)},
	"encouragementLevel":   {enum: enumOf(amp.Encouragements)},
	"profilePhase":         {desc: "cold_start below 5 outcomes, learning below 20, then optimised."},
}

// typeSchemas override inference: raw JSON is an object of the caller's,
// and times are RFC 3339 strings.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {Type: "object"},
}

// inferSchema infers T's schema and applies fields to its properties. A
// field naming no property is a programming error, caught at start-up.
func inferSchema[T any](fields map[string]field) *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		panic(fmt.Sprintf("mcp: schema of %T: %v", *new(T), err))
	}
	for name, f := range fields {
		p, ok := s.Properties[name]
		if !ok {
			panic(fmt.Sprintf("mcp: schema of %T has no property %q", *new(T), name))
		}
		if f.desc != "" {
			p.Description = f.desc
		}
		for _, v := range f.enum {
			p.Enum = append(p.Enum, v)
		}
		p.Minimum, p.Maximum = f.min, f.max
	}
	return s
}
