package gatun

import (
	"cmp"
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

	"github.com/gatun-project/gatun/go/internal/startup"
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
	// WaitPolicy is how the server's channel threads wait for requests (spec §2.2.1): "adaptive",
	// "park" or "spin:MICROS"; empty: $GATUN_WAIT_POLICY, else the server's default (adaptive).
	// The client's own channels follow $GATUN_WAIT_POLICY.
	WaitPolicy string
}

// ArrowJar is the file name of Gatun's Arrow data plane (spec/arrow.md, with Arrow Java inside),
// which `make jar` and the Python package put next to gatun-server.jar.
const ArrowJar = "gatun-arrow.jar"

// arrowJVMArgs: Arrow Java reads java.nio.Buffer's address field reflectively (Spark's driver
// opens the same package).
var arrowJVMArgs = []string{"--add-opens=java.base/java.nio=ALL-UNNAMED"}

// ServerArgs returns the java arguments (everything after the java executable) that run the server
// of o.Jar with these options: it writes its connection info to infoFile and exits when its stdin
// closes. socketDir "" lets the server create a private one. When ArrowJar lies next to o.Jar it
// goes on the class path too (with the JVM option Arrow needs), as the Python launcher does, so
// that the server can take Arrow transfers (package gatunarrow).
func (o LaunchOptions) ServerArgs(infoFile, socketDir string) []string {
	var args []string
	cp := []string{o.Jar}
	if arrow := filepath.Join(filepath.Dir(o.Jar), ArrowJar); o.Jar != "" && isFile(arrow) {
		args = append(args, arrowJVMArgs...)
		cp = append(cp, arrow)
	}
	args = append(args, o.JVMArgs...)
	args = append(args, "-cp", strings.Join(append(cp, o.Classpath...), string(os.PathListSeparator)),
		ServerMain, "--info-file", infoFile, "--exit-on-stdin-eof")
	if socketDir != "" {
		args = append(args, "--socket-dir", socketDir)
	}
	if o.RegionBytes > 0 {
		args = append(args, "--region-bytes", strconv.FormatInt(o.RegionBytes, 10))
	}
	if o.MaxMessageBytes > 0 {
		args = append(args, "--max-message-bytes", strconv.FormatInt(o.MaxMessageBytes, 10))
	}
	if len(o.Allowlist) > 0 {
		args = append(args, "--allowlist", strings.Join(o.Allowlist, ","))
	}
	if o.AllowShutdown {
		args = append(args, "--allow-shutdown")
	}
	if w := cmp.Or(o.WaitPolicy, os.Getenv(WaitPolicyEnv)); w != "" {
		args = append(args, "--wait-policy", w)
	}
	return args
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// findJava returns explicit if set, else $JAVA_HOME/bin/java, else java on PATH (as locate.FindJava
// of the gatun command, which also reports where it looked).
func findJava(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		return filepath.Join(home, "bin", "java"), nil
	}
	if p, err := exec.LookPath("java"); err == nil {
		return p, nil
	}
	return "", errors.New("gatun: no java on PATH and JAVA_HOME is not set: install Java 17 or later")
}

// Launch starts a private server JVM and connects to it. The JVM reads our stdin pipe and exits
// when it closes, so it dies with this process; it runs in its own process group, so a Ctrl-C to
// ours does not reach it. Client.Close stops it.
func Launch(ctx context.Context, opts LaunchOptions) (*Client, error) {
	java, err := findJava(opts.Java)
	if err != nil {
		return nil, err
	}
	if opts.Jar == "" {
		opts.Jar = os.Getenv("GATUN_JAR")
	}
	if opts.Jar == "" {
		return nil, errors.New("gatun: LaunchOptions.Jar is empty and GATUN_JAR is not set: point one at gatun-server.jar")
	}
	if _, err := os.Stat(opts.Jar); err != nil {
		return nil, fmt.Errorf("gatun: the server jar: %w", err)
	}
	if _, err := parseWaitPolicy(cmp.Or(opts.WaitPolicy, os.Getenv(WaitPolicyEnv))); err != nil {
		return nil, err
	}
	return start(ctx, func(dir, info string) Command {
		return Command{Path: java, Args: opts.ServerArgs(info, filepath.Join(dir, "s")), StartTimeout: opts.StartTimeout}
	})
}

