package gatun

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestContextCancel(t *testing.T) {
	c := jvm(t)
	seconds, err := class(t, c, "java.util.concurrent.TimeUnit").Field(context.Background(), "SECONDS")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = seconds.(*Object).Call(ctx, "sleep", int64(30))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep(30) with a 200 ms deadline: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("cancel took %v", took)
	}
	// The channel is usable again (the JVM thread was interrupted and answered).
	for i := 0; i < 20; i++ {
		if v, err := class(t, c, "java.lang.Math").Call(context.Background(), "max", 1, i); err != nil || v != int32(max(1, i)) {
			t.Fatalf("after cancel: %v %v", v, err)
		}
	}
	// An already cancelled context sends nothing.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := class(t, c, "java.lang.Math").Call(done, "max", 1, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the call: %v", err)
	}
}

func TestCallbacks(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	optional := class(t, c, "java.util.Optional")

	t.Run("nested 20 deep", func(t *testing.T) {
		var deepest atomic.Int32
		var fn *Callback
		fn, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
			if method != "apply" {
				return nil, errors.New("unexpected method " + method)
			}
			n := args[0].(int32)
			if n > deepest.Load() {
				deepest.Store(n)
			}
			if n >= 20 {
				return n, nil
			}
			o, err := optional.Call(ctx, "of", n+1)
			if err != nil {
				return nil, err
			}
			r, err := o.(*Object).Call(ctx, "map", fn)
			if err != nil {
				return nil, err
			}
			return r.(*Object).Call(ctx, "get")
		}, "java.util.function.Function")
		if err != nil {
			t.Fatal(err)
		}
		o, err := optional.Call(ctx, "of", int32(1))
		if err != nil {
			t.Fatal(err)
		}
		r, err := o.(*Object).Call(ctx, "map", fn)
		if err != nil {
			t.Fatal(err)
		}
		v, err := r.(*Object).Call(ctx, "get")
		if err != nil || v != int32(20) || deepest.Load() != 20 {
			t.Fatalf("nested: %v %v (deepest %d)", v, err, deepest.Load())
		}
	})

	t.Run("foreign thread", func(t *testing.T) {
		var calls atomic.Int32
		sup, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
			calls.Add(1)
			// A nested call from the foreign JVM thread runs on the callback channel.
			s, err := class(t, c, "java.lang.String").Call(ctx, "valueOf", int32(7))
			if err != nil {
				return nil, err
			}
			return "hello from Go " + s.(string), nil
		}, "java.util.function.Supplier")
		if err != nil {
			t.Fatal(err)
		}
		cf := class(t, c, "java.util.concurrent.CompletableFuture")
		for i := 0; i < 5; i++ {
			f, err := cf.Call(ctx, "supplyAsync", sup)
			if err != nil {
				t.Fatal(err)
			}
			v, err := f.(*Object).Call(ctx, "get")
			if err != nil || v != "hello from Go 7" {
				t.Fatalf("supplyAsync.get: %v %v", v, err)
			}
		}
		if calls.Load() != 5 {
			t.Fatalf("%d calls", calls.Load())
		}
	})

	t.Run("errors", func(t *testing.T) {
		failing, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
			return nil, errors.New("no thanks")
		}, "java.util.function.Function")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := optional.Call(ctx, "of", 1)
		_, err = o.(*Object).Call(ctx, "map", failing)
		var je *JavaError
		if !errors.As(err, &je) || je.Class != "dev.gatun.server.CallbackException" || !strings.Contains(je.Message, "no thanks") {
			t.Fatalf("callback error: %v", err)
		}
		// A Java exception raised inside the callback comes back as itself.
		rethrow, _ := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
			return class(t, c, "java.lang.Integer").Call(ctx, "parseInt", "x")
		}, "java.util.function.Function")
		_, err = o.(*Object).Call(ctx, "map", rethrow)
		if !errors.As(err, &je) || je.Class != "java.lang.NumberFormatException" {
			t.Fatalf("rethrown: %v", err)
		}
		panicky, _ := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
			panic("oops")
		}, "java.util.function.Function")
		_, err = o.(*Object).Call(ctx, "map", panicky)
		if !errors.As(err, &je) || !strings.Contains(je.Message, "panicked: oops") {
			t.Fatalf("panic: %v", err)
		}
		// Object methods are answered by the JVM.
		if s, err := class(t, c, "java.util.Objects").Call(ctx, "hashCode", failing); err != nil {
			t.Fatalf("hashCode of a callback proxy: %v %v", s, err)
		}
	})

	t.Run("not allowed interface", func(t *testing.T) {
		cb, _ := c.Implement(func(ctx context.Context, method string, args []any) (any, error) { return nil, nil },
			"java.lang.Runnable", "java.io.Closeable")
		_, err := class(t, c, "java.util.Objects").Call(ctx, "requireNonNull", cb)
		var re *RequestError
		if !errors.As(err, &re) || re.Code != CodeNotAllowed {
			t.Fatalf("callback with a refused interface: %v", err)
		}
	})
}

