// Command amp runs and administers the AMP service: `amp serve` runs the
// API on an embedded SQLite database (or PostgreSQL), and the other
// subcommands manage accounts and keys, back the database up and measure
// the service. `amp help` lists them; `amp CMD -h` documents each flag.
//
// main only wires the process to run, which takes everything it touches
// (arguments, environment, standard streams) as parameters, so that tests
// drive the real program in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling, so that a
		// second one ends a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "amp:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// env is what a command may touch of its process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of amp.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands returns the command table: every subcommand, in the order
// `amp help` lists them. It is a function, not a variable, because help
// runs commands.
func commands() []command {
	return []command{
		{"serve", "run the API server", runServe},
		{"accounts", "create, list and change accounts", runAccounts},
		{"keys", "create, list, revoke, roll and quarantine API keys", runKeys},
		{"webhooks", "manage webhook endpoints, their deliveries and test events", runWebhooks},
		{"users", "add dashboard users (for closed sign-up)", runUsers},
		{"backup", "write a consistent copy of the SQLite database", runBackup},
		{"usage", "show the metered usage of an account or a key", runUsage},
		{"migrate", "apply the schema migrations to the database and exit", runMigrate},
		{"simulate", "score the learning engine on simulated users, in process or over HTTP", runSimulateCmd},
		{"evaluate", "estimate offline, from logged decisions, the value of other policies", runEvaluateCmd},
		{"lift", "report the completion-rate lift of personalised users over the holdout", runLiftCmd},
		{"mcp", "serve the MCP tools over stdio, for desktop agent hosts", runMCP},
		{"bench", "measure the service against a bare net/http echo server", runBench},
		{"version", "print the version", runVersion},
		{"help", "show help for amp or a command", runHelp},
	}
}

// errUsage marks a command line that cannot be run as given; main exits 2
// for it, as the flag package does.
var errUsage = errors.New("usage")

// usageError reports a bad command line.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// run runs the amp command line args (without the program name).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printHelp(stderr)
		return usageError("no command given")
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printHelp(stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	return usageError("unknown command %q; run 'amp help' for the list", name)
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `amp runs and administers the AMP (Adaptive Motivation Protocol) service.

Usage:

	amp <command> [arguments]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "	%-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'amp help <command>' or 'amp <command> -h' for a command's flags.
Settings also come from AMP_* environment variables; a flag wins over its
variable, which wins over the default. See README.md.
`)
}

func runHelp(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printHelp(e.stdout)
		return nil
	}
	if args[0] == "help" {
		printHelp(e.stdout)
		return nil
	}
	return run(ctx, append(args[:1:1], append(args[1:], "-h")...), e.getenv, e.stdin, e.stdout, e.stderr)
}
