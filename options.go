package amp

import (
	"fmt"
	"slices"
)

// NumDimensions is the number of dimensions a recommendation adapts, and
// OptionsPerDimension the number of options on each.
const (
	NumDimensions       = 4
	OptionsPerDimension = 4
)

// Options are a recommendation as option indexes, one per dimension in the
// order framing, style, complexity handling, encouragement; each indexes
// Framings, Styles, Handlings and Encouragements respectively. Learners and
// the offline evaluation work on indexes; the wire carries the names.
type Options [NumDimensions]int

// Recommendation is the named form of o. It panics on an index out of
// range, which only a programming error produces.
func (o Options) Recommendation() Recommendation {
	return Recommendation{
		Framing:       Framings[o[0]],
		Style:         Styles[o[1]],
		Handling:      Handlings[o[2]],
		Encouragement: Encouragements[o[3]],
	}
}

// Options is the indexed form of r; an error names the first option that
// does not exist.
func (r Recommendation) Options() (Options, error) {
	o := Options{
		slices.Index(Framings, r.Framing),
		slices.Index(Styles, r.Style),
		slices.Index(Handlings, r.Handling),
		slices.Index(Encouragements, r.Encouragement),
	}
	names := [NumDimensions]string{string(r.Framing), string(r.Style), string(r.Handling), string(r.Encouragement)}
	for d, i := range o {
		if i < 0 {
			return o, fmt.Errorf("recommendation has an unknown option %q", names[d])
		}
	}
	return o, nil
}
