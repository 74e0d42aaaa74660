package gatunarrow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gatun-project/gatun/go/gatun"
)

// The arena layout of spec/arrow.md §2.
const (
	arenaMagic    = "GARN"
	layoutVersion = 1
	dataOffset    = 256
	spanHeader    = 64
	stateReturned = 2
	// ArrowExporter.next() answers.
	exportEnd    = -1
	exportNoRoom = -2
)

// arena is the Go side of a session's Arrow arena: the shared mapping and the Java ArrowArena.
//
// The mapping stays until nothing refers to it any more: the Session holds one reference, and so
// does every Reader, every sending source and every lent span still viewed by a record (its lease).
type arena struct {
	mem  []byte
	size int64
	java *gatun.Object
	// Classes used on every transfer, resolved once.
	exporterClass, readerClass *gatun.Class
	refs                       atomic.Int64
	stats                      stats
}

// stats count which way batches went (spec/arrow.md §6), for tests and diagnostics.
type stats struct {
	sentInPlace, sentAsBytes, readInPlace, readAsBytes, copiedOut atomic.Int64
}

// openArena makes the JVM create an arena of size bytes, maps its file and checks the header
// (spec/arrow.md §2).
func openArena(ctx context.Context, c *gatun.Client, size int64) (*arena, error) {
	cls, err := c.Class(ctx, "dev.gatun.arrow.ArrowArena")
	if err != nil {
		var re *gatun.RequestError
		if errors.As(err, &re) && re.Code == gatun.CodeNoSuchClass {
			return nil, fmt.Errorf("gatunarrow: this Gatun server has no Arrow support: dev.gatun.arrow.ArrowArena "+
				"is not on its class path (gatun.Launch adds %s when it lies next to the server jar; a Spark "+
				"driver has it in gatun-spark.jar): %w", gatun.ArrowJar, err)
		}
		return nil, fmt.Errorf("gatunarrow: %w", err)
	}
	java, err := gatun.As[*gatun.Object](cls.Call(ctx, "create", size))
	if err != nil {
		return nil, fmt.Errorf("gatunarrow: creating an arena of %d bytes: %w", size, err)
	}
	a := &arena{size: size, java: java}
	if err := a.mapFile(ctx); err != nil {
		// close() deletes the file, due even if ctx has ended; the mapping error is the one to report.
		_, _ = java.Call(context.WithoutCancel(ctx), "close")
		java.Release()
		return nil, err
	}
	if a.exporterClass, err = c.Class(ctx, "dev.gatun.arrow.ArrowExporter"); err == nil {
		a.readerClass, err = c.Class(ctx, "dev.gatun.arrow.ArenaReader")
	}
	if err != nil {
		a.unmap()
		java.Release()
		return nil, fmt.Errorf("gatunarrow: %w", err)
	}
	a.refs.Store(1)
	return a, nil
}

func (a *arena) mapFile(ctx context.Context) error {
	path, err := gatun.As[string](a.java.Call(ctx, "path"))
	if err != nil {
		return fmt.Errorf("gatunarrow: the arena's path: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("gatunarrow: opening the arena: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("gatunarrow: %w", err)
	}
	if st.Size() != a.size {
		return fmt.Errorf("gatunarrow: the arena file %s has %d bytes, not the announced %d", path, st.Size(), a.size)
	}
	a.mem, err = syscall.Mmap(int(f.Fd()), 0, int(a.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("gatunarrow: mapping the arena %s: %w", path, err)
	}
	if string(a.mem[0:4]) != arenaMagic || binary.LittleEndian.Uint32(a.mem[4:]) != layoutVersion ||
		binary.LittleEndian.Uint64(a.mem[8:]) != uint64(a.size) || binary.LittleEndian.Uint32(a.mem[16:]) != dataOffset {
		a.unmap()
		return fmt.Errorf("gatunarrow: %s is not a Gatun Arrow arena of %d bytes (bad header)", path, a.size)
	}
	if _, err := a.java.Call(ctx, "mapped"); err != nil {
		a.unmap()
		return fmt.Errorf("gatunarrow: %w", err)
	}
	return nil
}

// ref takes a reference to the mapping for a reader, a source or a lease.
func (a *arena) ref() { a.refs.Add(1) }

// unref drops one; the last one unmaps.
func (a *arena) unref() {
	if a.refs.Add(-1) == 0 {
		a.unmap()
		a.java.Release()
	}
}

// unmap gives the shared memory back. The address range is not left empty but filled with
// read-only zero pages (an anonymous mapping, which costs no memory): a slice that some code kept
// past its record's Release then reads zeros, instead of crashing the process with a fault.
func (a *arena) unmap() {
	if a.mem == nil {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(a.mem)))
	_, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, uintptr(len(a.mem)), syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_FIXED|syscall.MAP_NORESERVE, ^uintptr(0), 0)
	if errno != 0 {
		_ = syscall.Munmap(a.mem) // if this fails too, the range stays mapped: nothing else to do
	}
	a.mem = nil
}

// contains reports whether p points into the mapping (for zero-copy checks).
func (a *arena) contains(p unsafe.Pointer, n int) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(a.mem)))
	q := uintptr(p)
	return n >= 0 && q >= start && q-start <= uintptr(len(a.mem)-n)
}

// payload is the payload of the span at off that the JVM handed over, checked against the arena.
func (a *arena) payload(off int64) ([]byte, error) {
	if off < dataOffset || off%64 != 0 || off > a.size-spanHeader {
		return nil, fmt.Errorf("gatunarrow: the server handed over a bad arena offset %d", off)
	}
	n := binary.LittleEndian.Uint64(a.mem[off+8:])
	start := off + spanHeader
	if n > uint64(a.size-start) {
		return nil, fmt.Errorf("gatunarrow: the server handed over a span at %d of %d bytes, past the arena's end", off, n)
	}
	return a.mem[start : start+int64(n) : start+int64(n)], nil
}

// lend wraps the lent span at off as a buffer whose last Release hands the span back to the JVM.
func (a *arena) lend(off int64) (*memory.Buffer, error) {
	p, err := a.payload(off)
	if err != nil {
		return nil, err
	}
	a.ref()
	l := &lease{a: a, off: off}
	buf := memory.NewBufferWithAllocator(p, l)
	// A record dropped without Release still gives its span back, when the garbage collector finds
	// it (every slice of buf refers to buf, so none is left then).
	runtime.AddCleanup(buf, (*lease).giveBack, l)
	return buf, nil
}

// lease is the memory.Allocator of one lent span's buffer: arrow-go calls Free when the buffer's
// reference count drops to zero, i.e. when no array views the span any more.
type lease struct {
	a    *arena
	off  int64
	done atomic.Bool
}

// giveBack writes RETURNED into the span's state word (a release store: our reads of the span
// happen before the JVM, which loads the word with acquire, writes into it again).
func (l *lease) giveBack() {
	if l.done.Swap(true) {
		return
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&l.a.mem[l.off])), stateReturned)
	l.a.unref()
}

// Allocate is never called: the buffers of a lent span are read-only views.
func (l *lease) Allocate(int) []byte { panic("gatunarrow: a buffer in the Arrow arena cannot grow") }

// Reallocate is never called, as Allocate.
func (l *lease) Reallocate(int, []byte) []byte {
	panic("gatunarrow: a buffer in the Arrow arena cannot grow")
}

// Free hands the span back: its buffer's reference count reached zero.
func (l *lease) Free([]byte) { l.giveBack() }
