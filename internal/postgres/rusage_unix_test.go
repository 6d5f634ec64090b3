//go:build unix

package postgres_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used so far.
// The benchmarks report it per operation: on a machine shared with other
// work, wall time per operation measures the neighbours as much as the
// code, while CPU time is what bounds throughput when the cores are busy.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
