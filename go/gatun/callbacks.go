package gatun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

// Handler implements Java interface methods in Go (spec §5). method is the Java method's name and
// args its arguments converted to Go; the result is converted to Java like a call argument. An
// error makes the Java proxy throw: the Java exception itself when the error is (or wraps) a
// *JavaError, else a dev.gatun.server.CallbackException with the error's type and text.
//
// ctx is bound to the channel the callback arrived on: calls made with it run on the calling JVM
// thread (nested, spec §5.1). Handlers may run on any goroutine and concurrently.
type Handler func(ctx context.Context, method string, args []any) (any, error)

// Callback is a Go Handler that Java sees as an object implementing some interfaces. Pass it as
// an argument (it is sent as CALLBACK; the server makes one java.lang.reflect.Proxy per Callback).
type Callback struct {
	c          *Client
	id         uint64
	interfaces []string
}

type callbackEntry struct {
	h Handler
}

// ID is the callback's id in the session.
func (cb *Callback) ID() uint64 { return cb.id }

// Interfaces are the Java interfaces the callback implements.
func (cb *Callback) Interfaces() []string { return append([]string(nil), cb.interfaces...) }

// Release forgets the handler; Java calls through its proxy then fail with a CallbackException.
func (cb *Callback) Release() {
	cb.c.cbMu.Lock()
	delete(cb.c.callbacks, cb.id)
	cb.c.cbMu.Unlock()
}

// Implement makes h implement the given Java interfaces (fully qualified names, each allowed by
// the server's allowlist), e.g. client.Implement(h, "java.util.function.Supplier"). Pass the
// returned *Callback to Java. Callbacks from JVM threads that are not running a call of this client
// are served on callback channels (spec §5.2) that the client opens as needed.
func (c *Client) Implement(h Handler, interfaces ...string) (*Callback, error) {
	if h == nil {
		return nil, errors.New("gatun: Implement needs a handler")
	}
	if len(interfaces) == 0 || len(interfaces) > 65535 {
		return nil, errors.New("gatun: Implement needs at least one Java interface name")
	}
	c.cbMu.Lock()
	c.nextCB++
	cb := &Callback{c: c, id: c.nextCB, interfaces: append([]string(nil), interfaces...)}
	c.callbacks[cb.id] = &callbackEntry{h: h}
	c.cbMu.Unlock()
	c.ensureCallbackChannel()
	return cb, nil
}

// runCallback runs the handler of a CALLBACK frame on the goroutine that holds ch and returns the
// answer to send (CALLBACK_RETURN or CALLBACK_ERROR).
func (c *Client) runCallback(ctx context.Context, ch *channel, f callbackFrame) (byte, []byte) {
	c.cbMu.Lock()
	entry := c.callbacks[f.id]
	c.cbMu.Unlock()
	var result any
	var err error
	if entry == nil {
		err = fmt.Errorf("gatun: no Go callback with id %d (released?)", f.id)
	} else {
		cctx := context.WithValue(ctx, boundKey{}, ch)
		ch.inUse.Store(holdCallback) // nested calls may take the channel now
		result, err = safeCall(entry.h, cctx, f.method, f.args)
		for !ch.inUse.CompareAndSwap(holdCallback, holdCall) {
			runtime.Gosched() // a goroutine the handler started is still using ch
		}
	}
	e := &ch.enc
	e.b, e.err, e.depth = e.b[:0], nil, 0
	if err == nil {
		e.value(result)
		runtime.KeepAlive(result)
		if e.err == nil {
			return tCallbackReturn, e.b
		}
		err = e.err
		e.b, e.err = e.b[:0], nil
	}
	var handle uint64
	var je *JavaError
	if errors.As(err, &je) && je.Throwable != nil && je.Throwable.c == c && !je.Throwable.released.Load() {
		handle = je.Throwable.handle
	}
	e.callbackErrorBody(handle, callbackErrorType(err), err.Error())
	if e.err != nil {
		e.b, e.err = e.b[:0], nil
		e.callbackErrorBody(handle, "error", fmt.Sprintf("%q", err.Error()))
	}
	return tCallbackError, e.b
}

func safeCall(h Handler, ctx context.Context, method string, args []any) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gatun: callback %s panicked: %v\n%s", method, r, debug.Stack())
		}
	}()
	return h(ctx, method, args)
}

// ensureCallbackChannel keeps one idle callback channel (spec §5.2), opening one if none is idle.
func (c *Client) ensureCallbackChannel() {
	c.cbMu.Lock()
	if c.cbIdle > 0 || c.isClosed() {
		c.cbMu.Unlock()
		return
	}
	c.cbIdle++
	c.cbChannels++
	c.cbMu.Unlock()
	go c.serveCallbacks()
}

// serveCallbacks runs one callback channel: SERVE_CALLBACKS, then answer CALLBACK frames from JVM
// threads that are not channel threads of this session, until the session ends.
func (c *Client) serveCallbacks() {
	idle := true
	defer func() {
		c.cbMu.Lock()
		if idle {
			c.cbIdle--
		}
		c.cbChannels--
		c.cbMu.Unlock()
	}()
	ch, err := c.newChannel(c.baseCtx)
	if err != nil {
		if !c.isClosed() && !errors.Is(err, ErrConnection) {
			fmt.Fprintf(os.Stderr, "gatun: cannot open a callback channel: %v\n", err)
		}
		return
	}
	ch.inUse.Store(holdCall)
	defer func() {
		c.drop(ch)
		ch.letGo()
	}()
	err = c.callbackLoop(ch, func() {
		c.cbMu.Lock()
		c.cbIdle--
		idle = false
		c.cbMu.Unlock()
		c.ensureCallbackChannel()
	}, func() {
		c.cbMu.Lock()
		c.cbIdle++
		idle = true
		c.cbMu.Unlock()
	})
	if !c.isClosed() && !errors.Is(err, ErrConnection) && !errors.Is(err, ErrClosed) {
		fmt.Fprintf(os.Stderr, "gatun: callback channel %d stopped: %v\n", ch.id, err)
	}
}

// callbackLoop sends SERVE_CALLBACKS on ch and answers each CALLBACK that comes on it, until the
// channel fails or the session ends (spec §5.2). busy runs before each callback and idle after its
// answer: they keep the count of idle callback channels.
func (c *Client) callbackLoop(ch *channel, busy, idle func()) error {
	st := call{ctx: context.Background()}
	answered, err := ch.send(&st, tServeCallbacks, nil)
	for err == nil {
		if !answered {
			if err = ch.await(&st); err != nil {
				return err
			}
		}
		var rtype byte
		var body []byte
		if rtype, body, err = ch.receive(&st); err != nil {
			return err
		}
		if rtype != tCallback {
			return protocolErr("unexpected frame %s on a callback channel", frameName(rtype))
		}
		d := decoder{b: body, c: c}
		f, derr := d.callbackFrame()
		if derr != nil {
			return derr
		}
		busy()
		rt, rp := c.runCallback(c.baseCtx, ch, f)
		answered, err = ch.send(&st, rt, rp)
		idle()
	}
	return err
}
