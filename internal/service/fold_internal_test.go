package service

import "testing"

// The folder is asked to fold once foldAfter outcomes are stored, not
// before, and once only until a fold starts the count again.
func TestEarlyFoldAsked(t *testing.T) {
	s := &Service{foldNow: make(chan struct{}, 1)}
	asked := func() bool {
		select {
		case <-s.foldNow:
			return true
		default:
			return false
		}
	}
	for range foldAfter - 1 {
		s.outcomeStored()
	}
	if asked() {
		t.Fatalf("asked to fold after %d outcomes", foldAfter-1)
	}
	s.outcomeStored()
	if !asked() {
		t.Fatalf("not asked to fold after %d outcomes", foldAfter)
	}
	for range 2 * foldAfter {
		s.outcomeStored()
	}
	if asked() {
		t.Fatal("asked again before a fold started the count over")
	}
	s.unfolded.Store(0) // what foldPopulations does first
	for range foldAfter {
		s.outcomeStored()
	}
	if !asked() {
		t.Fatal("not asked after the count started over")
	}
}
