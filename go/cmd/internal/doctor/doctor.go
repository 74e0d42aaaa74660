// Package doctor checks that this machine can run Gatun: Java, the server jar, a server start-up,
// shared memory, private temporary directories, Unix sockets and (optionally) Spark.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/internal/locate"
)

// Status is the outcome of one check.
type Status string

// The outcomes. Only Fail makes the doctor fail.
const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Check is one line of the report.
type Check struct {
	Name   string
	Status Status
	Detail string // what was found
	Fix    string // how to fix it (for Fail and Warn)
}

// Options select what to check.
type Options struct {
	Java         string        // java executable; default $JAVA_HOME/bin/java, else PATH
	Jar          string        // server jar; default searched (see locate.FindJar)
	Repo         string        // repository checkout; "" if none
	StartTimeout time.Duration // for the server start-up check; default 60 s
}

// Run performs every check in order, writing each result to w as it completes, and returns them.
func Run(ctx context.Context, opts Options, w io.Writer) []Check {
	var checks []Check
	add := func(c Check) {
		checks = append(checks, c)
		if w != nil {
			Print(w, c)
		}
	}
	pythons := locate.Pythons(opts.Repo)

	java, javaOK := checkJava(ctx, opts.Java)
	add(java)
	jarCheck, jar := checkJar(ctx, opts.Jar, opts.Repo, pythons)
	add(jarCheck)
	switch {
	case !javaOK || jar == "":
		add(Check{Name: "server", Status: Skip, Detail: "needs a working java and the jar (see above)"})
	default:
		add(checkServer(ctx, opts, jar))
	}
	add(checkShm())
	add(checkTempDir())
	add(checkUnixSocket())
	add(checkSpark(ctx, pythons))
	return checks
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Print writes one check as "  OK    name  detail" plus a "fix:" line for Fail and Warn.
func Print(w io.Writer, c Check) {
	fmt.Fprintf(w, "%-5s %-12s %s\n", c.Status, c.Name, c.Detail)
	if c.Fix != "" && (c.Status == Fail || c.Status == Warn) {
		fmt.Fprintf(w, "      %-12s fix: %s\n", "", c.Fix)
	}
}

func checkJava(ctx context.Context, explicit string) (Check, bool) {
	c := Check{Name: "java"}
	j, err := locate.FindJava(explicit)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = fmt.Sprintf("install a JDK %d or later (e.g. apt-get install openjdk-17-jre-headless) and put it on PATH or set JAVA_HOME", locate.MinJava)
		return c, false
	}
	v, major, err := locate.JavaVersion(ctx, j.Path)
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s (from %s): %v", j.Path, j.Source, err)
		c.Fix = "check that this java runs; set JAVA_HOME to a working JDK"
		return c, false
	}
	c.Detail = fmt.Sprintf("%s (from %s): version %s (Java %d; %d or later required)", j.Path, j.Source, v, major, locate.MinJava)
	if major < locate.MinJava {
		c.Status = Fail
		c.Fix = fmt.Sprintf("install Java %d or later and set JAVA_HOME to it (Java %d is too old)", locate.MinJava, major)
		return c, false
	}
	c.Status = OK
	return c, true
}

func checkJar(ctx context.Context, explicit, repo string, pythons []string) (Check, string) {
	c := Check{Name: "jar"}
	jar, tried, err := locate.FindJar(ctx, explicit, repo, pythons)
	if err != nil {
		c.Status = Fail
		c.Detail = err.Error() + "; looked at: " + strings.Join(tried, "; ")
		c.Fix = "run `make jar` (or `make venv`) in the repository, or pass --jar / set GATUN_JAR to gatun-server.jar"
		if os.Getenv("GATUN_JAR") != "" && explicit == "" {
			c.Fix = "GATUN_JAR points at no file: fix it or unset it (then the repository's jar is used)"
		}
		return c, ""
	}
	c.Status = OK
	c.Detail = fmt.Sprintf("%s (from %s)", jar.Path, jar.Source)
	return c, jar.Path
}

func checkServer(ctx context.Context, opts Options, jar string) Check {
	c := Check{Name: "server"}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	t0 := time.Now()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{Java: opts.Java, Jar: jar, StartTimeout: timeout})
	if err != nil {
		c.Status, c.Detail = Fail, "the server did not start: "+err.Error()
		c.Fix = "see the server output above; rebuild the jar with `make jar` if it is stale"
		return c
	}
	defer client.Close()
	started := time.Since(t0)
	math, err := client.Class(ctx, "java.lang.Math")
	var v any
	if err == nil {
		v, err = math.Call(ctx, "max", 1, 2)
	}
	if err == nil && v != int32(2) {
		err = fmt.Errorf("java.lang.Math.max(1, 2) returned %v (%T), want int32(2)", v, v)
	}
	if err != nil {
		c.Status, c.Detail = Fail, "the server started but a call failed: "+err.Error()
		c.Fix = "the jar and this client may be from different versions: rebuild with `make jar`"
		return c
	}
	if err := client.Close(); err != nil {
		c.Status, c.Detail = Fail, "closing the session: "+err.Error()
		c.Fix = "report this as a bug"
		return c
	}
	c.Status = OK
	c.Detail = fmt.Sprintf("started in %v; java.lang.Math.max(1, 2) = %v; stopped cleanly", started.Round(time.Millisecond), v)
	return c
}

