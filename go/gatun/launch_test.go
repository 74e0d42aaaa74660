package gatun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServerArgs(t *testing.T) {
	tests := []struct {
		name      string
		opts      LaunchOptions
		socketDir string
		want      []string
	}{
		{
			name: "defaults",
			opts: LaunchOptions{Jar: "s.jar"},
			want: []string{"-cp", "s.jar", ServerMain, "--info-file", "i.json", "--exit-on-stdin-eof"},
		},
		{
			name:      "everything",
			opts:      LaunchOptions{Jar: "s.jar", Classpath: []string{"a.jar", "b"}, JVMArgs: []string{"-Xmx1g"}, Allowlist: []string{"default", "x.**"}, RegionBytes: 65536, MaxMessageBytes: 1 << 20, AllowShutdown: true},
			socketDir: "/tmp/s",
			want: []string{"-Xmx1g", "-cp", "s.jar:a.jar:b", ServerMain, "--info-file", "i.json", "--exit-on-stdin-eof",
				"--socket-dir", "/tmp/s", "--region-bytes", "65536", "--max-message-bytes", "1048576",
				"--allowlist", "default,x.**", "--allow-shutdown"},
		},
	}
	// gatun-arrow.jar next to the server jar joins the class path, after the server jar and before
	// Classpath, with the JVM option Arrow Java needs before the caller's.
	dir := t.TempDir()
	for _, f := range []string{"s.jar", ArrowJar} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests = append(tests, struct {
		name      string
		opts      LaunchOptions
		socketDir string
		want      []string
	}{
		name: "arrow jar",
		opts: LaunchOptions{Jar: filepath.Join(dir, "s.jar"), Classpath: []string{"a.jar"}, JVMArgs: []string{"-Xmx1g"}},
		want: []string{"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx1g",
			"-cp", filepath.Join(dir, "s.jar") + ":" + filepath.Join(dir, ArrowJar) + ":a.jar",
			ServerMain, "--info-file", "i.json", "--exit-on-stdin-eof"},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.opts.ServerArgs("i.json", tc.socketDir); !slices.Equal(got, tc.want) {
				t.Fatalf("ServerArgs:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestLaunchCommand starts the server through a shell that reads the info file's path from the
// environment (as SparkGatewayMain does), and checks how a program that fails is reported.
func TestLaunchCommand(t *testing.T) {
	jvm(t)
	java, err := findJava("")
	if err != nil {
		t.Fatal(err)
	}
	script := "exec " + shellQuote(java) + " -cp " + shellQuote(testJar) + " " + ServerMain + ` --info-file "$INFO" --exit-on-stdin-eof`
	tests := []struct {
		name    string
		cmd     Command
		wantErr []string // substrings of the error; none: it must start and answer
	}{
		{name: "server", cmd: Command{Path: "/bin/sh", Args: []string{"-c", strings.ReplaceAll(script, "$INFO", "$GATUN_CONN_INFO_PATH")}}},
		{name: "own variable", cmd: Command{Path: "/bin/sh", Args: []string{"-c", strings.ReplaceAll(script, "$INFO", "$MY_INFO")}, InfoFileEnv: "MY_INFO"}},
		{name: "exits", cmd: Command{Path: "/bin/sh", Args: []string{"-c", "echo no Spark here >&2; exit 3"}},
			wantErr: []string{"exited (exit status 3) before it was ready", "no Spark here"}},
		{name: "never ready", cmd: Command{Path: "/bin/sh", Args: []string{"-c", "echo waiting; sleep 30"}, StartTimeout: 300 * time.Millisecond, StopTimeout: 100 * time.Millisecond},
			wantErr: []string{"did not start within 300ms", "waiting"}},
		{name: "no program", cmd: Command{Path: "/nonexistent/spark-submit"}, wantErr: []string{"cannot start /nonexistent/spark-submit"}},
		{name: "empty", cmd: Command{}, wantErr: []string{"Command.Path is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			c, err := LaunchCommand(ctx, tc.cmd)
			if len(tc.wantErr) > 0 {
				if err == nil {
					c.Close()
					t.Fatal("LaunchCommand succeeded")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if time.Since(start) > 10*time.Second {
					t.Errorf("the failure took %v", time.Since(start))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, err := class(t, c, "java.lang.Math").Call(ctx, "max", 1, 2); err != nil || v != int32(2) {
				t.Fatalf("max(1, 2) = %v, %v", v, err)
			}
			dir := c.proc.dir
			if st, err := os.Stat(filepath.Join(dir, "server.log")); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("server.log: %v, mode %v", err, st.Mode())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if state := c.proc.waitExit(0); state == "" {
				t.Error("the program still runs after Close")
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the private directory %s is left behind: %v", dir, err)
			}
		})
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
