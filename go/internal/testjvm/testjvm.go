// Package testjvm decides, once per test binary, whether the tests that need a real server JVM can
// run here, so that every package skips (or, in CI, fails) for the same reasons with the same words.
package testjvm

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// RequireEnv is the environment variable that turns a missing JVM or jar from a skip into a
// failure (make test and CI set it to 1).
const RequireEnv = "GATUN_REQUIRE_JVM"

// Locate returns the server jar the tests use ($GATUN_JAR, else python/gatun/jars/gatun-server.jar
// under repoRoot) and why JVM tests cannot run here: "" when they can. Each name in besideJar must
// also exist next to the jar (e.g. gatun-arrow.jar).
func Locate(repoRoot string, besideJar ...string) (jar, reason string) {
	jar = os.Getenv("GATUN_JAR")
	if jar == "" {
		jar, _ = filepath.Abs(filepath.Join(repoRoot, "python", "gatun", "jars", "gatun-server.jar"))
	}
	if _, err := os.Stat(jar); err != nil {
		return jar, fmt.Sprintf("the Gatun server jar is missing at %s (run `make jar`, or set GATUN_JAR)", jar)
	}
	for _, name := range besideJar {
		if p := filepath.Join(filepath.Dir(jar), name); !exists(p) {
			return jar, fmt.Sprintf("%s is missing next to the server jar (run `make jar`)", p)
		}
	}
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("JAVA_HOME") == "" {
		return jar, "no java on PATH and JAVA_HOME is not set"
	}
	return jar, ""
}

// MaySkip reports a reason from Locate for package pkg on stderr and says whether its tests may
// run and skip themselves (true), or must fail because RequireEnv is 1 (false).
func MaySkip(pkg, reason string) bool {
	if os.Getenv(RequireEnv) == "1" {
		fmt.Fprintf(os.Stderr, "FAIL: %s=1 but %s\n", RequireEnv, reason)
		return false
	}
	fmt.Fprintf(os.Stderr, "%s tests that need a JVM are skipped: %s\n", pkg, reason)
	return true
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ForExamples readies a test binary's examples, which launch servers the way a program does, with
// the jar in $GATUN_JAR: set to jar when it is unset. Where the JVM tests cannot run (reason not
// ""), the examples are skipped instead: an example cannot skip itself, and its output would not
// match. Call it in TestMain before m.Run.
func ForExamples(jar, reason string) {
	if reason == "" {
		if os.Getenv("GATUN_JAR") == "" {
			os.Setenv("GATUN_JAR", jar)
		}
		return
	}
	flag.Parse()
	skip := "^Example"
	if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
		skip = prev + "|" + skip
	}
	_ = flag.Set("test.skip", skip)
}
