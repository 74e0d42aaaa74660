package gatunarrow

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gatun-project/gatun/go/gatun"
)

// metadataAllowance is room left in a span for a batch's IPC metadata when a batch is cut into row
// slices to fit: the metadata does not shrink with the rows.
const metadataAllowance = 4096

// Send hands record batches to the JVM (spec/arrow.md §3) and returns the Java
// dev.gatun.arrow.ArenaReader, an org.apache.arrow.vector.ipc.ArrowReader to pass to Java code.
// data is an arrow.RecordBatch, an arrow.Table or an array.RecordReader; dictionary-encoded fields
// are refused. Nothing moves until Java code reads: each loadNextBatch() of the Java reader calls
// back into Go, which writes the next batch into an arena span (its only copy), and the Java
// vectors view that span in place. Batches larger than a quarter of the arena are cut into row
// slices (which copy nothing). Send retains data until the Java reader has read it all or is
// closed; close it (or read it to the end) so that Go lets go of the data.
func (s *Session) Send(ctx context.Context, data any) (*gatun.Object, error) {
	src := &source{}
	switch d := data.(type) {
	case arrow.RecordBatch:
		d.Retain()
		src.schema, src.list = d.Schema(), []arrow.RecordBatch{d}
	case arrow.Table:
		tr := array.NewTableReader(d, 0)
		src.schema, src.reader = d.Schema(), tr
	case array.RecordReader:
		d.Retain()
		src.schema, src.reader = d.Schema(), d
	default:
		return nil, fmt.Errorf("gatunarrow: Send needs an arrow.RecordBatch, arrow.Table or array.RecordReader, got %T", data)
	}
	if err := checkNoDictionary(src.schema); err != nil {
		src.dropData()
		return nil, err
	}
	a, err := s.arena(ctx)
	if err != nil {
		src.dropData()
		return nil, err
	}
	src.a = a
	src.limit = max(a.size/readerReserveFraction-metadataAllowance, a.size/8)
	var schemaMsg bytes.Buffer
	p := ipc.GetSchemaPayload(src.schema, memory.DefaultAllocator)
	_, err = p.WritePayload(&schemaMsg)
	p.Release()
	var keyed *keyedSources
	if err == nil {
		keyed, err = s.keyedSources()
	}
	if err != nil {
		src.finish()
		return nil, fmt.Errorf("gatunarrow: %w", err)
	}
	src.keyed, src.key = keyed, keyed.add(src)
	reader, err := gatun.As[*gatun.Object](a.readerClass.Call(ctx, "open", a.java, schemaMsg.Bytes(), keyed.cb, src.key))
	if err != nil {
		src.finish()
		return nil, javaErr("ArenaReader.open", err)
	}
	return reader, nil
}

// readerReserveFraction: the Java reader reserves this fraction of the arena for each batch
// (ArenaReader.RESERVE_FRACTION); a batch that fits there needs no allocation call.
const readerReserveFraction = 4

// keyedSources is the session's one dev.gatun.arrow.KeyedBatchSource callback: the sources of all
// its Send readers, each under its own key. One callback per session, not per Send: a callback id
// lives as long as its session on both sides (protocol §5.3), so a callback per transfer grew the
// client and the server with every transfer.
type keyedSources struct {
	cb   *gatun.Callback
	mu   sync.Mutex
	m    map[int64]*source
	next int64
}

// keyedSources returns the session's keyedSources, made on its first Send.
func (s *Session) keyedSources() (*keyedSources, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sources != nil {
		return s.sources, nil
	}
	k := &keyedSources{m: map[int64]*source{}}
	cb, err := s.c.Implement(k.handle, "dev.gatun.arrow.KeyedBatchSource")
	if err != nil {
		return nil, err
	}
	k.cb, s.sources = cb, k
	return k, nil
}

func (k *keyedSources) add(src *source) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.next++
	k.m[k.next] = src
	return k.next
}

