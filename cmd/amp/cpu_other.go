//go:build !unix

package main

import "time"

// processCPU returns 0: bench does not measure CPU time here.
func processCPU() time.Duration { return 0 }
