package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "version", "", "Print amp's version, the commit it was built from and the Go version.")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	fmt.Fprintf(e.stdout, "amp %s%s %s %s/%s\n", version, vcsSuffix(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// vcsSuffix is " (commit abc123def456)" when the build recorded one, with
// "-dirty" for uncommitted changes.
func vcsSuffix() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return " (commit " + rev + ")"
}
