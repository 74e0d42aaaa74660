// Command gatun-gobench measures the Go client against a private Gatun server JVM and prints JSON:
// for each operation the median and 99th percentile of the per-call time in nanoseconds. The
// operations match bench/run_bench.py's keys.
//
//	go run ./cmd/gatun-gobench [-jar path/to/gatun-server.jar] [-duration 2s] [-warmup 1s]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
)

type op struct {
	key, what string
	run       func(ctx context.Context) error
}

type result struct {
	What     string  `json:"what"`
	MedianNS float64 `json:"median_ns,omitempty"`
	P99NS    float64 `json:"p99_ns,omitempty"`
	Calls    int     `json:"calls,omitempty"`
	Error    string  `json:"error,omitempty"`
}

func main() {
	jar := flag.String("jar", "", "server jar (default $GATUN_JAR, else ../python/gatun/jars/gatun-server.jar from go/)")
	duration := flag.Duration("duration", 2*time.Second, "measuring time per operation")
	warmup := flag.Duration("warmup", time.Second, "warm-up time per operation")
	only := flag.String("ops", "", "comma-separated subset of operation keys")
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
	if err := run(*jar, *duration, *warmup, *only); err != nil {
		fmt.Fprintln(os.Stderr, "gatun-gobench:", err)
		os.Exit(1)
	}
}

func run(jar string, duration, warmup time.Duration, only string) error {
	ctx := context.Background()
	c, err := gatun.Launch(ctx, gatun.LaunchOptions{Jar: jar})
	if err != nil {
		return err
	}
	defer c.Close()

	arrayList, err := c.Class(ctx, "java.util.ArrayList")
	if err != nil {
		return err
	}
	// The pre-bound receiver: a StringBuilder if its length() is callable, else an ArrayList.
	var target *gatun.Object
	prebound := "sb.length() on a StringBuilder bound once"
	sbClass, err := c.Class(ctx, "java.lang.StringBuilder")
	if err != nil {
		return err
	}
	sb, err := sbClass.New(ctx, "x")
	if err != nil {
		return err
	}
	method := "length"
	if _, err := sb.Call(ctx, "length"); err != nil {
		target, method = nil, "size"
		prebound = "list.size() on an ArrayList bound once (StringBuilder.length failed: " + err.Error() + ")"
		if target, err = arrayList.New(ctx); err != nil {
			return err
		}
	} else {
		target = sb
	}
	s1k := strings.Repeat("x", 1024)
	b1m := make([]byte, 1<<20)
	list := make([]any, 1000)
	for i := range list {
		list[i] = i
	}
	calls := 0
	sup, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
		calls++
		return "from Go", nil
	}, "java.util.function.Supplier")
	if err != nil {
		return err
	}
	ops := []op{
		{"prebound_call", prebound, func(ctx context.Context) error {
			_, err := target.Call(ctx, method)
			return err
		}},
		{"static_call", `c.Class(ctx, "java.lang.Math") then .Call(ctx, "max", 1, 2)`, func(ctx context.Context) error {
			m, err := c.Class(ctx, "java.lang.Math")
			if err != nil {
				return err
			}
			v, err := m.Call(ctx, "max", 1, 2)
			if err == nil && v != int32(2) {
				err = fmt.Errorf("max gave %v", v)
			}
			return err
		}},
		{"new_object", `c.Class(ctx, "java.util.ArrayList") then .New(ctx), dropped (release batched)`, func(ctx context.Context) error {
			k, err := c.Class(ctx, "java.util.ArrayList")
			if err != nil {
				return err
			}
			_, err = k.New(ctx)
			return err
		}},
		{"string_1k", `sb.indexOf(1 KiB string)`, func(ctx context.Context) error {
			_, err := sb.Call(ctx, "indexOf", s1k)
			return err
		}},
		{"bytes_1m", `java.util.Arrays.hashCode(1 MiB []byte)`, func(ctx context.Context) error {
			arrays, err := c.Class(ctx, "java.util.Arrays")
			if err != nil {
				return err
			}
			_, err = arrays.Call(ctx, "hashCode", b1m)
			return err
		}},
		{"list_1000", `java.util.Objects.hashCode([]any of 1000 ints)`, func(ctx context.Context) error {
			objects, err := c.Class(ctx, "java.util.Objects")
			if err != nil {
				return err
			}
			_, err = objects.Call(ctx, "hashCode", list)
			return err
		}},
		{"callback", `java.util.Objects.requireNonNullElseGet(nil, Go Supplier)`, func(ctx context.Context) error {
			objects, err := c.Class(ctx, "java.util.Objects")
			if err != nil {
				return err
			}
			before := calls
			v, err := objects.Call(ctx, "requireNonNullElseGet", nil, sup)
			if err == nil && (v != "from Go" || calls != before+1) {
				err = errors.New("the callback did not run once")
			}
			return err
		}},
	}
	out := map[string]any{
		"client":    "go",
		"go":        runtime.Version(),
		"cpus":      runtime.NumCPU(),
		"date":      time.Now().UTC().Format(time.RFC3339),
		"duration":  duration.String(),
		"operation": map[string]result{},
	}
	results := out["operation"].(map[string]result)
	for _, o := range ops {
		if only != "" && !slices.Contains(strings.Split(only, ","), o.key) {
			continue
		}
		results[o.key] = measure(ctx, o, duration, warmup)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// measure times single calls for duration after a warm-up: median and p99 of the per-call times.
func measure(ctx context.Context, o op, duration, warmup time.Duration) result {
	r := result{What: o.what}
	end := time.Now().Add(warmup)
	for time.Now().Before(end) {
		if err := o.run(ctx); err != nil {
			r.Error = err.Error()
			return r
		}
	}
	var samples []float64
	end = time.Now().Add(duration)
	for time.Now().Before(end) {
		t0 := time.Now()
		if err := o.run(ctx); err != nil {
			r.Error = err.Error()
			return r
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds()))
	}
	slices.Sort(samples)
	r.Calls = len(samples)
	r.MedianNS = samples[len(samples)/2]
	r.P99NS = samples[min(len(samples)-1, len(samples)*99/100)]
	return r
}
