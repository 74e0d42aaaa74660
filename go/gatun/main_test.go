package gatun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatun-project/gatun/go/internal/testjvm"
)

// The tests run against a real server JVM that TestMain starts. Without java or the jar they are
// skipped with a message, unless GATUN_REQUIRE_JVM=1 (CI), where that is a failure.

var (
	testClient *Client
	testJar    string
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testJar, skipReason = testjvm.Locate(filepath.Join("..", ".."))
	if skipReason != "" {
		if !testjvm.MaySkip("gatun", skipReason) {
			return 1
		}
		testjvm.ForExamples(testJar, skipReason)
		return m.Run()
	}
	testjvm.ForExamples(testJar, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var err error
	testClient, err = Launch(ctx, LaunchOptions{Jar: testJar})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot launch the test server: %v\n", err)
		return 1
	}
	code := m.Run()
	if secondClient != nil {
		secondClient.Close()
	}
	if err := testClient.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "closing the test client: %v\n", err)
	}
	return code
}

// jvm returns the shared test client, or skips the test when no JVM is available.
func jvm(t testing.TB) *Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return testClient
}

// launch starts a separate server for a test that needs other options or kills it.
func launch(t testing.TB, opts LaunchOptions) *Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	opts.Jar = testJar
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Launch(ctx, opts)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func class(t testing.TB, c *Client, name string) *Class {
	t.Helper()
	k, err := c.Class(context.Background(), name)
	if err != nil {
		t.Fatalf("Class(%q): %v", name, err)
	}
	return k
}

var (
	secondOnce   sync.Once
	secondClient *Client
	secondErr    error
)

// secondServerOptions: a 64 KiB region (so that chunking is exercised often), a 1 MiB message limit
// and an allowlist that also admits java.lang.ThreadLocal.
var secondServerOptions = LaunchOptions{
	RegionBytes: 65536, MaxMessageBytes: 1 << 20,
	Allowlist: []string{"default", "java.lang.ThreadLocal"},
}

// second is a second shared server with secondServerOptions, started on first use.
func second(t testing.TB) *Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	secondOnce.Do(func() {
		opts := secondServerOptions
		opts.Jar = testJar
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		secondClient, secondErr = Launch(ctx, opts)
	})
	if secondErr != nil {
		t.Fatalf("launch: %v", secondErr)
	}
	return secondClient
}
