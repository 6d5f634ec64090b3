//go:build !linux

package main

import "time"

// serverCPU is measured on Linux only, from /proc.
func serverCPU(int) (time.Duration, bool) { return 0, false }

// postmasterOf is known on Linux only.
func postmasterOf(int) int { return 0 }
