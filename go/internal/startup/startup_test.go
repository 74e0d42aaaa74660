package startup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWaitForFile(t *testing.T) {
	cause := errors.New("interrupted")
	tests := []struct {
		name   string
		write  bool // the file appears after 30 ms
		exit   bool // the program has ended
		cancel bool // the context is cancelled with cause
		want   error
	}{
		{name: "file appears", write: true, want: nil},
		{name: "program exited", exit: true, want: ErrExited},
		{name: "context cancelled", cancel: true, want: cause},
		{name: "time out", want: ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "connection.json")
			exited := make(chan struct{})
			if tc.exit {
				close(exited)
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tc.cancel {
				cancel(cause)
			}
			if tc.write {
				time.AfterFunc(30*time.Millisecond, func() { _ = os.WriteFile(path, []byte("{}"), 0o600) })
			}
			err := WaitForFile(ctx, path, 300*time.Millisecond, exited)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("WaitForFile = %v, want %v", err, tc.want)
			}
		})
	}
}
