package gatun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// cancelGrace is how long a cancelled call waits for the server's answer after CANCEL before the
// channel is given up (the Java code may ignore the interrupt).
const cancelGrace = time.Second

const handshakeTimeout = 10 * time.Second

var welcomeStatus = map[byte]string{
	1: "authentication failed (wrong token)",
	2: "unsupported protocol version",
	3: "malformed hello",
	4: "unknown session",
	5: "limit reached",
}

// hello dials the server and sends HELLO (spec §1.2); it returns the connection after an ok status.
func hello(ctx context.Context, socketPath string, kind byte, token, session []byte) (*net.UnixConn, error) {
	var d net.Dialer
	d.Timeout = handshakeTimeout
	c, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot connect to the Gatun server at %s: %v", ErrConnection, socketPath, err)
	}
	conn := c.(*net.UnixConn)
	deadline := time.Now().Add(handshakeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write(helloBytes(kind, token, session)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake with %s: %v", ErrConnection, socketPath, err)
	}
	var st [1]byte
	if _, err := io.ReadFull(conn, st[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake with %s: %v", ErrConnection, socketPath, err)
	}
	if st[0] != 0 {
		var n [2]byte
		text := ""
		if _, err := io.ReadFull(conn, n[:]); err == nil {
			b := make([]byte, binary.LittleEndian.Uint16(n[:]))
			if _, err := io.ReadFull(conn, b); err == nil {
				text = string(b)
			}
		}
		conn.Close()
		reason, ok := welcomeStatus[st[0]]
		if !ok {
			reason = fmt.Sprintf("status %d", st[0])
		}
		return nil, fmt.Errorf("%w: the Gatun server refused the connection: %s: %s", ErrConnection, reason, text)
	}
	return conn, nil
}

// helloBytes is the HELLO message (spec §1.2); session is empty for kind 1.
func helloBytes(kind byte, token, session []byte) []byte {
	msg := make([]byte, 0, 56)
	msg = append(msg, 'G', 'A', 'T', 'N')
	msg = binary.LittleEndian.AppendUint16(msg, protocolVersion)
	msg = append(msg, kind, 0)
	msg = append(msg, token...)
	return append(msg, session...)
}

// controlConn is the session's control connection (spec §1.3).
type controlConn struct {
	conn       *net.UnixConn
	session    []byte
	maxMessage uint64
	mu         sync.Mutex
}

func openControl(ctx context.Context, socketPath string, token []byte) (*controlConn, error) {
	conn, err := hello(ctx, socketPath, helloSession, token, nil)
	if err != nil {
		return nil, err
	}
	var reply [24]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake: %v", ErrConnection, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return &controlConn{
		conn:       conn,
		session:    append([]byte(nil), reply[:16]...),
		maxMessage: binary.LittleEndian.Uint64(reply[16:]),
	}, nil
}

func (cc *controlConn) send(b []byte) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	_, err := cc.conn.Write(b)
	return err
}

func (cc *controlConn) cancel(channelID uint32) error {
	var b [5]byte
	b[0] = controlCancel
	binary.LittleEndian.PutUint32(b[1:], channelID)
	return cc.send(b[:])
}

// Hold states of a channel (channel.inUse).
const (
	holdFree     int32 = 0  // nobody holds it
	holdCall     int32 = 1  // a call runs on it
	holdCallback int32 = 2  // a call on it is serving a callback: nested calls may take it
	holdUnmapped int32 = -1 // retired and unmapped
)

// channel is one channel (spec §1.1, §2): a socket for doorbells plus the mapped region.
//
// It is used by one goroutine at a time (inUse guards that); only the goroutine that holds it, or
// retire when nobody holds it, unmaps the region.
type channel struct {
	c            *Client
	id           uint32
	conn         *net.UnixConn
	mem          []byte
	data         []byte // the data area
	chunk        int    // payload bytes per frame
	maxMessage   uint64
	clientSeq    *uint64
	serverSeq    *uint64
	clientParked *uint32
	serverParked *uint32
	sent         uint64
	received     uint64
	parked       bool // our parked flag is up and a doorbell may be on its way
	wait         waitPolicy
	arrivedFn    func() bool // ch.arrived, bound once so that a spin allocates nothing

	names    map[string]uint32
	pending  []string // names defined by the message being sent
	nextName uint32

	enc  encoder
	bell [1]byte
	// raw is the socket for the park's own blocking poll (park.go); pollFn, pollTimeout and
	// pollOut serve it without allocating.
	raw         syscall.RawConn
	pollFn      func(fd uintptr)
	pollTimeout time.Duration
	pollOut     pollResult
	inUse       atomic.Int32 // hold* below
	// retired: the channel is closed; whoever moves inUse from holdFree to holdUnmapped unmaps it.
	retired atomic.Bool
	broken  error
}

