package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatun-project/gatun/go/cmd/internal/gobench"
	"github.com/gatun-project/gatun/go/cmd/internal/report"
	"github.com/gatun-project/gatun/go/internal/locate"
)

// findJar resolves the server jar with a helpful error.
func findJar(ctx context.Context, explicit, repo string) (string, error) {
	j, tried, err := locate.FindJar(ctx, explicit, repo, locate.Pythons(repo))
	if err != nil {
		return "", fmt.Errorf("%v (looked at: %s); run `make jar` in the repository or pass --jar", err, strings.Join(tried, "; "))
	}
	return j.Path, nil
}

// defaultOut is <repo>/bench/results, or bench/results outside a checkout.
func defaultOut(repo string) string {
	if repo != "" {
		return filepath.Join(repo, "bench", "results")
	}
	return filepath.Join("bench", "results")
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", `
Runs the benchmark suites, then writes the tables and charts into --out:
  python: <repo>/.venv/bin/python bench/run_bench.py [--quick] --no-chart --out DIR
          (Gatun-Python, Py4J, JPype; writes foundation.md and foundation.json; ~3.5 min, --quick ~30 s)
  go:     the Go client's suite (the same operations as gatun-gobench; ~25 s, --quick ~5 s);
          writes go.json
  pyspark: bench/pyspark_bench.py: PySpark over Gatun vs stock PySpark (pyspark.md/.json/.png; ~6 min)
  arrow:   bench/arrow_bench.py: raw Arrow transfer, Gatun vs socket vs Py4J (arrow.*; 5-10 min)
  pyspark-arrow: bench/pyspark_arrow_bench.py: toPandas/createDataFrame (pyspark-arrow.*)
Then go.md (Go vs Python-Gatun vs Py4J), foundation.png (all four, log scale, p99 whiskers)
and go.png, as `+"`gatun report`"+` does. The suites run one after the other; a failed suite is
reported and the other still runs, but the exit status is then 1.`)
	quick := fs.Bool("quick", false, "short runs (smoke test; numbers not meaningful)")
	suites := fs.String("suites", "python,go", "comma-separated suites to run: "+strings.Join(suiteNames, ", "))
	out := fs.String("out", "", "results directory (default <repo>/bench/results)")
	jar := fs.String("jar", "", "server jar for the Go suite (default: $GATUN_JAR, the repository, the Python package)")
	python := fs.String("python", "", "Python for the Python suite (default <repo>/.venv/bin/python)")
	goDuration := fs.Duration("go-duration", 0, "Go suite: measuring time per operation (default 2s, --quick 300ms)")
	goWarmup := fs.Duration("go-warmup", 0, "Go suite: warm-up per operation (default 1s, --quick 200ms)")
	goOps := fs.String("go-ops", "", "Go suite: comma-separated subset of "+strings.Join(gobench.Keys, ","))
	reportOnly := fs.Bool("report-only", false, "do not run anything: only redraw from the JSON in --out (= gatun report)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	run := map[string]bool{}
	for _, s := range strings.Split(*suites, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(suiteNames, s) {
			return usageErr(e, fs, "unknown suite %q (want %s)", s, strings.Join(suiteNames, ", "))
		}
		run[s] = true
	}
	runPy, runGo := run["python"], run["go"]
	if len(run) == 0 && !*reportOnly {
		return usageErr(e, fs, "--suites selects nothing")
	}
	repo := locate.RepoRoot()
	if *out == "" {
		*out = defaultOut(repo)
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if *reportOnly {
		return renderReport(e, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("the results directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sh := &sigHub{}
	go sh.serve(ctx, e.signals)
	var failures []string
	if runPy {
		if err := benchPython(ctx, e, sh, repo, *python, *quick, dir); err != nil {
			fmt.Fprintf(e.stderr, "gatun bench: python suite failed: %v\n", err)
			failures = append(failures, "python")
		}
	}
	for _, s := range pythonSuites {
		if !run[s.name] || sh.interrupted() {
			continue
		}
		args := append([]string{}, s.args...)
		if *quick {
			args = append(args, s.quick...)
		}
		if err := benchScript(ctx, e, sh, repo, *python, s.name, s.script, append(args, "--out", dir)); err != nil {
			fmt.Fprintf(e.stderr, "gatun bench: %s suite failed: %v\n", s.name, err)
			failures = append(failures, s.name)
		}
	}
	if runGo {
		d, w := 2*time.Second, time.Second
		if *quick {
			d, w = 300*time.Millisecond, 200*time.Millisecond
		}
		if *goDuration > 0 {
			d = *goDuration
		}
		if *goWarmup > 0 {
			w = *goWarmup
		}
		if sh.interrupted() {
			return errors.New("interrupted")
		}
		if err := benchGo(ctx, e, sh, repo, *jar, d, w, *goOps, dir); err != nil {
			fmt.Fprintf(e.stderr, "gatun bench: go suite failed: %v\n", err)
			failures = append(failures, "go")
		}
	}
	if sh.interrupted() {
		return errors.New("interrupted")
	}
	if err := renderReport(e, dir); err != nil {
		if len(failures) == 0 {
			return err
		}
		fmt.Fprintf(e.stderr, "gatun bench: report: %v\n", err)
	}
	if len(failures) > 0 {
		return fmt.Errorf("suite(s) failed: %s (see above)", strings.Join(failures, ", "))
	}
	return nil
}

// pythonSuites are the suites that are one Python script each, writing their own
// <name>.md/.json/.png into --out.
var pythonSuites = []struct {
	name, script string
	args, quick  []string
}{
	{"pyspark", "pyspark_bench.py", nil, []string{"--rounds", "1", "--actions", "50"}},
	{"arrow", "arrow_bench.py", nil, []string{"--sizes", "1,16", "--repeat", "1", "--no-py4j"}},
	{"pyspark-arrow", "pyspark_arrow_bench.py", nil, []string{"--sizes", "1MiB"}},
}

// suiteNames lists every suite --suites accepts.
var suiteNames = []string{"python", "go", "pyspark", "arrow", "pyspark-arrow"}

// benchPython runs bench/run_bench.py without its chart (drawn here, with the Go client's bars).
func benchPython(ctx context.Context, e *env, sh *sigHub, repo, python string, quick bool, dir string) error {
	args := []string{}
	if quick {
		args = append(args, "--quick")
	}
	return benchScript(ctx, e, sh, repo, python, "python", "run_bench.py", append(args, "--no-chart", "--out", dir))
}

// benchScript runs bench/<script> with the repository's Python, its output streaming through.
func benchScript(ctx context.Context, e *env, sh *sigHub, repo, python, suite, script string, args []string) error {
	if repo == "" {
		return errors.New("not inside a Gatun checkout (no bench/run_bench.py found upwards): run from the repository or set GATUN_REPO")
	}
	if python == "" {
		python = filepath.Join(repo, ".venv", "bin", "python")
		if _, err := os.Stat(python); err != nil {
			return fmt.Errorf("%s is missing: run `make venv` in %s, or pass --python", python, repo)
		}
	}
	args = append([]string{filepath.Join(repo, "bench", script)}, args...)
	fmt.Fprintf(e.stdout, "== %s suite: %s %s\n", suite, python, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	// Its own process group, so a terminal's Ctrl-C reaches it once, forwarded by us; on SIGINT or
	// SIGTERM the script stops its workers (and their JVMs) and exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	sh.set(func(sig os.Signal) { _ = cmd.Process.Signal(sig) })
	err := cmd.Wait()
	sh.set(nil)
	if err != nil {
		return fmt.Errorf("%s: %v", script, err)
	}
	fmt.Fprintf(e.stdout, "== %s suite done in %v\n", suite, time.Since(t0).Round(time.Second))
	return nil
}

// sigHub receives SIGINT/SIGTERM during a bench run: it records the interruption and passes the
// signal to the running suite's handler.
type sigHub struct {
	mu      sync.Mutex
	handler func(os.Signal)
	got     bool
}

func (h *sigHub) serve(ctx context.Context, sigs <-chan os.Signal) {
	for {
		select {
		case sig := <-sigs:
			h.mu.Lock()
			h.got = true
			if h.handler != nil {
				h.handler(sig)
			}
			h.mu.Unlock()
		case <-ctx.Done():
			return
		}
	}
}

func (h *sigHub) set(f func(os.Signal)) {
	h.mu.Lock()
	h.handler = f
	h.mu.Unlock()
}

func (h *sigHub) interrupted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got
}

// benchGo runs the Go client's suite in this process and writes go.json.
func benchGo(ctx context.Context, e *env, sh *sigHub, repo, jarFlag string, duration, warmup time.Duration, ops, dir string) error {
	jar, err := findJar(ctx, jarFlag, repo)
	if err != nil {
		return err
	}
	n := len(gobench.Keys)
	if ops != "" {
		for _, k := range strings.Split(ops, ",") {
			found := false
			for _, known := range gobench.Keys {
				found = found || known == k
			}
			if !found {
				return fmt.Errorf("--go-ops: unknown operation %q (want some of %s)", k, strings.Join(gobench.Keys, ","))
			}
		}
		n = len(strings.Split(ops, ","))
	}
	fmt.Fprintf(e.stdout, "== go suite: %d operations × (%v warm-up + %v), jar %s\n", n, warmup, duration, jar)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sh.set(func(os.Signal) { cancel() })
	defer sh.set(nil)
	i := 0
	t0 := time.Now()
	res, err := gobench.Run(ctx, gobench.Options{Jar: jar, Duration: duration, Warmup: warmup, Ops: ops,
		Progress: func(key string, r gobench.Result) {
			i++
			if r.Error != "" {
				fmt.Fprintf(e.stdout, "[go %d/%d] %-14s error: %s\n", i, n, key, r.Error)
				return
			}
			fmt.Fprintf(e.stdout, "[go %d/%d] %-14s median %s, p99 %s (%d calls)\n", i, n, key,
				report.FormatNS(r.MedianNS), report.FormatNS(r.P99NS), r.Calls)
		}})
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, report.GoJSON)
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	var failed []string
	for k, r := range res.Operation {
		if r.Error != "" {
			failed = append(failed, k)
		}
	}
	fmt.Fprintf(e.stdout, "== go suite done in %v: wrote %s\n", time.Since(t0).Round(time.Second), path)
	if len(failed) > 0 {
		return fmt.Errorf("operations failed: %s (see %s)", strings.Join(failed, ", "), path)
	}
	return nil
}

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", `
Redraws from the JSON already in --out (nothing is run): go.md from go.json (and
foundation.json for the Python/Py4J columns), foundation.png (Gatun-Python, Gatun-Go, Py4J, JPype per
operation; log scale; p99 whiskers) and go.png. foundation.md is run_bench.py's and is left as is.`)
	out := fs.String("out", "", "results directory (default <repo>/bench/results)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if *out == "" {
		*out = defaultOut(locate.RepoRoot())
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	return renderReport(e, dir)
}

func renderReport(e *env, dir string) error {
	wrote, err := report.Render(dir)
	for _, p := range wrote {
		fmt.Fprintf(e.stdout, "wrote %s\n", p)
	}
	return err
}
