package gatunarrow

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
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
	testJar = os.Getenv("GATUN_JAR")
	if testJar == "" {
		testJar, _ = filepath.Abs(filepath.Join("..", "..", "python", "gatun", "jars", "gatun-server.jar"))
	}
	arrowJar := filepath.Join(filepath.Dir(testJar), gatun.ArrowJar)
	if _, err := os.Stat(testJar); err != nil {
		skipReason = fmt.Sprintf("the Gatun server jar is missing at %s (run `make jar`, or set GATUN_JAR)", testJar)
	} else if _, err := os.Stat(arrowJar); err != nil {
		skipReason = fmt.Sprintf("%s is missing next to the server jar (run `make jar`)", arrowJar)
	} else if _, err := exec.LookPath("java"); err != nil && os.Getenv("JAVA_HOME") == "" {
		skipReason = "no java on PATH and JAVA_HOME is not set"
	}
	if skipReason != "" {
		if os.Getenv("GATUN_REQUIRE_JVM") == "1" {
			fmt.Fprintf(os.Stderr, "FAIL: GATUN_REQUIRE_JVM=1 but %s\n", skipReason)
			return 1
		}
		fmt.Fprintf(os.Stderr, "gatunarrow tests that need a JVM are skipped: %s\n", skipReason)
		return m.Run()
	}
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