func (k *keyedSources) forget(key int64) {
	k.mu.Lock()
	delete(k.m, key)
	k.mu.Unlock()
}

// streams is how many Send readers still hold their data (for tests).
func (k *keyedSources) streams() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

// handle serves the Java KeyedBatchSource interface: next(long key, long reserved, long capacity),
// close(long key).
func (k *keyedSources) handle(ctx context.Context, method string, args []any) (any, error) {
	key, ok := arg(args, 0)
	if !ok {
		return nil, fmt.Errorf("gatunarrow: KeyedBatchSource.%s(%v): expected a long key", method, args)
	}
	k.mu.Lock()
	src := k.m[key]
	k.mu.Unlock()
	switch method {
	case "next":
		if src == nil { // the reader asks no more after the end, and not after close()
			return nil, fmt.Errorf("gatunarrow: no Arrow stream under key %d in this session: it ended or its reader was closed", key)
		}
		reserved, ok1 := arg(args, 1)
		capacity, ok2 := arg(args, 2)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("gatunarrow: KeyedBatchSource.next(%v): expected three longs", args)
		}
		return src.next(ctx, reserved, capacity)
	case "close":
		if src != nil {
			src.finish()
		}
		return nil, nil
	}
	return nil, fmt.Errorf("gatunarrow: KeyedBatchSource has no method %s", method)
}

// source is the Go half of a Java ArenaReader: the stream of one Send, whose next() writes one
// batch into the arena (through the session's keyedSources callback).
type source struct {
	mu     sync.Mutex
	a      *arena
	keyed  *keyedSources
	key    int64
	schema *arrow.Schema
	list   []arrow.RecordBatch // data given as records, sent in order
	reader array.RecordReader  // or as a reader
	limit  int64               // IPC size above which a batch is cut into row slices
	// The batch being cut into slices of step rows, and the next row.
	cut       arrow.RecordBatch
	pos, step int64
	done      bool
}

func arg(args []any, i int) (int64, bool) {
	if i >= len(args) {
		return 0, false
	}
	v, ok := args[i].(int64)
	return v, ok
}

// next writes the next batch into the span the reader reserved, or one it allocates now, and
// returns the span's offset; or the batch's IPC bytes when the arena has no room (spec/arrow.md §6);
// or nil at the end.
func (s *source) next(ctx context.Context, reserved, capacity int64) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil, nil
	}
	batch, err := s.piece()
	if err != nil || batch == nil {
		s.finishLocked()
		return nil, err
	}
	defer batch.Release()
	if !batch.Schema().Equal(s.schema) {
		s.finishLocked()
		return nil, fmt.Errorf("gatunarrow: a record batch with schema %v in a stream of schema %v", batch.Schema(), s.schema)
	}
	p, err := ipc.GetRecordBatchPayload(batch)
	if err != nil {
		return nil, fmt.Errorf("gatunarrow: encoding a record batch: %w", err)
	}
	defer p.Release()
	need := payloadSize(&p)
	off := int64(-1)
	if reserved >= 0 && need <= capacity {
		off = reserved
	} else if need <= s.a.size-dataOffset-spanHeader {
		if off, err = gatun.As[int64](s.a.java.Call(ctx, "allocate", need)); err != nil {
			return nil, javaErr("ArrowArena.allocate", err)
		}
	}
	if off < 0 {
		var b bytes.Buffer
		b.Grow(int(need))
		if _, err := p.WritePayload(&b); err != nil {
			return nil, fmt.Errorf("gatunarrow: encoding a record batch: %w", err)
		}
		s.a.stats.sentAsBytes.Add(1)
		return b.Bytes(), nil
	}
	if err := s.write(off, need, &p); err != nil {
		if off != reserved { // the reader gives back its own reservation
			_, _ = s.a.java.Call(ctx, "abandon", off)
		}
		return nil, err
	}
	s.a.stats.sentInPlace.Add(1)
	return off, nil
}

