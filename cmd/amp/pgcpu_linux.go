package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// serverCPU returns the CPU time the PostgreSQL server whose postmaster is
// pid has used: its own, its live backends' and that of the backends it
// has reaped, read from /proc. ok is false if the server is not on this
// machine or /proc does not say (no children file, another user's process
// hidden).
func serverCPU(pid int) (cpu time.Duration, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	f, err := procStat(pid)
	if err != nil {
		return 0, false
	}
	ticks := f[11] + f[12] + f[13] + f[14] // utime, stime, cutime, cstime
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, false
	}
	for k := range strings.FieldsSeq(string(kids)) {
		c, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		if f, err := procStat(c); err == nil { // a backend may just have exited
			ticks += f[11] + f[12]
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// postmasterOf returns the parent of process pid (a backend's is the
// postmaster), or 0.
func postmasterOf(pid int) int {
	f, err := procStat(pid)
	if err != nil {
		return 0
	}
	return int(f[1])
}

// procStat returns the numeric fields of /proc/PID/stat from the state on
// (f[0] is the state, f[1] the parent's pid, f[11] utime, as in proc(5)
// less 3), skipping the command name, which may hold spaces.
func procStat(pid int) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	out := make([]int64, len(fields))
	for j, v := range fields {
		if j == 0 {
			continue // the state, a letter
		}
		out[j], _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}
