package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/internal/locate"
)

// TestMain lets the serve test run this test binary as the gatun command (GATUN_TEST_RUN_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("GATUN_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runCmd runs one command line in-process and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, signals: make(chan os.Signal)})
	return code, out.String(), errb.String()
}

// jvmSkip skips a test that needs java and the server jar when they are missing, unless
// GATUN_REQUIRE_JVM=1.
func jvmSkip(t *testing.T) {
	t.Helper()
	reason := ""
	if _, err := locate.FindJava(""); err != nil {
		reason = err.Error()
	} else if _, _, err := locate.FindJar(context.Background(), "", locate.RepoRoot(), nil); err != nil {
		reason = "no server jar (run `make jar`): " + err.Error()
	}
	if reason == "" {
		return
	}
	if os.Getenv("GATUN_REQUIRE_JVM") == "1" {
		t.Fatalf("GATUN_REQUIRE_JVM=1 but %s", reason)
	}
	t.Skip(reason)
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args  []string
		wants []string
	}{
		{[]string{"--help"}, []string{"usage: gatun <command>", "doctor", "serve", "bench", "report"}},
		{[]string{"help"}, []string{"usage: gatun <command>"}},
		{[]string{"doctor", "--help"}, []string{"usage: gatun doctor", "-jar", "-java", "Exit status 1"}},
		{[]string{"doctor", "-h"}, []string{"usage: gatun doctor"}},
		{[]string{"serve", "--help"}, []string{"usage: gatun serve", "-info-file", "-classpath", "-socket-dir",
			"-allowlist", "-region-bytes", "-max-message-bytes", "-jvm-arg", "GatunClient(info_file=PATH)", "gatun.ConnectInfoFile"}},
		{[]string{"bench", "--help"}, []string{"usage: gatun bench", "-quick", "-suites", "-out", "-report-only", "--no-chart"}},
		{[]string{"report", "--help"}, []string{"usage: gatun report", "-out", "foundation.png"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("--help output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{nil, 2, "usage: gatun <command>"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"doctor", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"doctor", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve"}, 2, "--info-file is required"},
		{[]string{"serve", "--info-file", "x", "--region-bytes", "lots"}, 2, "invalid value \"lots\" for flag -region-bytes"},
		{[]string{"serve", "--info-file", "x", "--max-message-bytes", "-5"}, 2, "must be positive"},
		{[]string{"serve", "--info-file", "/nonexistent-dir/c.json", "--jar", "/nonexistent.jar"}, 1, "--jar /nonexistent.jar: no such file"},
		{[]string{"bench", "--suites", "rust"}, 2, `unknown suite "rust"`},
		{[]string{"bench", "--suites", ","}, 2, "--suites selects nothing"},
		{[]string{"bench", "--quick", "--suites", "go", "--jar", "/nonexistent.jar", "--out", "@TMP"}, 1, "go suite failed"},
		{[]string{"report", "--out", "@TMP"}, 1, "neither foundation.json nor go.json"},
		{[]string{"report", "--out", "/nonexistent/results"}, 1, "run `gatun bench` first"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{}, tt.args...)
			for i, a := range args {
				if a == "@TMP" {
					args[i] = t.TempDir()
				}
			}
			code, _, errOut := runCmd(t, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
		})
	}
}

func copyFixture(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
		t.Errorf("%s is only %v", path, b)
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		name      string
		fixtures  []string
		viaBench  bool
		wantFiles []string
		noFiles   []string
		mdWants   []string
	}{
		{"both", []string{"foundation.json", "go.json"}, false,
			[]string{"go.md", "foundation.png", "go.png"}, nil,
			[]string{
				"| pre-bound call `m()` (m = sb.length) | 1.20 µs (p99 4.00 µs) | 0.0 | 1.66 µs (p99 5.14 µs) | 50.2 µs | 1.55 µs | 0.72x | 41.83x |",
				"Pre-bound call from Go under 500 ns median: measured 1.20 µs: **not met**.",
				"| navigated static `java.lang.Math.max(1, 2)` | error: boom |",
				"error: verify failed: callback ran twice",
				"(100000 timed calls, batches of 8)",
				"at its end 1.25, on 2 CPUs: **a busy machine",
			}},
		{"bench --report-only", []string{"foundation.json", "go.json"}, true,
			[]string{"go.md", "foundation.png", "go.png"}, nil, nil},
		{"python only", []string{"foundation.json"}, false, []string{"foundation.png"}, []string{"go.md", "go.png"}, nil},
		{"go only", []string{"go.json"}, false, []string{"go.md", "foundation.png", "go.png"}, nil,
			[]string{"No foundation.json here", "| 9.00 µs (p99 30.0 µs) | 3.5 | – | – | – | – | – |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFixture(t, dir, tt.fixtures...)
			args := []string{"report", "--out", dir}
			if tt.viaBench {
				args = []string{"bench", "--report-only", "--out", dir}
			}
			code, out, errOut := runCmd(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, f := range tt.wantFiles {
				p := filepath.Join(dir, f)
				if !strings.Contains(out, "wrote "+p) {
					t.Errorf("output does not mention %s:\n%s", p, out)
				}
				if strings.HasSuffix(f, ".png") {
					checkPNG(t, p)
				}
			}
			for _, f := range tt.noFiles {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s written without its data", f)
				}
			}
			if len(tt.mdWants) > 0 {
				md, err := os.ReadFile(filepath.Join(dir, "go.md"))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range tt.mdWants {
					if !strings.Contains(string(md), w) {
						t.Errorf("go.md lacks %q:\n%s", w, md)
					}
				}
			}
		})
	}
}