func TestObjectLifetime(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	arrayList := class(t, c, "java.util.ArrayList")
	n := 1000000
	if testing.Short() {
		n = 100000
	}
	// Earlier tests held large values; a GC now sets the pace from a small live heap.
	runtime.GC()
	// Eight goroutines share the loop: on a loaded 2-core machine a lone caller's round trips
	// often miss the server's spin window and park, which makes a sequential loop slow.
	const workers = 8
	var peak atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < n/workers; i++ {
				if _, err := arrayList.New(ctx); err != nil { // dropped at once
					errs <- err
					return
				}
				if w == 0 && i%25000 == 24999 {
					objects, _, err := c.SessionInfo(ctx)
					if err != nil {
						errs <- err
						return
					}
					if objects > peak.Load() {
						peak.Store(objects)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	objects, channels, err := c.SessionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d objects created and dropped: peak %d live, %d live after GC, %d channels", n, peak.Load(), objects, channels)
	if peak.Load() > int64(n)/4 {
		t.Fatalf("%d objects live in the session while the loop dropped them all", peak.Load())
	}
	if objects > 20000 {
		t.Fatalf("%d objects live after GC", objects)
	}
}

func TestJVMKilledMidCall(t *testing.T) {
	c := launch(t, LaunchOptions{})
	ctx := context.Background()
	seconds, err := class(t, c, "java.util.concurrent.TimeUnit").Field(ctx, "SECONDS")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = syscall.Kill(c.ServerPID(), syscall.SIGKILL)
	}()
	start := time.Now()
	_, err = seconds.(*Object).Call(ctx, "sleep", int64(30))
	took := time.Since(start) - 300*time.Millisecond
	if !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), "JVM died") {
		t.Fatalf("call during kill: %v", err)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("the error took %v after the kill", took)
	}
	t.Logf("error %v after the kill: %v", took, err)
	if _, err := c.Class(ctx, "java.lang.Math"); err != nil && !errors.Is(err, ErrConnection) {
		t.Fatalf("a call after the death: %v", err)
	}
}

func TestClose(t *testing.T) {
	c := launch(t, LaunchOptions{})
	ctx := context.Background()
	if _, err := class(t, c, "java.lang.Math").Call(ctx, "max", 1, 2); err != nil {
		t.Fatal(err)
	}
	pid := c.ServerPID()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Class(ctx, "java.lang.String"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatal("the JVM still runs after Close")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConnectInfoFile(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	ctx := context.Background()
	if _, err := Connect(ctx, "/nonexistent/gatun.sock", strings.Repeat("00", 32)); !errors.Is(err, ErrConnection) {
		t.Fatalf("connect to nothing: %v", err)
	}
	c := jvm(t)
	// A wrong token is refused in the hand-shake.
	_, err := Connect(ctx, c.socketPath, strings.Repeat("ab", 32))
	if !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong token: %v", err)
	}
	info := c.proc.dir + "/connection.json"
	c2, err := ConnectInfoFile(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if v, err := class(t, c2, "java.lang.Math").Call(ctx, "min", 1, 2); err != nil || v != int32(1) {
		t.Fatalf("second session: %v %v", v, err)
	}
	// Objects of one session cannot be used in another.
	sb, _ := class(t, c, "java.lang.StringBuilder").New(ctx)
	if _, err := class(t, c2, "java.util.Objects").Call(ctx, "toString", sb); err == nil {
		t.Fatal("an object crossed sessions")
	}
}
