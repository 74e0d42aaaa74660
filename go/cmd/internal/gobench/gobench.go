// Package gobench measures the Go client against a private Gatun server JVM: for each operation
// the median and 99th percentile of the per-call time. The operation keys match
// bench/run_bench.py's. cmd/gatun-gobench and `gatun bench` print or store its Output.
package gobench

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// Result is one operation's measurement.
type Result struct {
	What     string  `json:"what"`
	MedianNS float64 `json:"median_ns,omitempty"`
	P99NS    float64 `json:"p99_ns,omitempty"`
	Calls    int     `json:"calls,omitempty"`
	// Batch is how many calls one timed sample spans (its time divided among them): 1 for calls
	// slower than batchTarget, so that their p99 is a per-call p99.
	Batch int `json:"batch,omitempty"`
	// AllocsPerCall is the Go heap allocations per call, over allocCalls calls after the timing.
	AllocsPerCall *float64 `json:"allocs_per_call,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// Options configure a run.
type Options struct {
	Jar      string        // the server jar
	Java     string        // the java executable; "" for gatun.Launch's default
	Duration time.Duration // measuring time per operation
	Warmup   time.Duration // warm-up time per operation
	Ops      string        // comma-separated subset of operation keys; "" for all
	// PerCall times every call on its own (Batch 1), so that the p99 is a per-call p99 even for
	// sub-microsecond calls, at the price of the clock's own tens of nanoseconds in each sample.
	PerCall bool
	// Progress, if set, is called after each operation.
	Progress func(key string, r Result)
}

// Output is the JSON document gatun-gobench prints.
type Output struct {
	Client   string `json:"client"`
	Go       string `json:"go"`
	CPUs     int    `json:"cpus"`
	Date     string `json:"date"`
	Duration string `json:"duration"`
	// LoadStart and LoadEnd are the 1-minute load averages (/proc/loadavg) when the run began and
	// ended: above the number of CPUs, other processes competed for them and the times show it.
	LoadStart float64           `json:"load_start,omitempty"`
	LoadEnd   float64           `json:"load_end,omitempty"`
	Operation map[string]Result `json:"operation"`
}

// loadAverage is the 1-minute load average, or 0 where /proc/loadavg cannot be read.
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	if _, err := fmt.Sscan(string(raw), &v); err != nil {
		return 0
	}
	return v
}

// Keys are the operation keys in run order (a subset of bench/run_bench.py's).
var Keys = []string{"prebound_call", "static_call", "new_object", "string_1k", "bytes_1m", "list_1000", "callback"}

// Run launches a private server JVM and measures each operation against it.
func Run(ctx context.Context, o Options) (*Output, error) {
	jar, duration, warmup, only := o.Jar, o.Duration, o.Warmup, o.Ops
	c, err := gatun.Launch(ctx, gatun.LaunchOptions{Jar: jar, Java: o.Java})
	if err != nil {
		return nil, err
	}
	defer c.Close()

	arrayList, err := c.Class(ctx, "java.util.ArrayList")
	if err != nil {
		return nil, err
	}
	// The pre-bound receiver: a StringBuilder if its length() is callable, else an ArrayList.
	var target *gatun.Object
	prebound := "sb.length() on a StringBuilder bound once"
	sbClass, err := c.Class(ctx, "java.lang.StringBuilder")
	if err != nil {
		return nil, err
	}
	sb, err := sbClass.New(ctx, "x")
	if err != nil {
		return nil, err
	}
	method := "length"
	if _, err := sb.Call(ctx, "length"); err != nil {
		target, method = nil, "size"
		prebound = "list.size() on an ArrayList bound once (StringBuilder.length failed: " + err.Error() + ")"
		if target, err = arrayList.New(ctx); err != nil {
			return nil, err
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
		return nil, err
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
	out := &Output{
		Client:    "go",
		Go:        runtime.Version(),
		CPUs:      runtime.NumCPU(),
		Date:      time.Now().UTC().Format(time.RFC3339),
		Duration:  duration.String(),
		LoadStart: loadAverage(),
		Operation: map[string]Result{},
	}
	for _, op := range ops {
		if only != "" && !slices.Contains(strings.Split(only, ","), op.key) {
			continue
		}
		r := measure(ctx, op, duration, warmup, o.PerCall)
		out.Operation[op.key] = r
		if o.Progress != nil {
			o.Progress(op.key, r)
		}
	}
	out.LoadEnd = loadAverage()
	return out, nil
}

// batchTarget is the shortest timed sample: reading the clock costs tens of ns, which must not
// weigh on a sub-µs call (bench/run_bench.py sizes its batches the same way).
const batchTarget = 10 * time.Microsecond

// allocCalls is how many calls the allocation count is taken over.
const allocCalls = 1000

// measure times calls for duration after a warm-up, in samples of Batch calls: median and p99 of
// the per-call times; then counts the heap allocations per call.
func measure(ctx context.Context, o op, duration, warmup time.Duration, timeEach bool) Result {
	r := Result{What: o.what}
	fail := func(err error) Result {
		r.Error = err.Error()
		return r
	}
	end := time.Now().Add(warmup)
	for time.Now().Before(end) {
		if err := o.run(ctx); err != nil {
			return fail(err)
		}
	}
	const probe = 50
	t0 := time.Now()
	for range probe {
		if err := o.run(ctx); err != nil {
			return fail(err)
		}
	}
	per := time.Since(t0) / probe
	r.Batch = int(min(1000, max(1, (batchTarget+per-1)/max(per, 1))))
	if timeEach {
		r.Batch = 1
	}
	// Room for every sample up front: growing the slice would make garbage, and the collector's
	// workers would then take a core from the client or the server in the middle of the timing.
	samples := make([]float64, 0, int(duration/(time.Duration(r.Batch)*max(per/2, 1)))+1024)
	end = time.Now().Add(duration)
	for time.Now().Before(end) {
		t0 := time.Now()
		for range r.Batch {
			if err := o.run(ctx); err != nil {
				return fail(err)
			}
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/float64(r.Batch))
	}
	slices.Sort(samples)
	r.Calls = len(samples) * r.Batch
	r.MedianNS = samples[len(samples)/2]
	r.P99NS = samples[min(len(samples)-1, len(samples)*99/100)]
	n := min(allocCalls, max(10, r.Calls/10))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if err := o.run(ctx); err != nil {
			return fail(err)
		}
	}
	runtime.ReadMemStats(&after)
	allocs := float64(after.Mallocs-before.Mallocs) / float64(n)
	r.AllocsPerCall = &allocs
	return r
}
