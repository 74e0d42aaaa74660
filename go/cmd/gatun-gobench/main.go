// Command gatun-gobench measures the Go client against a private Gatun server JVM and prints JSON:
// for each operation the median and 99th percentile of the per-call time in nanoseconds. The
// operations match bench/run_bench.py's keys. The measuring code is internal/gobench (shared with
// `gatun bench`).
//
//	go run ./cmd/gatun-gobench [-jar path/to/gatun-server.jar] [-duration 2s] [-warmup 1s] [-v]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatun-project/gatun/go/internal/gobench"
)

func main() {
	jar := flag.String("jar", "", "server jar (default $GATUN_JAR, else ../python/gatun/jars/gatun-server.jar from go/)")
	duration := flag.Duration("duration", 2*time.Second, "measuring time per operation")
	warmup := flag.Duration("warmup", time.Second, "warm-up time per operation")
	only := flag.String("ops", "", "comma-separated subset of operation keys")
	perCall := flag.Bool("per-call", false, "time every call on its own (per-call p99; adds the clock's cost to each sample)")
	verbose := flag.Bool("v", false, "print each operation's result to stderr as it completes")
	flag.Parse()
	if *jar == "" {
		*jar = os.Getenv("GATUN_JAR")
	}
	if *jar == "" {
		for _, cand := range []string{"../python/gatun/jars/gatun-server.jar", "python/gatun/jars/gatun-server.jar"} {
			if _, err := os.Stat(cand); err == nil {
				*jar, _ = filepath.Abs(cand)
				break
			}
		}
	}
	opts := gobench.Options{Jar: *jar, Duration: *duration, Warmup: *warmup, Ops: *only, PerCall: *perCall}
	if *verbose {
		opts.Progress = func(key string, r gobench.Result) {
			if r.Error != "" {
				fmt.Fprintf(os.Stderr, "%-14s error: %s\n", key, r.Error)
			} else {
				fmt.Fprintf(os.Stderr, "%-14s median %.0f ns, p99 %.0f ns (%d calls)\n", key, r.MedianNS, r.P99NS, r.Calls)
			}
		}
	}
	out, err := gobench.Run(context.Background(), opts)
	if err == nil {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatun-gobench:", err)
		os.Exit(1)
	}
}
