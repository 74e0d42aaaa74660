package gatun

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// releaseBatch is how many dropped handles are queued before a RELEASE frame is sent.
const releaseBatch = 256

// maxIdleChannels bounds the pool of idle channels kept open.
const maxIdleChannels = 64

// Client is a session with a Gatun server (spec §1.1). It is safe for concurrent use by many
// goroutines: each call borrows a channel from a pool, so concurrent calls run on different JVM
// threads. Use Pin for a channel of your own (one JVM thread, for thread-local Java state).
type Client struct {
	socketPath string
	token      []byte
	control    *controlConn
	waitSpec   waitSpec // every channel's wait policy ($GATUN_WAIT_POLICY)
	proc       *process // the program started by Launch or LaunchCommand, if any

	baseCtx    context.Context
	cancelBase context.CancelFunc

	mu      sync.Mutex
	closed  bool
	idle    []*channel
	all     map[*channel]struct{}
	classes map[string]*Class
	byID    map[uint64]*Class

	relMu    sync.Mutex
	pending  []uint64
	nPending atomic.Int32

	cbMu       sync.Mutex
	callbacks  map[uint64]*callbackEntry
	nextCB     uint64
	cbIdle     int
	cbChannels int

	controlGone atomic.Bool
}

// ConnectionInfo is the server's connection info file (spec §1).
type ConnectionInfo struct {
	Protocol int    `json:"protocol"`
	Socket   string `json:"socket"`
	Token    string `json:"token"`
	PID      int    `json:"pid"`
}

// ReadConnectionInfo reads a server's connection info file.
func ReadConnectionInfo(path string) (*ConnectionInfo, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gatun: cannot read the connection info %s: %w", path, err)
	}
	var info ConnectionInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("gatun: bad connection info in %s: %w", path, err)
	}
	if info.Socket == "" || info.Token == "" {
		return nil, fmt.Errorf("gatun: connection info %s lacks socket or token", path)
	}
	if info.Protocol != protocolVersion {
		return nil, fmt.Errorf("gatun: %s announces protocol %d; this client speaks %d", path, info.Protocol, protocolVersion)
	}
	return &info, nil
}

// ConnectInfoFile attaches to the server described by a connection info file.
func ConnectInfoFile(ctx context.Context, path string) (*Client, error) {
	info, err := ReadConnectionInfo(path)
	if err != nil {
		return nil, err
	}
	return Connect(ctx, info.Socket, info.Token)
}

// Connect attaches to a running server: socketPath is its Unix socket, token the 64 hex digits of
// its connection info. It opens the session (the control connection); channels open on demand.
func Connect(ctx context.Context, socketPath, token string) (*Client, error) {
	tok, err := hex.DecodeString(token)
	if err != nil || len(tok) != 32 {
		return nil, fmt.Errorf("gatun: the token must be 64 hex digits")
	}
	return connect(ctx, socketPath, tok, nil)
}

func connect(ctx context.Context, socketPath string, token []byte, proc *process) (*Client, error) {
	wait, err := envWaitPolicy()
	if err != nil {
		return nil, err
	}
	control, err := openControl(ctx, socketPath, token)
	if err != nil {
		return nil, err
	}
	c := &Client{
		socketPath: socketPath,
		token:      token,
		control:    control,
		waitSpec:   wait,
		proc:       proc,
		all:        make(map[*channel]struct{}),
		classes:    make(map[string]*Class),
		byID:       make(map[uint64]*Class),
		callbacks:  make(map[uint64]*callbackEntry),
	}
	c.baseCtx, c.cancelBase = context.WithCancel(context.Background())
	go c.watchControl()
	return c, nil
}

// watchControl notices the server closing the control connection (it sends nothing else).
func (c *Client) watchControl() {
	var b [64]byte
	for {
		if _, err := c.control.conn.Read(b[:]); err != nil {
			c.controlGone.Store(true)
			return
		}
	}
}

// MaxMessageBytes is the server's largest message (spec §4.3), from the hand-shake.
func (c *Client) MaxMessageBytes() uint64 { return c.control.maxMessage }

// ServerPID is the process id of the JVM started by Launch (or of the program started by
// LaunchCommand), or 0.
func (c *Client) ServerPID() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.cmd.Process.Pid
}

