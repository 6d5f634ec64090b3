//go:build race

package main

// raceEnabled tells tests that build the amp binary to build it with the
// race detector too, which reuses the packages go test already compiled.
const raceEnabled = true
