package gatunarrow

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gatun-project/gatun/go/gatun"
)

// ErrReleased is the error of a Reader used after its last Release.
var ErrReleased = errors.New("gatunarrow: the reader was released")

// Reader streams the record batches of a Java object from the JVM (spec/arrow.md §4): each Next
// asks the JVM for one batch, which it writes into an arena span, and decodes it in place. It is an
// array.RecordReader: the current record is valid until the next Next (Retain it to keep it), and
// a span goes back to the JVM when the last record viewing it is released. Not safe for concurrent
// use, like every RecordReader.
type Reader struct {
	refs     atomic.Int64
	ctx      context.Context
	a        *arena
	exporter *gatun.Object
	dec      *decoder
	cur      arrow.RecordBatch
	err      error
	done     bool
	// held: when collecting (Records), the batches read so far (those viewing the arena are copied
	// out on NO_ROOM).
	held []heldBatch
}

type heldBatch struct {
	rec     arrow.RecordBatch
	payload []byte // its span's payload; nil once the record lives in Go memory
}

// Reader returns a streaming reader of obj: a Java org.apache.arrow.vector.ipc.ArrowReader (its
// remaining batches), a VectorSchemaRoot (its current content) or a dev.gatun.arrow.ArrowExporter
// made over this session's arena (JavaArena). Every Next makes its calls with ctx. The Java
// reader or root stays the caller's: it is not closed. Release the Reader when done.
func (s *Session) Reader(ctx context.Context, obj *gatun.Object) (*Reader, error) {
	if obj == nil {
		return nil, errors.New("gatunarrow: Reader needs a Java ArrowReader, VectorSchemaRoot or ArrowExporter, got nil")
	}
	a, err := s.arena(ctx)
	if err != nil {
		return nil, err
	}
	exporter, err := gatun.As[*gatun.Object](a.exporterClass.Call(ctx, "open", a.java, obj))
	if err != nil {
		a.unref()
		return nil, javaErr("ArrowExporter.open", err)
	}
	schema, err := gatun.As[[]byte](exporter.Call(ctx, "schema"))
	var dec *decoder
	if err == nil {
		dec, err = newDecoder(schema)
	}
	if err != nil {
		exporter.Release()
		a.unref()
		return nil, javaErr("the stream's schema", err)
	}
	r := &Reader{ctx: ctx, a: a, exporter: exporter, dec: dec}
	r.refs.Store(1)
	return r, nil
}

// Schema is the stream's schema.
func (r *Reader) Schema() *arrow.Schema { return r.dec.schema }

// Next releases the current record and reads the next one; false at the end or on an error (Err).
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	rec, _, err := r.pull()
	if err != nil || rec == nil {
		r.err, r.done = err, true
		return false
	}
	r.cur = rec
	return true
}

// RecordBatch is the current record, valid until the next Next or the Reader's release.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch (as arrow-go's array.RecordReader says).
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err is the error that ended the stream, nil at a normal end.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference to the Reader.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one releases the current record and the Java exporter (not
// the Java object it reads) and ends the stream: Next is false and Err is ErrReleased after it.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for _, h := range r.held {
		h.rec.Release()
	}
	r.held = nil
	if !r.done || r.err == nil {
		r.err = ErrReleased
	}
	r.done = true
	// No close() call here: Release may run anywhere (a deferred call after the context ended, a
	// closed client); dropping the handle lets the JVM collect the exporter, and nothing is pending
	// in it between two pulls.
	r.exporter.Release()
	r.a.unref()
}

// pull gets the next batch from the JVM, nil at the end, with its span's payload when it views the
// arena.
func (r *Reader) pull() (arrow.RecordBatch, []byte, error) {
	for {
		off, err := gatun.As[int64](r.exporter.Call(r.ctx, "next"))
		if err != nil {
			return nil, nil, javaErr("ArrowExporter.next", err)
		}
		switch off {
		case exportEnd:
			return nil, nil, nil
		case exportNoRoom:
			// Collecting: copy the batches held in the arena out into Go memory and ask again.
			// Streaming (or nothing to copy): the caller holds the views, so the batch comes as bytes
			// through the channel instead (spec/arrow.md §6). Nothing waits for space.
			if r.evict() {
				continue
			}
			b, err := r.exporter.Call(r.ctx, "nextBytes")
			if err != nil {
				return nil, nil, javaErr("ArrowExporter.nextBytes", err)
			}
			msg, ok := b.([]byte)
			if !ok {
				return nil, nil, nil // b == nil: the end
			}
			r.a.stats.readAsBytes.Add(1)
			rec, err := r.dec.batch(memory.NewBufferBytes(msg))
			return rec, nil, err
		default:
			buf, err := r.a.lend(off)
			if err != nil {
				return nil, nil, err
			}
			payload := buf.Bytes()
			rec, err := r.dec.batch(buf)
			buf.Release() // the record's arrays hold their own references to the span
			if err != nil {
				return nil, nil, err
			}
			r.a.stats.readInPlace.Add(1)
			return rec, payload, nil
		}
	}
}

// evict copies the held batches that view the arena into Go memory (one copy each) and releases
// their views, so that their spans go back to the JVM; false if there was none.
func (r *Reader) evict() bool {
	copied := false
	for i, h := range r.held {
		if h.payload == nil {
			continue
		}
		own := append([]byte(nil), h.payload...)
		rec, err := r.dec.batch(memory.NewBufferBytes(own))
		if err != nil {
			return copied // it decoded in place a moment ago; keep the view rather than fail
		}
		h.rec.Release()
		r.held[i] = heldBatch{rec: rec}
		r.a.stats.copiedOut.Add(1)
		copied = true
	}
	return copied
}

// Records reads all of obj's record batches (as Reader, but into memory): views of the arena,
// except those copied into Go memory when the arena ran full. The caller releases each record.
func (s *Session) Records(ctx context.Context, obj *gatun.Object) (*arrow.Schema, []arrow.RecordBatch, error) {
	r, err := s.Reader(ctx, obj)
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	for {
		rec, payload, err := r.pull()
		if err != nil {
			return nil, nil, err // r.Release releases the held records
		}
		if rec == nil {
			break
		}
		r.held = append(r.held, heldBatch{rec: rec, payload: payload})
	}
	recs := make([]arrow.RecordBatch, len(r.held))
	for i, h := range r.held {
		recs[i] = h.rec
	}
	r.held = nil
	return r.Schema(), recs, nil
}

// Table reads all of obj's record batches into an arrow.Table (see Records). Release the table.
func (s *Session) Table(ctx context.Context, obj *gatun.Object) (arrow.Table, error) {
	schema, recs, err := s.Records(ctx, obj)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	return tableOf(schema, recs)
}

func tableOf(schema *arrow.Schema, recs []arrow.RecordBatch) (t arrow.Table, err error) {
	defer func() {
		if p := recover(); p != nil { // arrow-go panics on records that do not match the schema
			t, err = nil, fmt.Errorf("gatunarrow: %v", p)
		}
	}()
	return array.NewTableFromRecords(schema, recs), nil
}
