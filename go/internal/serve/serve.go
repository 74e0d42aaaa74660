// Package serve runs a standalone Gatun server JVM in the foreground for clients to attach to
// through its connection info file.
package serve

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
	"syscall"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
)

// Options configure the server.
type Options struct {
	Java            string        // java executable (already resolved)
	Jar             string        // gatun-server.jar (already resolved)
	Classpath       string        // added after the jar, path-list separated
	InfoFile        string        // where the server writes its connection info (required)
	SocketDir       string        // --socket-dir; "" for a new private temp dir
	Allowlist       string        // --allowlist
	RegionBytes     int64         // --region-bytes; 0 for the default
	MaxMessageBytes int64         // --max-message-bytes; 0 for the default
	AllowShutdown   bool          // --allow-shutdown
	JVMArgs         []string      // before the main class
	StartTimeout    time.Duration // how long to wait for the info file; default 60 s
	StopTimeout     time.Duration // after a forwarded signal, before SIGKILL; default 15 s
}

// Command returns the java command line for opts.
func Command(opts Options) []string {
	cp := opts.Jar
	if opts.Classpath != "" {
		cp += string(os.PathListSeparator) + opts.Classpath
	}
	args := append([]string{opts.Java}, opts.JVMArgs...)
	args = append(args, "-cp", cp, gatun.ServerMain, "--info-file", opts.InfoFile, "--exit-on-stdin-eof")
	if opts.SocketDir != "" {
		args = append(args, "--socket-dir", opts.SocketDir)
	}
	if opts.Allowlist != "" {
		args = append(args, "--allowlist", opts.Allowlist)
	}
	if opts.RegionBytes > 0 {
		args = append(args, "--region-bytes", strconv.FormatInt(opts.RegionBytes, 10))
	}
	if opts.MaxMessageBytes > 0 {
		args = append(args, "--max-message-bytes", strconv.FormatInt(opts.MaxMessageBytes, 10))
	}
	if opts.AllowShutdown {
		args = append(args, "--allow-shutdown")
	}
	return args
}

// Run starts the server, waits for its info file (checks mode 0600 and that a session opens),
// prints how to attach to out, then waits until the JVM exits or a signal arrives on sigs, which
// is forwarded to the JVM. It removes the info file when the server has stopped. The JVM's own
// output goes to logw. A server stopped by a forwarded signal is a clean exit (nil).
func Run(ctx context.Context, opts Options, sigs <-chan os.Signal, out, logw io.Writer) error {
	if opts.InfoFile == "" {
		return errors.New("--info-file is required")
	}
	info, err := filepath.Abs(opts.InfoFile)
	if err != nil {
		return err
	}
	opts.InfoFile = info
	if st, err := os.Stat(filepath.Dir(info)); err != nil || !st.IsDir() {
		return fmt.Errorf("the info file's directory %s does not exist", filepath.Dir(info))
	}
	if err := clearStale(info); err != nil {
		return err
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 15 * time.Second
	}
	argv := Command(opts)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logw, logw
	// Its own process group: a terminal's Ctrl-C reaches only us, and we forward it once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The JVM exits when this pipe closes, so it never outlives us (even after SIGKILL).
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	defer stdin.Close()
	fmt.Fprintf(out, "gatun serve: starting %s\n", strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start %s: %w", argv[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer os.Remove(info)

	ready, err := waitReady(ctx, info, opts.StartTimeout, exited, sigs)
	if err != nil {
		killGroup(cmd, exited)
		return err
	}
	fmt.Fprintf(out, "gatun serve: ready: server pid %d, socket %s\n", ready.PID, ready.Socket)
	fmt.Fprintf(out, "gatun serve: connection info in %s (mode 0600; it holds the session token)\n", info)
	fmt.Fprintf(out, "Attach from\n")
	fmt.Fprintf(out, "  Python: from gatun import GatunClient; client = GatunClient(info_file=%q)\n", info)
	fmt.Fprintf(out, "  Go:     client, err := gatun.ConnectInfoFile(ctx, %q)\n", info)
	fmt.Fprintf(out, "Stop with Ctrl-C or `kill %d` (SIGTERM).\n", os.Getpid())

	select {
	case err := <-exited:
		return fmt.Errorf("the server exited by itself: %s", exitText(err))
	case <-ctx.Done():
		return stop(cmd, exited, syscall.SIGTERM, opts.StopTimeout, out)
	case sig := <-sigs:
		return stop(cmd, exited, sig, opts.StopTimeout, out)
	}
}

// clearStale refuses to start when the info file names a live server, and removes a stale one.
func clearStale(info string) error {
	if _, err := os.Lstat(info); err != nil {
		return nil
	}
	if ci, err := gatun.ReadConnectionInfo(info); err == nil && ci.PID > 0 && syscall.Kill(ci.PID, 0) == nil {
		if _, err := os.Stat(ci.Socket); err == nil {
			return fmt.Errorf("%s belongs to a running server (pid %d, socket %s): stop it or use another --info-file", info, ci.PID, ci.Socket)
		}
	}
	if err := os.Remove(info); err != nil {
		return fmt.Errorf("cannot remove the stale info file: %w", err)
	}
	return nil
}

// waitReady polls for the info file, checks its mode and opens (and closes) one session.
func waitReady(ctx context.Context, info string, timeout time.Duration, exited <-chan error, sigs <-chan os.Signal) (*gatun.ConnectionInfo, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(info); err == nil {
			break
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the server exited before it was ready: %s (its output is above)", exitText(err))
		case <-deadline.C:
			return nil, fmt.Errorf("no info file at %s after %v", info, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		case sig := <-sigs:
			return nil, fmt.Errorf("interrupted (%v) during start-up", sig)
		case <-tick.C:
		}
	}
	st, err := os.Stat(info)
	if err != nil {
		return nil, err
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		return nil, fmt.Errorf("the info file %s has mode %04o, want 0600: refusing to expose the token", info, perm)
	}
	ci, err := gatun.ReadConnectionInfo(info)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := gatun.ConnectInfoFile(cctx, info)
	if err != nil {
		return nil, fmt.Errorf("the server wrote its info file but a client cannot attach: %w", err)
	}
	if err := c.Close(); err != nil {
		return nil, fmt.Errorf("closing the check session: %w", err)
	}
	return ci, nil
}

// stop forwards sig to the JVM and waits for it; SIGKILL after timeout.
func stop(cmd *exec.Cmd, exited <-chan error, sig os.Signal, timeout time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "gatun serve: %v: stopping the server (pid %d)\n", sig, cmd.Process.Pid)
	_ = cmd.Process.Signal(sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-exited:
		fmt.Fprintf(out, "gatun serve: server stopped (%s)\n", exitText(err))
		return nil
	case <-t.C:
		killGroup(cmd, exited)
		return fmt.Errorf("the server did not stop within %v of %v: killed", timeout, sig)
	}
}

func killGroup(cmd *exec.Cmd, exited <-chan error) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
