// Package startup waits for a starting server program's connection info file; gatun.Launch,
// gatun.LaunchCommand and `gatun serve` share it.
package startup

import (
	"context"
	"errors"
	"os"
	"time"
)

// Errors of WaitForFile.
var (
	ErrExited  = errors.New("the server exited before it was ready")
	ErrTimeout = errors.New("the server did not write its connection info in time")
)

// pollEvery is how often the file is looked for: short next to a JVM's start-up.
const pollEvery = 10 * time.Millisecond

// WaitForFile returns nil once path exists. It gives up with ErrExited when exited is closed (the
// program ended), ErrTimeout after timeout, or context.Cause(ctx) when ctx ends.
func WaitForFile(ctx context.Context, path string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-exited:
			// It may have written the file just before it ended; the caller's connect then says more.
			if _, err := os.Stat(path); err == nil {
				return nil
			}
			return ErrExited
		case <-deadline.C:
			return ErrTimeout
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}
