package gatunarrow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/internal/testjvm"
)

// The tests run against a real server JVM with gatun-arrow.jar, which TestMain starts. Without
// java or the jars they are skipped with a message, unless GATUN_REQUIRE_JVM=1 (CI): then it fails.

var (
	testClient *gatun.Client
	testJar    string
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testJar, skipReason = testjvm.Locate(filepath.Join("..", ".."), gatun.ArrowJar)
	if skipReason != "" {
		if !testjvm.MaySkip("gatunarrow", skipReason) {
			return 1
		}
		testjvm.ForExamples(testJar, skipReason)
		return m.Run()
	}
	testjvm.ForExamples(testJar, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var err error
	testClient, err = gatun.Launch(ctx, gatun.LaunchOptions{Jar: testJar})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot launch the test server: %v\n", err)
		return 1
	}
	code := m.Run()
	if err := testClient.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "closing the test client: %v\n", err)
	}
	return code
}

// jvm returns the shared test client, or skips the test when no JVM is available.
func jvm(t testing.TB) *gatun.Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return testClient
}

// launch starts a server of the test's own (one to close, or with another allowlist).
func launch(t testing.TB, allowlist ...string) *gatun.Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := gatun.Launch(ctx, gatun.LaunchOptions{Jar: testJar, Allowlist: allowlist})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