func TestDoctor(t *testing.T) {
	jvmSkip(t)
	code, out, errOut := runCmd(t, "doctor")
	if code != 0 {
		t.Fatalf("doctor failed on this machine (exit %d):\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"java", "jar", "server", "/dev/shm", "temp dir", "unix socket", "spark"} {
		if !strings.Contains(out, " "+name+" ") {
			t.Errorf("no %q check in:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "java.lang.Math.max(1, 2) = 2") || strings.Contains(out, "FAIL ") {
		t.Errorf("unexpected report:\n%s", out)
	}
	// A bad --jar is a FAIL with a fix, and exit status 1.
	code, out, errOut = runCmd(t, "doctor", "--jar", filepath.Join(t.TempDir(), "missing.jar"))
	if code != 1 || !strings.Contains(out, "FAIL  jar") || !strings.Contains(out, "fix: ") || !strings.Contains(out, "SKIP  server") ||
		!strings.Contains(errOut, "1 check(s) failed") {
		t.Errorf("doctor --jar missing: exit %d\n%s%s", code, out, errOut)
	}
}

// TestServe runs `gatun serve` as a real process, attaches with the Go client, stops it with a
// signal and checks that the JVM is gone and its files removed.
func TestServe(t *testing.T) {
	jvmSkip(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			info := filepath.Join(dir, "conn.json")
			sockDir := filepath.Join(dir, "s")
			cmd := exec.Command(os.Args[0], "serve", "--info-file", info, "--socket-dir", sockDir, "--jvm-arg", "-Xmx256m",
				"--region-bytes", "1048576")
			cmd.Env = append(os.Environ(), "GATUN_TEST_RUN_MAIN=1")
			var errb bytes.Buffer
			cmd.Stderr = &errb
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			exited := make(chan error, 1)
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
				exited <- cmd.Wait()
			}()
			var out strings.Builder
			deadline := time.After(60 * time.Second)
		wait:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("serve ended before it was ready: %v\n%s%s", <-exited, out.String(), errb.String())
					}
					out.WriteString(l + "\n")
					if strings.HasPrefix(l, "Stop with") {
						break wait
					}
				case <-deadline:
					t.Fatalf("serve not ready after 60 s:\n%s%s", out.String(), errb.String())
				}
			}
			for _, w := range []string{"GatunClient(info_file=\"" + info + "\")", "gatun.ConnectInfoFile(ctx, \"" + info + "\")"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			st, err := os.Stat(info)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("info file: %v %v", st, err)
			}
			ci, err := gatun.ReadConnectionInfo(info)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := gatun.ConnectInfoFile(ctx, info)
			if err != nil {
				t.Fatal(err)
			}
			math, err := c.Class(ctx, "java.lang.Math")
			if err != nil {
				t.Fatal(err)
			}
			if v, err := math.Call(ctx, "max", 1, 2); err != nil || v != int32(2) {
				t.Fatalf("Math.max(1, 2) = %v, %v", v, err)
			}
			c.Close()

			// A second serve on the same info file is refused while the first runs.
			code, _, errOut := runCmd(t, "serve", "--info-file", info)
			if code != 1 || !strings.Contains(errOut, "belongs to a running server") {
				t.Errorf("second serve: exit %d: %s", code, errOut)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("serve exited with %v after %v\n%s", err, sig, errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("serve still running 30 s after %v", sig)
			}
			if err := waitGone(ci.PID, 10*time.Second); err != nil {
				t.Error(err)
			}
			for _, p := range []string{info, ci.Socket, sockDir} {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind (%v)", p, err)
				}
			}
			if _, err := gatun.Connect(ctx, ci.Socket, ci.Token); err == nil {
				t.Error("connected to a stopped server")
			}
		})
	}
}

// waitGone waits for a process to disappear.
func waitGone(pid int, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("server JVM pid %d still exists %v after serve exited", pid, d)
}
