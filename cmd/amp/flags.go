package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// cmdLine parses one command's flags: the Config settings it uses and
// flags of its own. Flags may come before, between or after the
// positional arguments.
type cmdLine struct {
	e        *env
	name     string // e.g. "keys create"
	synopsis string // e.g. "--data DIR --account ID --mode test|live [flags]"
	doc      string
	fs       *flag.FlagSet
	cfg      Config
	envErr   error
	settings []string // the flags of the Config settings bound
	reset    map[string]bool
}

// newCmdLine starts the command line of "amp name", binding the Config
// settings named by their flags. cfg starts from the defaults overridden by
// the environment; flags override both.
func newCmdLine(e *env, name, synopsis, doc string, settingFlags ...string) *cmdLine {
	cl := &cmdLine{
		e: e, name: name, synopsis: synopsis, doc: doc,
		fs:       flag.NewFlagSet("amp "+name, flag.ContinueOnError),
		cfg:      DefaultConfig(),
		settings: settingFlags,
		reset:    make(map[string]bool),
	}
	cl.fs.SetOutput(io.Discard)
	cl.fs.Usage = func() {}
	cl.envErr = cl.cfg.ApplyEnv(e.getenv)
	for _, f := range settingFlags {
		s := settingFor(f)
		cl.fs.Func(s.flag, s.doc, func(v string) error {
			if s.reset != nil && !cl.reset[s.flag] {
				s.reset(&cl.cfg)
				cl.reset[s.flag] = true
			}
			return s.set(&cl.cfg, v)
		})
	}
	return cl
}

// parse parses args and returns the positional arguments. It returns
// done=true after printing the usage for -h, in which case the command
// must return err (nil) at once.
func (cl *cmdLine) parse(args []string, minArgs, maxArgs int) (pos []string, done bool, err error) {
	if cl.envErr != nil {
		return nil, true, fmt.Errorf("%w: %w", errUsage, cl.envErr)
	}
	rest := args
	for {
		if err := cl.fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cl.printUsage(cl.e.stdout)
				return nil, true, nil
			}
			return nil, true, usageError("amp %s: %v; run 'amp %s -h' for usage", cl.name, err, cl.name)
		}
		if cl.fs.NArg() == 0 {
			break
		}
		pos = append(pos, cl.fs.Arg(0))
		rest = cl.fs.Args()[1:]
	}
	if len(pos) < minArgs || len(pos) > maxArgs {
		want := fmt.Sprintf("%d", minArgs)
		if maxArgs != minArgs {
			want = fmt.Sprintf("%d to %d", minArgs, maxArgs)
		}
		return nil, true, usageError("amp %s: want %s argument(s), got %d; usage: amp %s %s", cl.name, want, len(pos), cl.name, cl.synopsis)
	}
	if err := cl.cfg.validate(cl.settings); err != nil {
		return nil, true, fmt.Errorf("%w: %w", errUsage, err)
	}
	return pos, false, nil
}

// required reports a missing required flag.
func (cl *cmdLine) required(flagName, value string) error {
	if value == "" {
		return usageError("amp %s: --%s is required; usage: amp %s %s", cl.name, flagName, cl.name, cl.synopsis)
	}
	return nil
}

func (cl *cmdLine) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: amp %s %s\n\n%s\n", cl.name, cl.synopsis, strings.TrimSpace(cl.doc))
	var b strings.Builder
	cl.fs.VisitAll(func(f *flag.Flag) {
		if s := settingOf(cl.settings, f.Name); s != nil {
			fmt.Fprintf(&b, "  --%s %s\n    \t%s", f.Name, s.meta, s.doc)
			if s.def != "" {
				fmt.Fprintf(&b, " (default %s)", s.def)
			}
			fmt.Fprintf(&b, "\n    \tenvironment: %s\n", s.env)
			return
		}
		meta, usage := flag.UnquoteUsage(f)
		if meta == "value" {
			meta = "VALUE"
		}
		if isBool(f) {
			fmt.Fprintf(&b, "  --%s\n    \t%s", f.Name, usage)
		} else {
			fmt.Fprintf(&b, "  --%s %s\n    \t%s", f.Name, meta, usage)
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "-1" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
}

func settingOf(bound []string, name string) *setting {
	for _, f := range bound {
		if f == name {
			return settingFor(f)
		}
	}
	return nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseDuration reads a Go duration ("36h", "90m") or a number of days
// ("7d"), as key lifetimes and grace periods are usually given in days.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a duration such as 7d, 36h or 90m", s)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 7d, 36h or 90m", s)
	}
	return d, nil
}