// Command is a program that starts a Gatun server of its own making and writes the server's
// connection info, for LaunchCommand: for example spark-submit running
// dev.gatun.spark.SparkGatewayMain, which hosts the server inside a Spark driver.
type Command struct {
	// Path is the program to run; Args are its arguments (without the program name).
	Path string
	Args []string
	// Env is the program's environment; nil: this process's.
	Env []string
	// InfoFileEnv names the environment variable through which the program learns where to write
	// its connection info (a path in a new private directory); SparkGatewayMain reads
	// GATUN_CONN_INFO_PATH, the default.
	InfoFileEnv string
	// StartTimeout bounds the wait for the connection info; default 60 s.
	StartTimeout time.Duration
	// StopTimeout is how long Client.Close waits for the program to exit after closing its stdin
	// before killing its process group; default 10 s.
	StopTimeout time.Duration
}

// DefaultInfoFileEnv is Command.InfoFileEnv's default, the variable SparkGatewayMain reads.
const DefaultInfoFileEnv = "GATUN_CONN_INFO_PATH"

// LaunchCommand runs cmd and connects to the server it starts, as Launch does for the server jar:
// the program gets a stdin pipe (it must exit when that closes, so that it dies with this process)
// and its own process group; its output goes to a private log whose tail errors quote.
// Client.Close closes the pipe and waits for the program to end.
func LaunchCommand(ctx context.Context, cmd Command) (*Client, error) {
	if cmd.Path == "" {
		return nil, errors.New("gatun: Command.Path is empty")
	}
	if cmd.InfoFileEnv == "" {
		cmd.InfoFileEnv = DefaultInfoFileEnv
	}
	return start(ctx, func(dir, info string) Command {
		env := cmd.Env
		if env == nil {
			env = os.Environ()
		}
		cmd.Env = append(env[:len(env):len(env)], cmd.InfoFileEnv+"="+info)
		return cmd
	})
}

// process is a server program started by Launch or LaunchCommand.
type process struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	dir      string
	logPath  string
	stopWait time.Duration
	exited   chan struct{}
	state    string
	once     sync.Once
}

// start makes a private directory, runs the command that build makes for it (given the directory
// and the info file's path in it), waits for the info file and connects.
func start(ctx context.Context, build func(dir, info string) Command) (*Client, error) {
	dir, err := os.MkdirTemp("", "gatun-")
	if err != nil {
		return nil, err
	}
	info := filepath.Join(dir, "connection.json")
	c := build(dir, info)
	p := &process{dir: dir, logPath: filepath.Join(dir, "server.log"), stopWait: c.StopTimeout, exited: make(chan struct{})}
	if p.stopWait <= 0 {
		p.stopWait = 10 * time.Second
	}
	logf, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.cmd = exec.Command(c.Path, c.Args...)
	p.cmd.Env = c.Env
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
		return nil, fmt.Errorf("gatun: cannot start %s: %w", c.Path, err)
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
	timeout := c.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	switch err := startup.WaitForFile(ctx, info, timeout, p.exited); {
	case errors.Is(err, startup.ErrExited):
		<-p.exited
		err = fmt.Errorf("%w: the Gatun server exited (%s) before it was ready; command: %s %s%s",
			ErrConnection, p.state, c.Path, strings.Join(c.Args, " "), p.logTail())
		_ = p.stop()
		return nil, err
	case errors.Is(err, startup.ErrTimeout):
		err = fmt.Errorf("%w: the Gatun server did not start within %v%s", ErrConnection, timeout, p.logTail())
		_ = p.stop()
		return nil, err
	case err != nil:
		_ = p.stop()
		return nil, err
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
	client, err := connect(ctx, ci.Socket, tok, p)
	if err != nil {
		_ = p.stop()
		return nil, err
	}
	return client, nil
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
		if p.waitExit(p.stopWait) == "" {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		_ = os.RemoveAll(p.dir)
	})
	return nil
}
