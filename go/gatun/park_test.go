package gatun

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// threadsInPoll counts the process's threads now blocked in ppoll(2), from /proc/self/task/*/syscall
// (the number of the system call a blocked thread is in).
func threadsInPoll(t *testing.T) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ppoll := []byte(strconv.Itoa(syscall.SYS_PPOLL) + " ")
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/syscall")
		if err == nil && bytes.HasPrefix(b, ppoll) {
			n++
		}
	}
	return n
}

// TestLongWaitsHoldNoThread: a wait that outlasts its first poll slice goes on in Go's network
// poller, so concurrent long calls (and idle callback channels) do not each keep an OS thread
// blocked in a system call. With every park in its own ppoll, each call below keeps a thread in
// ppoll for its whole 1.5 s; the median over samples taken while they run says which.
func TestLongWaitsHoldNoThread(t *testing.T) {
	const calls = 24
	c := launch(t, LaunchOptions{RegionBytes: 1 << 20})
	ctx := context.Background()
	millis, err := class(t, c, "java.util.concurrent.TimeUnit").Field(ctx, "MILLISECONDS")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	starts, ends := make([]time.Time, calls), make([]time.Time, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			starts[i] = time.Now()
			_, errs[i] = millis.(*Object).Call(ctx, "sleep", int64(1500))
			ends[i] = time.Now()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var inPoll []int
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(5 * time.Millisecond):
			inPoll = append(inPoll, threadsInPoll(t))
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	lastStart, firstEnd := starts[0], ends[0]
	for i := range calls {
		if starts[i].After(lastStart) {
			lastStart = starts[i]
		}
		if ends[i].Before(firstEnd) {
			firstEnd = ends[i]
		}
	}
	if !lastStart.Before(firstEnd) {
		t.Fatalf("the %d calls did not overlap (last start %v after first end %v): nothing was measured", calls, lastStart, firstEnd)
	}
	slices.Sort(inPoll)
	median := inPoll[len(inPoll)/2]
	if median >= calls/2 {
		t.Fatalf("%d parked calls: median %d threads blocked in ppoll over %d samples: long waits hold threads", calls, median, len(inPoll))
	}
	t.Logf("%d parked calls: median %d, most %d threads blocked in ppoll over %d samples", calls, median, inPoll[len(inPoll)-1], len(inPoll))
}
