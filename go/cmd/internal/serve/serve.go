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
	"strings"
	"syscall"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/internal/startup"
)

// Options configure the server.
type Options struct {
	// LaunchOptions: Java and Jar already resolved; StartTimeout is how long to wait for the info
	// file (default 60 s).
	gatun.LaunchOptions
	InfoFile    string        // where the server writes its connection info (required)
	SocketDir   string        // --socket-dir; "" for a new private temp dir
	StopTimeout time.Duration // after a forwarded signal, before SIGKILL; default 15 s
}

// Command returns the java command line for opts.
func Command(opts Options) []string {
	return append([]string{opts.Java}, opts.ServerArgs(opts.InfoFile, opts.SocketDir)...)
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
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	defer os.Remove(info)

	ready, err := waitReady(ctx, info, opts.StartTimeout, exited, sigs)
	if errors.Is(err, startup.ErrExited) {
		<-exited
		return fmt.Errorf("%w: %s (its output is above)", err, exitText(exitErr))
	}
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
	case <-exited:
		return fmt.Errorf("the server exited by itself: %s", exitText(exitErr))
	case <-ctx.Done():
		return stop(cmd, exited, &exitErr, syscall.SIGTERM, opts.StopTimeout, out)
	case sig := <-sigs:
		return stop(cmd, exited, &exitErr, sig, opts.StopTimeout, out)
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

// waitReady waits for the info file (a signal on sigs interrupts), checks its mode and opens (and
// closes) one session.
func waitReady(ctx context.Context, info string, timeout time.Duration, exited <-chan struct{}, sigs <-chan os.Signal) (*gatun.ConnectionInfo, error) {
	wctx, interrupt := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			interrupt(fmt.Errorf("interrupted (%v) during start-up", sig))
		case <-done:
		}
	}()
	err := startup.WaitForFile(wctx, info, timeout, exited)
	close(done)
	interrupt(nil)
	if errors.Is(err, startup.ErrTimeout) {
		return nil, fmt.Errorf("no info file at %s after %v", info, timeout)
	}
	if err != nil {
		return nil, err
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

// stop forwards sig to the JVM and waits for it (exited closes, *exitErr says how); SIGKILL after
// timeout.
func stop(cmd *exec.Cmd, exited <-chan struct{}, exitErr *error, sig os.Signal, timeout time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "gatun serve: %v: stopping the server (pid %d)\n", sig, cmd.Process.Pid)
	_ = cmd.Process.Signal(sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-exited:
		fmt.Fprintf(out, "gatun serve: server stopped (%s)\n", exitText(*exitErr))
		return nil
	case <-t.C:
		killGroup(cmd, exited)
		return fmt.Errorf("the server did not stop within %v of %v: killed", timeout, sig)
	}
}

func killGroup(cmd *exec.Cmd, exited <-chan struct{}) {
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
