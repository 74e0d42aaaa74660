// Command gatun checks a machine for Gatun, runs a standalone server, and runs and reports the
// benchmarks.
//
//	gatun doctor  [--jar PATH] [--java PATH]
//	gatun serve   --info-file PATH [--classpath CP] [--socket-dir DIR] [--allowlist SPEC]
//	              [--region-bytes N] [--max-message-bytes N] [--jvm-arg ARG]...
//	gatun bench   [--quick] [--suites python,go] [--out DIR]
//	gatun report  [--out DIR]
//
// Every subcommand takes --help. Failures exit non-zero with a message on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks a command-line error: exit status 2 (the message is already printed).
var errUsage = errors.New("usage")

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) error
}

// env is what a subcommand may use; tests replace its parts.
type env struct {
	stdout, stderr io.Writer
	// signals delivers SIGINT/SIGTERM (serve forwards them to the JVM).
	signals <-chan os.Signal
}

func commands() []command {
	return []command{
		{"doctor", "[flags]", "check java, the server jar, a server start, /dev/shm, temp dirs, Unix sockets and Spark", runDoctor},
		{"serve", "--info-file PATH [flags]", "run a standalone server JVM in the foreground for clients to attach to", runServe},
		{"bench", "[--quick] [--suites python,go] [--out DIR]", "run the Python and Go benchmark suites, then write the tables and charts", runBench},
		{"report", "[--out DIR]", "redraw go.md and the charts from existing benchmark JSON", runReport},
	}
}

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(context.Background(), os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, signals: sigs}))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil || errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(e.stderr, "gatun %s: %v\n", name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(e.stderr, "gatun: unknown command %q\n\n", name)
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "gatun: tools for the Gatun Python/Go <-> JVM bridge")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: gatun <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `gatun <command> --help` for a command's flags.")
}

// newFlags makes a subcommand's flag set; its usage goes to stdout for --help and stderr otherwise.
func newFlags(e *env, name string, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("gatun "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var args string
	for _, c := range commands() {
		if c.name == name {
			args = c.args
		}
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: gatun %s %s\n\n%s\n\nflags:\n", name, args, strings.TrimSpace(description))
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; --help prints the usage to stdout (flag.ErrHelp), an error prints it to stderr
// (errUsage). Positional arguments are refused.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return flag.ErrHelp
	default:
		fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		fs.SetOutput(e.stderr)
		fs.Usage()
		return errUsage
	}
}

// usageErr prints a usage error and the flags, and returns errUsage.
func usageErr(e *env, fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.SetOutput(e.stderr)
	fs.Usage()
	return errUsage
}

// stringList is a repeatable string flag.
type stringList []string

// String implements flag.Value.
func (s *stringList) String() string { return strings.Join(*s, " ") }

// Set implements flag.Value: each use of the flag adds one value.
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