func checkShm() Check {
	c := Check{Name: "/dev/shm"}
	st, err := os.Stat("/dev/shm")
	if err != nil || !st.IsDir() {
		c.Status, c.Detail = Fail, "missing"
		if err != nil {
			c.Detail = err.Error()
		}
		c.Fix = "mount a tmpfs at /dev/shm (docker: --shm-size=256m); without it the server puts regions in the socket directory, which is slower"
		return c
	}
	f, err := os.CreateTemp("/dev/shm", "gatun-doctor-")
	if err != nil {
		c.Status, c.Detail = Fail, "not writable: "+err.Error()
		c.Fix = "make /dev/shm writable (mode 1777) for this user"
		return c
	}
	name := f.Name()
	_, werr := f.Write(make([]byte, 1<<16))
	f.Close()
	os.Remove(name)
	if werr != nil {
		c.Status, c.Detail = Fail, "cannot write 64 KiB: "+werr.Error()
		c.Fix = "/dev/shm is full or too small: enlarge it (docker: --shm-size=256m)"
		return c
	}
	c.Status, c.Detail = OK, "present and writable"
	var sfs = freeBytes("/dev/shm")
	if sfs >= 0 {
		c.Detail += fmt.Sprintf(" (%d MiB free)", sfs>>20)
		if sfs < 64<<20 {
			c.Status = Warn
			c.Fix = "each channel maps a 4 MiB region (--region-bytes): enlarge /dev/shm (docker: --shm-size=256m)"
		}
	}
	return c
}

func checkTempDir() Check {
	c := Check{Name: "temp dir"}
	tmp := os.TempDir()
	dir, err := os.MkdirTemp(tmp, "gatun-doctor-")
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s: cannot create a directory: %v", tmp, err)
		c.Fix = "set TMPDIR to a writable directory"
		return c
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s: cannot chmod 0700: %v", tmp, err)
		c.Fix = "set TMPDIR to a local POSIX file system"
		return c
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s: a 0700 directory came out as %v", tmp, st.Mode().Perm())
		c.Fix = "set TMPDIR to a local POSIX file system that keeps permissions"
		return c
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s: cannot write a file: %v", tmp, err)
		c.Fix = "set TMPDIR to a writable directory"
		return c
	}
	c.Status, c.Detail = OK, tmp+": writable, 0700 directories work"
	return c
}

func checkUnixSocket() Check {
	c := Check{Name: "unix socket"}
	dir, err := os.MkdirTemp("", "gatun-doctor-")
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "set TMPDIR to a writable directory"
		return c
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatun.sock")
	// The server's socket is <tmp>/gatun-XXXX/gatun.sock: sun_path holds 107 bytes.
	if len(path) > 100 {
		c.Status, c.Detail = Fail, fmt.Sprintf("socket paths under %s are %d bytes, too close to the 107-byte limit", os.TempDir(), len(path))
		c.Fix = "set TMPDIR to a short path such as /tmp, or pass --socket-dir with a short path"
		return c
	}
	if err := pingSocket(path); err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "Unix domain sockets must work in TMPDIR: use a local file system (not a network or FUSE mount)"
		return c
	}
	c.Status, c.Detail = OK, "listen, connect and exchange a byte in "+os.TempDir()
	return c
}

func pingSocket(path string) error {
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		b := make([]byte, 1)
		if _, err := io.ReadFull(conn, b); err != nil {
			errc <- err
			return
		}
		_, err = conn.Write(b)
		errc <- err
	}()
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{42}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(conn, b); err != nil || b[0] != 42 {
		return fmt.Errorf("echo: %v", err)
	}
	return <-errc
}

func checkSpark(ctx context.Context, pythons []string) Check {
	c := Check{Name: "spark"}
	var notes []string
	if home := os.Getenv("SPARK_HOME"); home != "" {
		submit := filepath.Join(home, "bin", "spark-submit")
		if _, err := os.Stat(submit); err == nil {
			c.Status, c.Detail = OK, fmt.Sprintf("SPARK_HOME=%s (bin/spark-submit present%s)", home, sparkVersion(filepath.Join(home, "jars")))
			return c
		}
		notes = append(notes, fmt.Sprintf("SPARK_HOME=%s has no bin/spark-submit", home))
	} else {
		notes = append(notes, "SPARK_HOME is not set")
	}
	for _, py := range pythons {
		dir, err := locate.PythonPackageDir(ctx, py, "pyspark")
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", py, err))
			continue
		}
		jars := filepath.Join(dir, "jars")
		if st, err := os.Stat(jars); err != nil || !st.IsDir() {
			notes = append(notes, fmt.Sprintf("%s: pyspark at %s has no jars/", py, dir))
			continue
		}
		c.Status, c.Detail = OK, fmt.Sprintf("pyspark at %s via %s (jars/ present%s)", dir, py, sparkVersion(jars))
		return c
	}
	c.Status = Warn
	c.Detail = "no Spark installation: " + strings.Join(notes, "; ")
	c.Fix = "only needed for Spark use: set SPARK_HOME to a Spark distribution, or `pip install pyspark` (into .venv)"
	return c
}

// sparkVersion names the spark-core jar in a jars directory, e.g. ", spark-core_2.12-3.5.1".
func sparkVersion(jars string) string {
	m, _ := filepath.Glob(filepath.Join(jars, "spark-core_*.jar"))
	if len(m) == 0 {
		return ""
	}
	sort.Strings(m)
	return ", " + strings.TrimSuffix(filepath.Base(m[len(m)-1]), ".jar")
}

// ErrFailed is returned by callers when a check failed.
var ErrFailed = errors.New("doctor: some checks failed")