// write encodes the batch into the span at off (the one copy) and stores the payload length.
func (s *source) write(off, need int64, p *ipc.Payload) error {
	if off < dataOffset || off%64 != 0 || off > s.a.size-spanHeader-need {
		return fmt.Errorf("gatunarrow: the server gave out a bad arena span %d for %d bytes", off, need)
	}
	w := spanWriter{b: s.a.mem[off+spanHeader : off+spanHeader+need]}
	if _, err := p.WritePayload(&w); err != nil {
		return fmt.Errorf("gatunarrow: writing a record batch into the arena: %w", err)
	}
	binary.LittleEndian.PutUint64(s.a.mem[off+8:], uint64(w.n))
	return nil
}

// piece returns the next batch to send, retained: a whole batch, or a row slice of one whose IPC
// size is over the limit; nil at the end.
func (s *source) piece() (arrow.RecordBatch, error) {
	for {
		if s.cut != nil {
			if rows := s.cut.NumRows(); s.pos < rows {
				end := min(s.pos+s.step, rows)
				slice := s.cut.NewSlice(s.pos, end)
				s.pos = end
				return slice, nil
			}
			s.cut.Release()
			s.cut = nil
		}
		batch, err := s.pull()
		if err != nil || batch == nil {
			return nil, err
		}
		size, err := ipcSize(batch)
		if err != nil {
			batch.Release()
			return nil, err
		}
		if size <= s.limit || batch.NumRows() <= 1 {
			return batch, nil
		}
		s.cut, s.pos, s.step = batch, 0, max(1, batch.NumRows()*s.limit/size)
	}
}

// pull returns the next batch of the data, retained; nil at the end.
func (s *source) pull() (arrow.RecordBatch, error) {
	if s.reader == nil {
		if len(s.list) == 0 {
			return nil, nil
		}
		b := s.list[0]
		s.list = s.list[1:]
		return b, nil // the reference Send took
	}
	if s.reader.Next() {
		b := s.reader.RecordBatch()
		b.Retain()
		return b, nil
	}
	if err := s.reader.Err(); err != nil {
		return nil, fmt.Errorf("gatunarrow: reading the batches to send: %w", err)
	}
	return nil, nil
}

// finish lets go of the data, the callback and the arena: the Java reader reached the end or was
// closed.
func (s *source) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked()
}

func (s *source) finishLocked() {
	if s.done {
		return
	}
	s.done = true
	s.dropData()
	if s.keyed != nil {
		s.keyed.forget(s.key)
	}
	if s.a != nil {
		s.a.unref()
	}
}

func (s *source) dropData() {
	if s.cut != nil {
		s.cut.Release()
		s.cut = nil
	}
	for _, b := range s.list {
		b.Release()
	}
	s.list = nil
	if s.reader != nil {
		s.reader.Release()
		s.reader = nil
	}
}

// ipcSize is the size of batch as one IPC message.
func ipcSize(batch arrow.RecordBatch) (int64, error) {
	p, err := ipc.GetRecordBatchPayload(batch)
	if err != nil {
		return 0, fmt.Errorf("gatunarrow: encoding a record batch: %w", err)
	}
	defer p.Release()
	return payloadSize(&p), nil
}

// payloadSize is the size of the IPC message p writes, counted by writing it to a counter (which
// copies nothing).
func payloadSize(p *ipc.Payload) int64 {
	var c counter
	_, _ = p.WritePayload(&c) // a counter never fails
	return c.n
}

type counter struct{ n int64 }

func (c *counter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}

// spanWriter fills a fixed slice of the arena and refuses to overflow it.
type spanWriter struct {
	b []byte
	n int
}

var errSpanFull = errors.New("gatunarrow: the IPC message is larger than its span")

func (w *spanWriter) Write(b []byte) (int, error) {
	if len(b) > len(w.b)-w.n {
		return 0, errSpanFull
	}
	w.n += copy(w.b[w.n:], b)
	return len(b), nil
}
