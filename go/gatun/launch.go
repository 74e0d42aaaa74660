package gatun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerMain is the server's main class.
const ServerMain = "dev.gatun.server.GatunServerMain"

// LaunchOptions configure the private server JVM started by Launch.
type LaunchOptions struct {
	// Java is the java executable; default $JAVA_HOME/bin/java, else "java" on PATH.
	Java string
	// Jar is the server jar (gatun-server.jar); default $GATUN_JAR.
	Jar string
	// Classpath adds jars or directories the server can load classes from (subject to Allowlist).
	Classpath []string
	// JVMArgs go to java before the main class, e.g. "-Xmx1g".
	JVMArgs []string
	// Allowlist entries (spec §8), e.g. "default", "java.util.**", "-java.lang.Runtime"; empty: the
	// server's default.
	Allowlist []string
	// RegionBytes is the size of each channel's shared-memory region; 0: the server's default (4 MiB).
	RegionBytes int64
	// MaxMessageBytes is the largest message; 0: the server's default.
	MaxMessageBytes int64
	// AllowShutdown lets Client.Shutdown stop the server.
	AllowShutdown bool
	// StartTimeout bounds the JVM's start-up; default 60 s.
	StartTimeout time.Duration
}

// process is a server JVM started by Launch.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	dir     string
	logPath string
	exited  chan struct{}
	state   string
	once    sync.Once
}

// Launch starts a private server JVM and connects to it. The JVM reads our stdin pipe and exits
// when it closes, so it dies with this process; it runs in its own process group, so a Ctrl-C to
// ours does not reach it. Client.Close stops it.
func Launch(ctx context.Context, opts LaunchOptions) (*Client, error) {
	java := opts.Java
	if java == "" {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			java = filepath.Join(home, "bin", "java")
		} else if p, err := exec.LookPath("java"); err == nil {
			java = p
		} else {
			return nil, errors.New("gatun: no java on PATH and JAVA_HOME is not set: install Java 17 or later")
		}
	}
	jar := opts.Jar
	if jar == "" {
		jar = os.Getenv("GATUN_JAR")
	}
	if jar == "" {
		return nil, errors.New("gatun: LaunchOptions.Jar is empty and GATUN_JAR is not set: point one at gatun-server.jar")
	}
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("gatun: the server jar: %w", err)
	}
	dir, err := os.MkdirTemp("", "gatun-")
	if err != nil {
		return nil, err
	}
	info := filepath.Join(dir, "connection.json")
	args := append([]string{}, opts.JVMArgs...)
	args = append(args, "-cp", strings.Join(append([]string{jar}, opts.Classpath...), string(os.PathListSeparator)),
		ServerMain, "--socket-dir", filepath.Join(dir, "s"), "--info-file", info, "--exit-on-stdin-eof")
	if opts.RegionBytes > 0 {
		args = append(args, "--region-bytes", strconv.FormatInt(opts.RegionBytes, 10))
	}
	if opts.MaxMessageBytes > 0 {
		args = append(args, "--max-message-bytes", strconv.FormatInt(opts.MaxMessageBytes, 10))
	}
	if len(opts.Allowlist) > 0 {
		args = append(args, "--allowlist", strings.Join(opts.Allowlist, ","))
	}
	if opts.AllowShutdown {
		args = append(args, "--allow-shutdown")
	}
	p := &process{dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.cmd = exec.Command(java, args...)
	p.cmd.Stdout = logf
	p.cmd.Stderr = logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("gatun: cannot start %s: %w", java, err)
	}
	logf.Close()
	go func() {
		err := p.cmd.Wait()
		if err != nil {
			p.state = err.Error()
		} else {
			p.state = "exit status 0"
		}
		close(p.exited)
	}()
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(info); err == nil {
			break
		}
		select {
		case <-p.exited:
			err := fmt.Errorf("%w: the Gatun server exited (%s) before it was ready; command: %s %s%s",
				ErrConnection, p.state, java, strings.Join(args, " "), p.logTail())
			_ = p.stop()
			return nil, err
		case <-ctx.Done():
			_ = p.stop()
			return nil, ctx.Err()
		case <-deadline.C:
			err := fmt.Errorf("%w: the Gatun server did not start within %v%s", ErrConnection, timeout, p.logTail())
			_ = p.stop()
			return nil, err
		case <-tick.C:
		}
	}
	ci, err := ReadConnectionInfo(info)
	if err != nil {
		_ = p.stop()
		return nil, err
	}
	tok, err := decodeToken(ci.Token)
	if err != nil {
		_ = p.stop()
		return nil, err
	}
	c, err := connect(ctx, ci.Socket, tok, p)
	if err != nil {
		_ = p.stop()
		return nil, err
	}
	return c, nil
}

func decodeToken(s string) ([]byte, error) {
	var b [32]byte
	if len(s) != 64 {
		return nil, errors.New("gatun: the token must be 64 hex digits")
	}
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, errors.New("gatun: the token must be 64 hex digits")
		}
		b[i] = byte(v)
	}
	return b[:], nil
}

// waitExit waits up to d for the JVM to exit and returns how it ended, or "" if it still runs.
func (p *process) waitExit(d time.Duration) string {
	if d <= 0 {
		select {
		case <-p.exited:
			return p.state
		default:
			return ""
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.state
	case <-t.C:
		return ""
	}
}

// logTail is the end of the server's output, for error messages.
func (p *process) logTail() string {
	raw, err := os.ReadFile(p.logPath)
	if err != nil || len(raw) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nserver output:\n" + strings.Join(lines, "\n")
}

// stop closes the JVM's stdin (it exits), then kills its process group if it lingers.
func (p *process) stop() error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		if p.waitExit(10*time.Second) == "" {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		_ = os.RemoveAll(p.dir)
	})
	return nil
}