// Close ends the session (the server releases every object of it) and stops a JVM started by
// Launch. Calls still running fail with an error wrapping ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	chans := make([]*channel, 0, len(c.all))
	for ch := range c.all {
		chans = append(chans, ch)
	}
	c.all = map[*channel]struct{}{}
	c.idle = nil
	c.mu.Unlock()
	c.cancelBase()
	_ = c.control.send([]byte{controlClose})
	_ = c.control.conn.Close()
	for _, ch := range chans {
		ch.retire()
	}
	if c.proc != nil {
		return c.proc.stop()
	}
	return nil
}

// Shutdown asks the server to exit (it must run with --allow-shutdown), then closes the client.
func (c *Client) Shutdown() error {
	_ = c.control.send([]byte{controlShutdown})
	return c.Close()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// connLost explains a failed socket operation: the client was closed, or the server went away.
func (c *Client) connLost(detail string) error {
	if c.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, detail)
	}
	if c.proc != nil {
		if state := c.proc.waitExit(500 * time.Millisecond); state != "" {
			return fmt.Errorf("%w: the Gatun server JVM died (%s): %s%s", ErrConnection, state, detail, c.proc.logTail())
		}
	}
	return fmt.Errorf("%w: the Gatun server went away (its JVM died or closed the channel): %s", ErrConnection, detail)
}

// --- channels ----------------------------------------------------------------------------

type boundKey struct{}

// acquire takes the channel for a call: the one bound to ctx (a pinned Thread, or the channel of
// the callback being served), else one from the pool. It returns the channel's previous hold state
// (for giveBack) and whether the channel goes back to the pool.
func (c *Client) acquire(ctx context.Context) (ch *channel, prev int32, pooled bool, err error) {
	if b, ok := ctx.Value(boundKey{}).(*channel); ok && b.c == c {
		switch {
		case b.inUse.CompareAndSwap(holdFree, holdCall):
			prev = holdFree
		case b.inUse.CompareAndSwap(holdCallback, holdCall):
			prev = holdCallback // nested in a callback that a call on this channel is serving
		case b.inUse.Load() == holdUnmapped:
			return nil, 0, false, fmt.Errorf("%w: channel %d is closed", ErrClosed, b.id)
		default:
			return nil, 0, false, fmt.Errorf("%w (channel %d)", ErrBusy, b.id)
		}
		if b.retired.Load() || b.broken != nil {
			err := b.broken
			c.giveBack(b, prev, false)
			if err == nil {
				err = fmt.Errorf("%w: channel %d is closed", ErrClosed, b.id)
			}
			return nil, 0, false, err
		}
		return b, prev, false, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, 0, false, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		ch = c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		ch.inUse.Store(holdCall)
		return ch, holdFree, true, nil
	}
	c.mu.Unlock()
	ch, err = c.newChannel(ctx)
	if err != nil {
		return nil, 0, false, err
	}
	ch.inUse.Store(holdCall)
	return ch, holdFree, true, nil
}

func (c *Client) newChannel(ctx context.Context) (*channel, error) {
	if c.controlGone.Load() {
		return nil, c.connLost("the control connection is closed")
	}
	ch, err := openChannel(ctx, c)
	if err != nil {
		if errors.Is(err, ErrConnection) && c.proc != nil {
			if state := c.proc.waitExit(0); state != "" {
				return nil, c.connLost(err.Error())
			}
		}
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		ch.retire()
		return nil, ErrClosed
	}
	c.all[ch] = struct{}{}
	c.mu.Unlock()
	return ch, nil
}

