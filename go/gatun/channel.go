package gatun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A channel's life (map, retire, unmap), its name table and its turn-taking (spec §2). Only the
// goroutine that holds a channel touches its region; chunking.go moves whole messages over it.

// cancelGrace is how long a cancelled call waits for the server's answer after CANCEL before the
// channel is given up (the Java code may ignore the interrupt).
const cancelGrace = time.Second

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

const maxInt = int(^uint(0) >> 1)

// fail marks the channel unusable (its turn state is unknown) and returns err.
func (ch *channel) fail(err error) error {
	if ch.broken == nil {
		ch.broken = err
	}
	return err
}
