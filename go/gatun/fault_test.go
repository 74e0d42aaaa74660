package gatun

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestServerStoppedCallTimesOut (issue 13, fault suite): with the server stopped (SIGSTOP), a call
// whose context has a deadline returns context.DeadlineExceeded within the deadline plus the
// cancel grace (the client sends CANCEL and gives the server cancelGrace to answer), without
// burning a core meanwhile; after SIGCONT the client goes on with new calls.
func TestServerStoppedCallTimesOut(t *testing.T) {
	c := launch(t, LaunchOptions{})
	ctx := context.Background()
	millis, err := class(t, c, "java.util.concurrent.TimeUnit").Field(ctx, "MILLISECONDS")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := millis.(*Object).Call(ctx, "sleep", int64(1)); err != nil {
		t.Fatal(err)
	}
	pid := c.ServerPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	const deadline = 300 * time.Millisecond
	cctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	_, callErr := millis.(*Object).Call(cctx, "sleep", int64(50))
	took := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if !errors.Is(callErr, context.DeadlineExceeded) {
		t.Fatalf("a call to a stopped server: %v, want context.DeadlineExceeded", callErr)
	}
	if took > deadline+cancelGrace+time.Second {
		t.Fatalf("the call returned %v after it started (deadline %v, cancel grace %v)", took, deadline, cancelGrace)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	if float64(cpu) > 0.25*float64(took) {
		t.Fatalf("the waiting client used %v of CPU in %v", cpu, took)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	got, err := class(t, c, "java.lang.Math").Call(ctx, "max", int32(7), int32(8))
	if err != nil || got != int32(8) {
		t.Fatalf("after SIGCONT: %v, %v", got, err)
	}
	t.Logf("stopped server: %v after %v (CPU %v); the next call works", callErr, took, cpu)
}