func openChannel(ctx context.Context, c *Client) (*channel, error) {
	cc := c.control
	conn, err := hello(ctx, c.socketPath, helloChannel, c.token, cc.session)
	if err != nil {
		return nil, err
	}
	ch, err := mapChannel(c, conn, cc.maxMessage)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ch, nil
}

func mapChannel(c *Client, conn *net.UnixConn, maxMessage uint64) (*channel, error) {
	var head [16]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return nil, fmt.Errorf("%w: channel hand-shake: %v", ErrConnection, err)
	}
	id := binary.LittleEndian.Uint32(head[0:])
	size := binary.LittleEndian.Uint64(head[4:])
	n := binary.LittleEndian.Uint32(head[12:])
	if n > 4096 {
		return nil, protocolErr("region path of %d bytes", n)
	}
	pathb := make([]byte, n)
	if _, err := io.ReadFull(conn, pathb); err != nil {
		return nil, fmt.Errorf("%w: channel hand-shake: %v", ErrConnection, err)
	}
	path := string(pathb)
	if size < regionHeader+4096 || size > 1<<30 {
		return nil, protocolErr("region size %d out of range", size)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open the shared-memory file: %v", ErrConnection, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || uint64(st.Size()) < size {
		return nil, protocolErr("shared-memory file %s is smaller than announced", path)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("gatun: mmap of %s: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = syscall.Munmap(mem)
		}
	}()
	if string(mem[0:4]) != "GSHM" {
		return nil, protocolErr("%s is not a Gatun region (bad magic)", path)
	}
	if v := binary.LittleEndian.Uint32(mem[4:]); v != 1 {
		return nil, protocolErr("region layout version %d (this client knows 1)", v)
	}
	dataOff := uint64(binary.LittleEndian.Uint32(mem[16:]))
	capacity := uint64(binary.LittleEndian.Uint32(mem[20:]))
	if dataOff < regionHeader || dataOff+capacity > size || capacity < 4096 {
		return nil, protocolErr("bad region header in %s", path)
	}
	if uintptr(unsafe.Pointer(&mem[0]))&63 != 0 {
		return nil, protocolErr("region is not 64-byte aligned")
	}
	if _, err := conn.Write([]byte{0x01}); err != nil { // MAPPED
		return nil, fmt.Errorf("%w: channel hand-shake: %v", ErrConnection, err)
	}
	ch := &channel{
		c:            c,
		id:           id,
		conn:         conn,
		mem:          mem,
		data:         mem[dataOff : dataOff+capacity],
		chunk:        int(capacity) - frameHeader,
		maxMessage:   maxMessage,
		clientSeq:    (*uint64)(unsafe.Pointer(&mem[offClientSeq])),
		serverSeq:    (*uint64)(unsafe.Pointer(&mem[offServerSeq])),
		clientParked: (*uint32)(unsafe.Pointer(&mem[offClientParked])),
		serverParked: (*uint32)(unsafe.Pointer(&mem[offServerParked])),
		wait:         c.waitSpec.newPolicy(),
		names:        make(map[string]uint32),
	}
	ch.arrivedFn = ch.arrived
	if ch.raw, err = conn.SyscallConn(); err != nil {
		return nil, fmt.Errorf("%w: channel socket: %v", ErrConnection, err)
	}
	ch.pollFn = ch.pollOnce
	ch.sent = atomic.LoadUint64(ch.clientSeq)
	ch.received = atomic.LoadUint64(ch.serverSeq)
	ch.enc.c = c
	ok = true
	return ch, nil
}

// retire closes the channel's socket (a goroutine parked on it wakes with an error) and unmaps the
// region now if nobody holds the channel, else when its holder lets go.
func (ch *channel) retire() {
	if ch.retired.Swap(true) {
		return
	}
	ch.shutdown() // wakes a park blocked in poll at once
	_ = ch.conn.Close()
	if ch.inUse.CompareAndSwap(holdFree, holdUnmapped) {
		ch.unmap()
	}
}

