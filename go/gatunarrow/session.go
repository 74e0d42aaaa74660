// Package gatunarrow moves Arrow record batches (github.com/apache/arrow-go) between Go and the JVM
// of a Gatun session through shared memory, as spec/arrow.md in the Gatun repository describes:
// each batch is written once, as an Arrow IPC message, into a span of an arena that both
// processes map, and read in place by the other side.
//
//	s := gatunarrow.New(client, gatunarrow.Options{})
//	defer s.Close()
//	javaReader, err := s.Send(ctx, record)  // a Java org.apache.arrow.vector.ipc.ArrowReader
//	table, err := s.Table(ctx, javaReader)  // from a Java ArrowReader, VectorSchemaRoot or ArrowExporter
//	reader, err := s.Reader(ctx, javaObject) // the same, streaming (an array.RecordReader)
//
// Records read from the JVM view the arena: their buffers are the shared memory itself, no byte is
// copied. A span is handed back to the JVM when the last array viewing it is released (arrow-go's
// Retain/Release), or when the garbage collector finds it unreachable. Values taken out of an array
// are views too, valid only while the array is retained: slices such as Int64Values, and the Go
// strings of String.Value and GetOneForMarshal (arrow-go makes them over the buffer). Copy what
// must outlive the record (strings.Clone, slices.Clone): after the span is handed back, the JVM
// writes other batches there.
package gatunarrow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gatun-project/gatun/go/gatun"
)

// DefaultArenaBytes is the arena size when Options.ArenaBytes is 0, as the Python client's default.
const DefaultArenaBytes = 64 << 20

// Options configure a Session.
type Options struct {
	// ArenaBytes is the size of the shared-memory arena; 0 means DefaultArenaBytes. The server
	// accepts 1 MiB up to its maximum (1 GiB unless -Dgatun.arrow.maxArenaBytes says less).
	// Batches of any size stream through any arena size; a larger arena holds more batches at once.
	ArenaBytes int64
}

// ErrSessionClosed is returned (wrapped) by transfers started after Session.Close.
var ErrSessionClosed = errors.New("gatunarrow: the session is closed")

// Session is the Arrow side of one gatun.Client: it owns the client's arena (created on the first
// transfer). Make one per client and share it; it is safe for concurrent use. A second Session on
// the same client works but maps an arena of its own.
type Session struct {
	c    *gatun.Client
	size int64

	mu      sync.Mutex
	a       *arena
	hold    *holding
	sources *keyedSources // made on the first Send
	closed  bool
}

// holding is the session's own reference to its arena, dropped once: by Close, or by the garbage
// collector when a Session is dropped without Close.
type holding struct {
	a       *arena
	dropped atomic.Bool
}

func (h *holding) drop() {
	if !h.dropped.Swap(true) {
		h.a.unref()
	}
}

// New returns the Arrow session of c. Nothing happens in the JVM until the first transfer.
func New(c *gatun.Client, opts Options) *Session {
	size := opts.ArenaBytes
	if size == 0 {
		size = DefaultArenaBytes
	}
	return &Session{c: c, size: size}
}

// arena returns the arena, creating it on first use, with a reference the caller must drop.
func (s *Session) arena(ctx context.Context) (*arena, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSessionClosed
	}
	if s.a == nil {
		a, err := openArena(ctx, s.c, s.size)
		if err != nil {
			return nil, err
		}
		s.a = a
		s.hold = &holding{a: a}
		// A Session dropped without Close still lets its arena go once nothing else views it.
		runtime.AddCleanup(s, (*holding).drop, s.hold)
	}
	s.a.ref()
	return s.a, nil
}

// JavaArena returns the session's Java dev.gatun.arrow.ArrowArena (creating the arena if needed),
// for Java code that builds an ArrowExporter over it, such as
// dev.gatun.spark.ArrowBatchCollector.exporter(arena). Do not Release it: the session owns it.
func (s *Session) JavaArena(ctx context.Context) (*gatun.Object, error) {
	a, err := s.arena(ctx)
	if err != nil {
		return nil, err
	}
	defer a.unref()
	return a.java, nil
}

// Close ends the session: later transfers fail with ErrSessionClosed. Records already received stay
// valid as long as they are retained (the arena stays mapped for them), and so do Readers and
// Java readers that are still moving data. It makes no call to the JVM.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.hold != nil {
		s.hold.drop()
	}
	return nil
}

// javaErr wraps a Java exception from an Arrow entry point with what was being done.
func javaErr(what string, err error) error {
	return fmt.Errorf("gatunarrow: %s: %w", what, err)
}
