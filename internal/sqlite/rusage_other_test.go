//go:build !unix

package sqlite

import "time"

// cpuTime is unknown here; the benchmarks then report no CPU time.
func cpuTime() time.Duration { return 0 }