// letGo ends a hold of the channel (inUse 1 → 0), unmapping it if it was retired meanwhile.
func (ch *channel) letGo() {
	ch.inUse.Store(holdFree)
	if ch.retired.Load() && ch.inUse.CompareAndSwap(holdFree, holdUnmapped) {
		ch.unmap()
	}
}

func (ch *channel) unmap() {
	if ch.mem != nil {
		_ = syscall.Munmap(ch.mem)
		ch.mem, ch.data = nil, nil
	}
}

// nameRef gives the wire form of a member name on this channel (spec §3.2 Name).
func (ch *channel) nameRef(s string) (nameRef, error) {
	if id, ok := ch.names[s]; ok {
		return nameRef{id: id}, nil
	}
	for i, p := range ch.pending {
		if p == s {
			return nameRef{id: ch.nextName + uint32(i), define: true, s: s}, nil
		}
	}
	id := ch.nextName + uint32(len(ch.pending))
	if id >= maxNameID {
		return nameRef{}, fmt.Errorf("gatun: more than %d distinct member names on one channel", maxNameID)
	}
	ch.pending = append(ch.pending, s)
	return nameRef{id: id, define: true, s: s}, nil
}

func (ch *channel) commitNames() {
	for _, s := range ch.pending {
		ch.names[s] = ch.nextName
		ch.nextName++
	}
	ch.pending = ch.pending[:0]
}

// --- turns (spec §2.1, §2.2) ---------------------------------------------------------------

// publish hands the turn to the server (the frame is in the data area) and rings its doorbell if
// it parked. The sequence word is written with an atomic swap, not a store: the swap is a locked
// instruction, the full fence §2.2 needs between this write and the read of the parked word. A
// plain atomic.Store is one too on amd64, but not under the race detector, whose atomic stores are
// release-only: with them, both sides parked at once now and then in `go test -race`.
func (ch *channel) publish() error {
	ch.sent++
	atomic.SwapUint64(ch.clientSeq, ch.sent)
	if atomic.LoadUint32(ch.serverParked) == 1 && atomic.CompareAndSwapUint32(ch.serverParked, 1, 0) {
		ch.bell[0] = 1
		if _, err := ch.conn.Write(ch.bell[:]); err != nil {
			return ch.lost(err)
		}
	}
	return nil
}

func (ch *channel) arrived() bool {
	return atomic.LoadUint64(ch.serverSeq) != ch.received
}

func (ch *channel) tookTurn() {
	ch.received++
	ch.parked = false
}

// call is the state of one request on a channel, shared by its awaits.
type call struct {
	ctx        context.Context
	cancelSent bool
	giveUpAt   time.Time
}

var errCancelTimeout = errors.New("gatun: the server did not answer a cancelled call in time")

// await waits for the server's next frame: spin as the wait policy says, then park (spec §2.2). When the call's context
// ends while parked, it sends CANCEL for this channel and keeps waiting (up to cancelGrace) for the
// answer, which the caller reads and discards.
func (ch *channel) await(st *call) error {
	if !ch.parked {
		if ch.arrived() {
			ch.tookTurn()
			return nil
		}
		if ch.wait.spin(ch.arrivedFn) {
			ch.tookTurn()
			return nil
		}
		if ch.raiseParked() {
			return nil
		}
		ch.parked = true
	}
	for {
		n, err := ch.parkedRead(st)
		if n == 1 {
			if ch.arrived() {
				ch.tookTurn()
				return nil
			}
			// A late doorbell of an earlier turn (spec §2.2): raise the flag again and re-check.
			if ch.raiseParked() {
				return nil
			}
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if st.cancelSent {
				if !time.Now().Before(st.giveUpAt) {
					return errCancelTimeout
				}
				continue
			}
			if st.ctx.Err() != nil {
				st.cancelSent = true
				st.giveUpAt = time.Now().Add(cancelGrace)
				if err := ch.c.control.cancel(ch.id); err != nil {
					return ch.lost(err)
				}
			}
			continue
		}
		if err == nil {
			err = io.EOF
		}
		return ch.lost(err)
	}
}

// raiseParked raises our parked flag; if the frame came meanwhile and we take the flag back, the
// turn is ours (true). Otherwise a doorbell byte is (or will be) on its way.
func (ch *channel) raiseParked() bool {
	atomic.SwapUint32(ch.clientParked, 1) // a swap: the full fence of §2.2 (see publish)
	if ch.arrived() && atomic.CompareAndSwapUint32(ch.clientParked, 1, 0) {
		ch.tookTurn()
		return true
	}
	return false
}

