package amp

import "testing"

func TestOptionsRoundTrip(t *testing.T) {
	for i := range OptionsPerDimension * OptionsPerDimension * OptionsPerDimension * OptionsPerDimension {
		o := Options{i % 4, i / 4 % 4, i / 16 % 4, i / 64}
		back, err := o.Recommendation().Options()
		if err != nil || back != o {
			t.Fatalf("%v → %+v → %v, %v", o, o.Recommendation(), back, err)
		}
	}
	r := Options{}.Recommendation()
	r.Style = "shouting"
	if _, err := r.Options(); err == nil {
		t.Fatal("an unknown option was accepted")
	}
}
