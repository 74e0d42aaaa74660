// Package locate finds what the gatun command needs on this machine: the repository checkout, the
// java executable and its version, the server jar and Python interpreters.
package locate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinJava is the oldest Java feature release the server runs on.
const MinJava = 17

// JarRel is the server jar's path inside a repository checkout (`make jar` puts it there).
const JarRel = "python/gatun/jars/gatun-server.jar"

// RepoRoot returns the Gatun checkout containing the current directory or the running executable
// (a directory with go/go.mod and bench/run_bench.py), or "" if there is none. $GATUN_REPO wins.
func RepoRoot() string {
	if r := os.Getenv("GATUN_REPO"); r != "" {
		if abs, err := filepath.Abs(r); err == nil {
			return abs
		}
		return r
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if isRepo(d) {
				return d
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return ""
}

func isRepo(d string) bool {
	for _, f := range []string{"go/go.mod", "bench/run_bench.py"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			return false
		}
	}
	return true
}

// Java is the java executable to use and where it was found.
type Java struct {
	Path   string // the executable
	Source string // "--java", "JAVA_HOME" or "PATH"
}

// FindJava returns explicit if set, else $JAVA_HOME/bin/java, else java on PATH (the order
// gatun.Launch uses).
func FindJava(explicit string) (Java, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return Java{}, fmt.Errorf("--java %s: %w", explicit, err)
		}
		return Java{explicit, "--java"}, nil
	}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err != nil {
			return Java{}, fmt.Errorf("JAVA_HOME=%s but %s is missing", home, p)
		}
		return Java{p, "JAVA_HOME"}, nil
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return Java{}, errors.New("no java on PATH and JAVA_HOME is not set")
	}
	return Java{p, "PATH"}, nil
}

var versionRE = regexp.MustCompile(`version "([^"]+)"`)

// JavaVersion runs `java -version` and returns the version string and its feature release
// (8 for "1.8.0_412", 17 for "17.0.15").
func JavaVersion(ctx context.Context, java string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, "-version").CombinedOutput()
	if err != nil {
		return "", 0, fmt.Errorf("%s -version: %v: %s", java, err, strings.TrimSpace(string(out)))
	}
	return ParseJavaVersion(string(out))
}

// ParseJavaVersion reads the output of `java -version`.
func ParseJavaVersion(out string) (string, int, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("no version in `java -version` output: %q", firstLine(out))
	}
	v := m[1]
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	if len(parts) == 0 {
		return v, 0, fmt.Errorf("cannot parse the Java version %q", v)
	}
	major, err := strconv.Atoi(parts[0])
	if err == nil && major == 1 && len(parts) > 1 {
		major, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return v, 0, fmt.Errorf("cannot parse the Java version %q", v)
	}
	return v, major, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Jar is a server jar and where it was found.
type Jar struct {
	Path   string
	Source string // "--jar", "GATUN_JAR", "repo", "python package (<python>)"
}

// FindJar looks for gatun-server.jar: explicit (--jar), $GATUN_JAR, the repository checkout, then the
// installed Python package of each interpreter in pythons. tried lists every place looked at.
func FindJar(ctx context.Context, explicit, repo string, pythons []string) (jar Jar, tried []string, err error) {
	check := func(p, source string) bool {
		tried = append(tried, fmt.Sprintf("%s (%s)", p, source))
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			abs, _ := filepath.Abs(p)
			jar = Jar{abs, source}
			return true
		}
		return false
	}
	if explicit != "" {
		if check(explicit, "--jar") {
			return jar, tried, nil
		}
		return Jar{}, tried, fmt.Errorf("--jar %s: no such file", explicit)
	}
	if env := os.Getenv("GATUN_JAR"); env != "" {
		if check(env, "GATUN_JAR") {
			return jar, tried, nil
		}
		return Jar{}, tried, fmt.Errorf("GATUN_JAR=%s: no such file", env)
	}
	if repo != "" && check(filepath.Join(repo, JarRel), "repo") {
		return jar, tried, nil
	}
	for _, py := range pythons {
		dir, err := PythonPackageDir(ctx, py, "gatun")
		if err != nil {
			tried = append(tried, fmt.Sprintf("python package gatun via %s (%v)", py, err))
			continue
		}
		if check(filepath.Join(dir, "jars", "gatun-server.jar"), "python package via "+py) {
			return jar, tried, nil
		}
	}
	return Jar{}, tried, errors.New("gatun-server.jar not found")
}

// Pythons lists the Python interpreters to ask about installed packages: the repository's .venv
// (if any), then python3 on PATH.
func Pythons(repo string) []string {
	var out []string
	if repo != "" {
		p := filepath.Join(repo, ".venv", "bin", "python")
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if p, err := exec.LookPath("python3"); err == nil {
		out = append(out, p)
	}
	return out
}

// PythonPackageDir returns the directory of an importable Python package (os.path.dirname of its
// __file__). It runs in a fresh temporary directory so a same-named directory under the current one
// (such as go/gatun) is not picked up as a namespace package.
func PythonPackageDir(ctx context.Context, python, pkg string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tmp, err := os.MkdirTemp("", "gatun-py-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, python, "-c",
		fmt.Sprintf("import %s, os; print(os.path.dirname(%s.__file__ or ''))", pkg, pkg))
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(msg)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%s is not a regular package", pkg)
	}
	return dir, nil
}
