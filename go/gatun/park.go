package gatun

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// pollSlice bounds one blocking poll of a park, so that the end of a call's context is noticed
// within it (the channel's retirement wakes the poll at once: see shutdown).
const pollSlice = 10 * time.Millisecond

// pollResult is what one pollOnce saw.
type pollResult struct {
	n   int   // bytes read: 1 (the doorbell) or 0 (EOF)
	err error // a failed read or poll
	got bool  // n and err mean something; false: the slice ran out (or EAGAIN)
}

// parkedRead blocks reading one doorbell byte (spec §2.2). The first poll slice waits in the
// kernel, in its own ppoll(2) on the socket: a short park then wakes as directly as a blocking read
// would, with no hand-off through Go's network poller. A wait that outlasts the slice (a long Java
// call, an idle callback channel) goes on in the network poller, where it holds no thread and no P:
// with 2 busy processes on 2 cores, an idle callback channel polling in its own ppoll (waking every
// slice) raised the p99 of pre-bound calls on another channel from ~14 to ~22 µs (gatun-gobench
// A/B, issue 12 note). It returns os.ErrDeadlineExceeded when the call's context ended (before
// CANCEL was sent) or the grace after CANCEL ran out.
func (ch *channel) parkedRead(st *call) (int, error) {
	for slice := 0; ; slice++ {
		timeout := pollSlice
		if st.cancelSent {
			left := time.Until(st.giveUpAt)
			if left <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timeout = min(timeout, left)
		} else if st.ctx.Err() != nil {
			return 0, os.ErrDeadlineExceeded
		} else if dl, ok := st.ctx.Deadline(); ok {
			timeout = max(time.Microsecond, min(timeout, time.Until(dl)))
		}
		if ch.retired.Load() {
			return 0, net.ErrClosed
		}
		if slice > 0 {
			n, timedOut, err := ch.pollerRead(st, timeout)
			if timedOut {
				continue
			}
			return n, err
		}
		ch.pollTimeout = timeout
		if err := ch.raw.Control(ch.pollFn); err != nil {
			return 0, err
		}
		if r := ch.pollOut; r.got {
			return r.n, r.err
		}
	}
}

// pollerRead reads the doorbell through Go's network poller for up to timeout, or with no deadline
// when nothing can end the wait but the channel's retirement (whose shutdown ends the read).
func (ch *channel) pollerRead(st *call, timeout time.Duration) (n int, timedOut bool, err error) {
	deadline := time.Time{}
	if st.cancelSent || st.ctx.Done() != nil {
		deadline = time.Now().Add(timeout)
	}
	if err := ch.conn.SetReadDeadline(deadline); err != nil {
		return 0, false, err
	}
	n, err = ch.conn.Read(ch.bell[:])
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, true, nil
	case err == nil && n == 0:
		return 0, false, io.EOF
	}
	return n, false, err
}

// pollOnce polls the socket for up to ch.pollTimeout, then reads the doorbell if one came. It is
// bound once into ch.pollFn, so that a park allocates nothing.
func (ch *channel) pollOnce(fd uintptr) {
	ch.pollOut = pollResult{}
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	ts := syscall.NsecToTimespec(int64(ch.pollTimeout))
	r, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if e == syscall.EINTR || (e == 0 && r == 0) {
		return
	}
	if e != 0 {
		ch.pollOut = pollResult{err: os.NewSyscallError("ppoll", e), got: true}
		return
	}
	n, err := syscall.Read(int(fd), ch.bell[:])
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
	case err != nil:
		ch.pollOut = pollResult{err: os.NewSyscallError("read", err), got: true}
	case n == 0:
		ch.pollOut = pollResult{err: io.EOF, got: true}
	default:
		ch.pollOut = pollResult{n: n, got: true}
	}
}

// shutdown shuts the socket down both ways, which wakes a park blocked in its poll at once (a
// close alone would wait for the poll to return).
func (ch *channel) shutdown() {
	if ch.raw != nil {
		_ = ch.raw.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	}
}