// giveBack ends a call's hold of ch: back to the outer call it nested in, to the pool, or
// retired if it broke.
func (c *Client) giveBack(ch *channel, prev int32, pooled bool) {
	if prev == holdCallback {
		ch.inUse.Store(holdCallback) // the outer call still holds it; it lets go (and unmaps) later
		return
	}
	if ch.broken != nil && !ch.retired.Load() {
		c.drop(ch)
	}
	if !pooled || ch.retired.Load() {
		ch.letGo()
		return
	}
	ch.inUse.Store(holdFree)
	c.mu.Lock()
	if !c.closed && len(c.idle) < maxIdleChannels {
		c.idle = append(c.idle, ch)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.drop(ch)
}

// drop retires a channel and forgets it.
func (c *Client) drop(ch *channel) {
	c.mu.Lock()
	delete(c.all, ch)
	c.mu.Unlock()
	ch.retire()
}

// Thread is a channel of its own: one pinned JVM thread (spec §1.1), for Java code that keeps
// thread-local state. Calls made with a context from Thread.Context run on that JVM thread. A
// Thread runs one call at a time: a second goroutine using it meanwhile gets ErrBusy (callbacks
// that the thread's calls trigger may use it: they nest).
type Thread struct {
	c  *Client
	ch *channel
}

// Pin opens a channel for the caller's exclusive use. Close the Thread when done.
func (c *Client) Pin(ctx context.Context) (*Thread, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	ch, err := c.newChannel(ctx)
	if err != nil {
		return nil, err
	}
	return &Thread{c: c, ch: ch}, nil
}

// Context returns a context, derived from parent, whose calls run on this thread's channel.
func (t *Thread) Context(parent context.Context) context.Context {
	return context.WithValue(parent, boundKey{}, t.ch)
}

// ID is the channel id of the thread (spec §1.2).
func (t *Thread) ID() uint32 { return t.ch.id }

// Close closes the thread's channel; the JVM thread ends.
func (t *Thread) Close() error {
	t.c.drop(t.ch)
	return nil
}

// --- requests ----------------------------------------------------------------------------

// request runs one request on a channel taken for ctx: encode with build, send, wait, and read the
// answer (serving callbacks that arrive meanwhile).
func (c *Client) request(ctx context.Context, ftype byte, build func(e *encoder, ch *channel) error) (any, error) {
	ch, prev, pooled, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.giveBack(ch, prev, pooled)
	if c.nPending.Load() >= releaseBatch && ftype != tRelease {
		if err := c.flushReleases(ctx, ch); err != nil {
			return nil, err
		}
	}
	e := &ch.enc
	e.b, e.err, e.depth = e.b[:0], nil, 0
	if build != nil {
		if err := build(e, ch); err != nil {
			ch.pending = ch.pending[:0]
			return nil, err
		}
	}
	if e.err != nil {
		ch.pending = ch.pending[:0]
		return nil, e.err
	}
	v, err := c.roundTrip(ctx, ch, ftype, e.b)
	if cap(e.b) > 1<<20 {
		e.b = nil // do not keep a huge buffer per channel
	}
	return v, err
}

func (c *Client) roundTrip(ctx context.Context, ch *channel, ftype byte, payload []byte) (any, error) {
	st := call{ctx: ctx}
	answered, err := ch.send(&st, ftype, payload)
	if err != nil {
		return nil, c.failed(ch, &st, err)
	}
	for {
		if !answered {
			if err := ch.await(&st); err != nil {
				return nil, c.failed(ch, &st, err)
			}
		}
		rtype, body, err := ch.receive(&st)
		if err != nil {
			return nil, c.failed(ch, &st, err)
		}
		d := decoder{b: body, c: c}
		var result any
		switch rtype {
		case tReturn:
			result, err = d.value()
			if err == nil {
				err = d.end()
			}
			if err != nil {
				return nil, c.failed(ch, &st, ch.fail(err))
			}
		case tThrow:
			t, err := d.throwFrame()
			if err != nil {
				return nil, c.failed(ch, &st, ch.fail(err))
			}
			je := &JavaError{Class: t.class, Message: t.message, StackTrace: t.stack, Throwable: newObject(c, t.handle, ShapeObject)}
			if st.cancelSent {
				je.Throwable.Release()
				return nil, ctx.Err()
			}
			return nil, je
		case tError:
			re, err := d.errorFrame()
			if err != nil {
				return nil, c.failed(ch, &st, ch.fail(err))
			}
			if re.Code == CodeProtocol {
				ch.fail(re) // the server closes the channel after a PROTOCOL error
			}
			if st.cancelSent {
				return nil, ctx.Err()
			}
			return nil, re
		case tCallback:
			f, err := d.callbackFrame()
			if err != nil {
				return nil, c.failed(ch, &st, ch.fail(err))
			}
			rt, rp := c.runCallback(ctx, ch, f)
			if ch.broken != nil { // a nested call broke the channel
				return nil, c.failed(ch, &st, ch.broken)
			}
			answered, err = ch.send(&st, rt, rp)
			if err != nil {
				return nil, c.failed(ch, &st, err)
			}
			continue
		default:
			return nil, c.failed(ch, &st, ch.fail(protocolErr("unexpected frame %s from the server", frameName(rtype))))
		}
		if st.cancelSent {
			releaseValue(result)
			return nil, ctx.Err()
		}
		return result, nil
	}
}

// failed turns a transport failure into the call's error; the channel is broken.
func (c *Client) failed(ch *channel, st *call, err error) error {
	var re *RequestError
	if errors.As(err, &re) && re.Code == CodeLimit && ch.broken == nil {
		return err // refused before sending: the channel is fine
	}
	ch.fail(err)
	if st.cancelSent || (st.ctx.Err() != nil && errors.Is(err, errCancelTimeout)) {
		return st.ctx.Err()
	}
	return err
}

func releaseValue(v any) {
	switch x := v.(type) {
	case *Object:
		x.Release()
	case []any:
		for _, e := range x {
			releaseValue(e)
		}
	}
}

func (c *Client) call(ctx context.Context, kind byte, target uint64, name string, args []any) (any, error) {
	v, err := c.request(ctx, tCall, func(e *encoder, ch *channel) error {
		n, err := ch.nameRef(name)
		if err != nil {
			return err
		}
		e.callBody(kind, target, n, args)
		return nil
	})
	runtime.KeepAlive(args)
	return v, err
}

func (c *Client) newInstance(ctx context.Context, classID uint64, args []any) (any, error) {
	v, err := c.request(ctx, tNew, func(e *encoder, ch *channel) error {
		e.newBody(classID, args)
		return nil
	})
	runtime.KeepAlive(args)
	return v, err
}

func (c *Client) getField(ctx context.Context, kind byte, target uint64, name string) (any, error) {
	return c.request(ctx, tGetField, func(e *encoder, ch *channel) error {
		n, err := ch.nameRef(name)
		if err != nil {
			return err
		}
		e.getFieldBody(kind, target, n)
		return nil
	})
}

func (c *Client) setField(ctx context.Context, kind byte, target uint64, name string, value any) error {
	_, err := c.request(ctx, tSetField, func(e *encoder, ch *channel) error {
		n, err := ch.nameRef(name)
		if err != nil {
			return err
		}
		e.setFieldBody(kind, target, n, value)
		return nil
	})
	runtime.KeepAlive(value)
	return err
}

func (c *Client) resolveMember(ctx context.Context, classID uint64, name string) (any, error) {
	return c.request(ctx, tResolveMember, func(e *encoder, ch *channel) error {
		n, err := ch.nameRef(name)
		if err != nil {
			return err
		}
		e.resolveMemberBody(classID, n)
		return nil
	})
}

// Class resolves a Java class by name ("java.util.Map$Entry", "java.util.Map.Entry", or a
// primitive such as "int"). The answer is cached. An unknown class is a *RequestError with
// CodeNoSuchClass; one the allowlist refuses has CodeNotAllowed.
func (c *Client) Class(ctx context.Context, name string) (*Class, error) {
	c.mu.Lock()
	k, ok := c.classes[name]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	v, err := c.request(ctx, tResolveClass, func(e *encoder, ch *channel) error {
		e.str(name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	k, ok = v.(*Class)
	if !ok {
		if v == nil {
			return nil, &RequestError{Code: CodeNoSuchClass, Message: "no Java class named " + name}
		}
		return nil, protocolErr("RESOLVE_CLASS returned a %T", v)
	}
	c.mu.Lock()
	c.classes[name] = k
	c.mu.Unlock()
	return k, nil
}

// classFor returns the one *Class of this client for a class id.
func (c *Client) classFor(id uint64, name string) *Class {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.byID[id]; ok {
		return k
	}
	k := &Class{c: c, id: id, name: name}
	c.byID[id] = k
	return k
}

// NewArray creates a Java array of component (dims: one length per dimension) and returns it as
// an *Object of ShapeArray.
func (c *Client) NewArray(ctx context.Context, component *Class, dims ...int) (*Object, error) {
	if len(dims) == 0 || len(dims) > 255 {
		return nil, fmt.Errorf("gatun: NewArray needs 1 to 255 dimensions, got %d", len(dims))
	}
	for _, d := range dims {
		if d < 0 || d > 1<<31-1 {
			return nil, fmt.Errorf("gatun: array dimension %d out of range", d)
		}
	}
	v, err := c.request(ctx, tNewArray, func(e *encoder, ch *channel) error {
		e.newArrayBody(component.id, dims)
		return nil
	})
	if err != nil {
		return nil, err
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, protocolErr("NEW_ARRAY returned a %T", v)
	}
	return o, nil
}

// InstanceOf reports whether value (sent as an argument would be) is an instance of cls.
func (c *Client) InstanceOf(ctx context.Context, value any, cls *Class) (bool, error) {
	v, err := c.request(ctx, tInstanceOf, func(e *encoder, ch *channel) error {
		e.instanceOfBody(value, cls.id)
		return nil
	})
	runtime.KeepAlive(value)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, protocolErr("INSTANCE_OF returned a %T", v)
	}
	return b, nil
}

func (o *Object) array(ctx context.Context, op byte, index, stop int, value any) (any, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if index < -1<<31 || index > 1<<31-1 || stop < -1<<31 || stop > 1<<31-1 {
		return nil, fmt.Errorf("gatun: array index out of the int range")
	}
	v, err := o.c.request(ctx, tArray, func(e *encoder, ch *channel) error {
		e.arrayBody(o.handle, op, index, stop, value)
		return nil
	})
	runtime.KeepAlive(o)
	runtime.KeepAlive(value)
	return v, err
}

// SessionInfo asks the server what it holds for this session: live objects in its registry and
// open channels (SESSION_INFO). Queued releases are sent first.
func (c *Client) SessionInfo(ctx context.Context) (objects, channels int64, err error) {
	if err := c.Flush(ctx); err != nil {
		return 0, 0, err
	}
	v, err := c.request(ctx, tSessionInfo, nil)
	if err != nil {
		return 0, 0, err
	}
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return 0, 0, protocolErr("SESSION_INFO returned %v", v)
	}
	o, ok1 := l[0].(int64)
	n, ok2 := l[1].(int64)
	if !ok1 || !ok2 {
		return 0, 0, protocolErr("SESSION_INFO returned %v", v)
	}
	return o, n, nil
}

// --- object lifetime ---------------------------------------------------------------------

func (c *Client) queueRelease(handle uint64) {
	c.relMu.Lock()
	c.pending = append(c.pending, handle)
	c.relMu.Unlock()
	c.nPending.Add(1)
}

func (c *Client) takeReleases(max int) []uint64 {
	c.relMu.Lock()
	defer c.relMu.Unlock()
	n := min(max, len(c.pending))
	if n == 0 {
		return nil
	}
	batch := append([]uint64(nil), c.pending[len(c.pending)-n:]...)
	c.pending = c.pending[:len(c.pending)-n]
	if len(c.pending) == 0 && cap(c.pending) > 1<<16 {
		c.pending = nil
	}
	c.nPending.Add(int32(-n))
	return batch
}

// flushReleases sends queued releases on ch (held by the caller).
func (c *Client) flushReleases(ctx context.Context, ch *channel) error {
	for {
		batch := c.takeReleases(1 << 16)
		if batch == nil {
			return nil
		}
		e := encoder{b: make([]byte, 0, 4+8*len(batch))}
		e.releaseBody(batch)
		if _, err := c.roundTrip(ctx, ch, tRelease, e.b); err != nil {
			return err
		}
	}
}

// Flush sends the releases queued by Object.Release and by collected Objects now.
func (c *Client) Flush(ctx context.Context) error {
	if c.nPending.Load() == 0 {
		return nil
	}
	ch, prev, pooled, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.giveBack(ch, prev, pooled)
	return c.flushReleases(ctx, ch)
}

var _ = io.EOF