// lost marks the channel broken by a failed socket operation and explains it.
func (ch *channel) lost(err error) error {
	if ch.broken == nil {
		ch.broken = ch.c.connLost(fmt.Sprintf("channel %d: %v", ch.id, err))
	}
	return ch.broken
}

// --- frames (spec §3, §3.1) ------------------------------------------------------------------

func (ch *channel) writeHeader(ftype, flags byte, length int, total uint64) {
	d := ch.data
	binary.LittleEndian.PutUint32(d[0:], uint32(length))
	d[4] = ftype
	d[5] = flags
	d[6], d[7] = 0, 0
	binary.LittleEndian.PutUint64(d[8:], total)
}

// send sends a message, in chunks when it does not fit. It returns with the last chunk published
// (answered=false: the caller awaits the answer) or with the server's early answer to a chunk
// already in the region (answered=true: e.g. a LIMIT refusal).
func (ch *channel) send(st *call, ftype byte, payload []byte) (answered bool, err error) {
	total := uint64(len(payload))
	if total > ch.maxMessage {
		ch.pending = ch.pending[:0]
		return false, limitErr("a "+frameName(ftype)+" message", total, ch.maxMessage)
	}
	if len(payload) <= ch.chunk {
		ch.writeHeader(ftype, 0, len(payload), total)
		copy(ch.data[frameHeader:], payload)
		ch.commitNames()
		return false, ch.publish()
	}
	for pos := 0; ; {
		n := min(ch.chunk, len(payload)-pos)
		more := pos+n < len(payload)
		var flags byte
		if more {
			flags = flagMore
		}
		ch.writeHeader(ftype, flags, n, total)
		copy(ch.data[frameHeader:], payload[pos:pos+n])
		pos += n
		if !more {
			ch.commitNames()
			return false, ch.publish()
		}
		if err := ch.publish(); err != nil {
			return false, err
		}
		if err := ch.await(st); err != nil {
			return false, err
		}
		if ch.data[4] != tContinue {
			ch.pending = ch.pending[:0] // refused before it was read: it defined no names
			return true, nil
		}
	}
}

// receive returns the server's message now in the region: its type and payload. A single-frame
// payload aliases the region (valid until the next send); a chunked one is assembled.
func (ch *channel) receive(st *call) (byte, []byte, error) {
	d := ch.data
	length := int(binary.LittleEndian.Uint32(d[0:]))
	ftype := d[4]
	flags := d[5]
	total := binary.LittleEndian.Uint64(d[8:])
	if length > ch.chunk || total < uint64(length) {
		return 0, nil, ch.fail(protocolErr("bad frame header: length %d, total %d", length, total))
	}
	if flags&flagMore == 0 {
		if total != uint64(length) {
			return 0, nil, ch.fail(protocolErr("frame length %d differs from its total %d", length, total))
		}
		return ftype, d[frameHeader : frameHeader+length], nil
	}
	if total > ch.maxMessage || total > uint64(maxInt) {
		return 0, nil, ch.fail(limitErr("a "+frameName(ftype)+" message from the server", total, ch.maxMessage))
	}
	buf := make([]byte, 0, total)
	for {
		if uint64(len(buf)+length) > total {
			return 0, nil, ch.fail(protocolErr("the server's chunks are longer than the announced total %d", total))
		}
		buf = append(buf, d[frameHeader:frameHeader+length]...)
		if flags&flagMore == 0 {
			break
		}
		ch.writeHeader(tContinue, 0, 0, 0)
		if err := ch.publish(); err != nil {
			return 0, nil, err
		}
		if err := ch.await(st); err != nil {
			return 0, nil, err
		}
		length = int(binary.LittleEndian.Uint32(d[0:]))
		flags = d[5]
		if length > ch.chunk || d[4] != ftype || binary.LittleEndian.Uint64(d[8:]) != total {
			return 0, nil, ch.fail(protocolErr("a chunk changed the type or total of its message"))
		}
	}
	if uint64(len(buf)) != total {
		return 0, nil, ch.fail(protocolErr("the server's chunks carry %d bytes of a %d-byte message", len(buf), total))
	}
	return ftype, buf, nil
}

const maxInt = int(^uint(0) >> 1)

// fail marks the channel unusable (its turn state is unknown) and returns err.
func (ch *channel) fail(err error) error {
	if ch.broken == nil {
		ch.broken = err
	}
	return err
}
