// Command gatun-soak is the Go side of bench/soak.py (issue 13): against a running server (its
// connection info file), one goroutine makes mixed calls on a long-lived client and another
// connects, calls and disconnects in a loop, until -duration passes. It prints JSON counts and
// exits 1 on the first wrong answer or error.
//
//	go run ./cmd/gatun-soak -info /path/to/connection.json -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
)

func main() {
	info := flag.String("info", "", "the server's connection info file")
	duration := flag.Duration("duration", time.Minute, "how long to run")
	flag.Parse()
	ctx := context.Background()
	end := time.Now().Add(*duration)
	var calls, cycles atomic.Int64
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "gatun-soak: "+format+"\n", args...)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // mixed calls on one client
		defer wg.Done()
		c, err := gatun.ConnectInfoFile(ctx, *info)
		if err != nil {
			fail("connect: %v", err)
		}
		defer c.Close()
		math, err := c.Class(ctx, "java.lang.Math")
		if err != nil {
			fail("Math: %v", err)
		}
		list, err := c.Class(ctx, "java.util.ArrayList")
		if err != nil {
			fail("ArrayList: %v", err)
		}
		for i := int32(0); time.Now().Before(end); i++ {
			if got, err := math.Call(ctx, "max", i, int32(3)); err != nil || got != max(i, 3) {
				fail("max(%d, 3) = %v, %v", i, got, err)
			}
			l, err := list.New(ctx)
			if err != nil {
				fail("new ArrayList: %v", err)
			}
			for j := 0; j < 10; j++ {
				if _, err := l.Call(ctx, "add", fmt.Sprint(j)); err != nil {
					fail("add: %v", err)
				}
			}
			if got, err := l.Call(ctx, "size"); err != nil || got != int32(10) {
				fail("size = %v, %v", got, err)
			}
			l.Release()
			calls.Add(13)
		}
	}()
	go func() { // connect, call, disconnect
		defer wg.Done()
		for time.Now().Before(end) {
			c, err := gatun.ConnectInfoFile(ctx, *info)
			if err != nil {
				fail("connect: %v", err)
			}
			math, err := c.Class(ctx, "java.lang.Math")
			if err != nil {
				fail("Math: %v", err)
			}
			if got, err := math.Call(ctx, "max", int32(1), int32(2)); err != nil || got != int32(2) {
				fail("max = %v, %v", got, err)
			}
			if err := c.Close(); err != nil {
				fail("close: %v", err)
			}
			cycles.Add(1)
		}
	}()
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]int64{"go_calls": calls.Load(), "go_cycles": cycles.Load()})
}
