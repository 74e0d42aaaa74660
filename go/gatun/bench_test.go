package gatun

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkStaticCall(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	m := class(b, c, "java.lang.Math")
	for b.Loop() {
		if _, err := m.Call(ctx, "max", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewObject(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	k := class(b, c, "java.util.ArrayList")
	for b.Loop() {
		if _, err := k.New(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreboundCall(b *testing.B) {
	benchPrebound(b, context.Background())
}

// BenchmarkPreboundCallCancellable is BenchmarkPreboundCall with a context that can end: a call
// that parks then hands it to the channel's watcher.
func BenchmarkPreboundCallCancellable(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchPrebound(b, ctx)
}

// benchPrebound times list.size() on an ArrayList bound once.
func benchPrebound(b *testing.B, ctx context.Context) {
	c := jvm(b)
	list, err := class(b, c, "java.util.ArrayList").New(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := list.Call(ctx, "size"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallback(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	sup, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
		return "x", nil
	}, "java.util.function.Supplier")
	if err != nil {
		b.Fatal(err)
	}
	objects := class(b, c, "java.util.Objects")
	for b.Loop() {
		if _, err := objects.Call(ctx, "requireNonNullElseGet", nil, sup); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPreboundCallAllocatesNothing: a call on a bound object allocates nothing in Go, with or
// without a context that can end, and also when it parks (TimeUnit.sleep outlasts the spin).
func TestPreboundCallAllocatesNothing(t *testing.T) {
	c := jvm(t)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := class(t, c, "java.lang.StringBuilder").New(cancellable, "abc")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := class(t, c, "java.util.concurrent.TimeUnit").Field(cancellable, "MILLISECONDS")
	if err != nil {
		t.Fatal(err)
	}
	length := func(ctx context.Context) error {
		if v, err := sb.Call(ctx, "length"); err != nil || v != int32(3) {
			return fmt.Errorf("length() = %v, %v", v, err)
		}
		return nil
	}
	sleep := func(ctx context.Context) error {
		_, err := ms.(*Object).Call(ctx, "sleep", int64(1))
		return err
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		call func(context.Context) error
		runs int
	}{
		{"background", context.Background(), length, 2000},
		{"cancellable", cancellable, length, 2000},
		{"background, parks", context.Background(), sleep, 100},
		{"cancellable, parks", cancellable, sleep, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var callErr error
			allocs := testing.AllocsPerRun(tc.runs, func() {
				if err := tc.call(tc.ctx); err != nil {
					callErr = err
				}
			})
			if callErr != nil {
				t.Fatal(callErr)
			}
			if allocs != 0 {
				t.Fatalf("%.2f allocations per call, want 0", allocs)
			}
		})
	}
}
