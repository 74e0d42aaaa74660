package gatunarrow

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var seqSchema = arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil)

// sequence is a reader of total int64 values 0, 1, 2, ... in batches of batchRows (8 bytes a row),
// each batch built only when read.
type sequence struct {
	total, batchRows int64
	next             int64
	cur              arrow.RecordBatch
	refs             int64
}

func newSequence(total, batchRows int64) *sequence {
	return &sequence{total: total, batchRows: batchRows, refs: 1}
}

func (q *sequence) Schema() *arrow.Schema { return seqSchema }
func (q *sequence) Retain()               { q.refs++ }
func (q *sequence) Release() {
	if q.refs--; q.refs == 0 && q.cur != nil {
		q.cur.Release()
		q.cur = nil
	}
}
func (q *sequence) Err() error                     { return nil }
func (q *sequence) RecordBatch() arrow.RecordBatch { return q.cur }
func (q *sequence) Record() arrow.RecordBatch      { return q.cur }
func (q *sequence) Next() bool {
	if q.cur != nil {
		q.cur.Release()
		q.cur = nil
	}
	if q.next >= q.total {
		return false
	}
	n := min(q.batchRows, q.total-q.next)
	vals := make([]int64, n)
	for k := range vals {
		vals[k] = q.next + int64(k)
	}
	q.next += n
	data := array.NewData(arrow.PrimitiveTypes.Int64, int(n),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, 0, 0)
	col := array.NewInt64Data(data)
	data.Release()
	q.cur = array.NewRecordBatch(seqSchema, []arrow.Array{col}, n)
	col.Release()
	return true
}

// checkSequence checks that rec holds the values from..from+rows-1; returns from+rows.
func checkSequence(t testing.TB, rec arrow.RecordBatch, from int64) int64 {
	t.Helper()
	vals := rec.Column(0).(*array.Int64).Int64Values()
	for k, v := range vals {
		if v != from+int64(k) {
			t.Fatalf("value %d of a batch starting at %d is %d", k, from, v)
		}
	}
	return from + int64(len(vals))
}

const mib = 1 << 20

// TestStreamLargerThanArena streams 64 MiB Go → JVM → Go through a 4 MiB arena: Go's 8 MiB batches
// are cut into slices that fit, the Java reader and the exporter take turns with the spans, and
// every batch that arrives views the arena in place.
func TestStreamLargerThanArena(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	ctx := context.Background()
	const total = 64 * mib / 8
	jr, err := s.Send(ctx, newSequence(total, 8*mib/8))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Release()
	r, err := s.Reader(ctx, jr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	a := r.a
	next, batches := int64(0), 0
	for r.Next() {
		rec := r.RecordBatch()
		if off := spanOf(a, rec.Column(0).Data().Buffers()[1]); off < 0 {
			t.Fatalf("batch %d does not view the arena", batches)
		}
		next = checkSequence(t, rec, next)
		batches++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if next != total {
		t.Fatalf("%d values arrived, want %d", next, total)
	}
	st := &a.stats
	t.Logf("%d batches; sent in place %d, as bytes %d; read in place %d, as bytes %d",
		batches, st.sentInPlace.Load(), st.sentAsBytes.Load(), st.readInPlace.Load(), st.readAsBytes.Load())
	if batches < 64 || st.sentAsBytes.Load() != 0 || st.readAsBytes.Load() != 0 {
		t.Fatalf("expected ≥ 64 slices, all through the arena")
	}
}

// TestCollectLargerThanArena collects 16 MiB through a 4 MiB arena into records: when the arena is
// full, the batches held so far are copied out (spec/arrow.md §6) and the rest keeps streaming.
func TestCollectLargerThanArena(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	const total = 16 * mib / 8
	_, recs := roundTrip(t, s, newSequence(total, mib/8))
	next := int64(0)
	inArena := 0
	a := s.a
	for _, rec := range recs {
		next = checkSequence(t, rec, next)
		if spanOf(a, rec.Column(0).Data().Buffers()[1]) >= 0 {
			inArena++
		}
	}
	if next != total {
		t.Fatalf("%d values, want %d", next, total)
	}
	if a.stats.copiedOut.Load() == 0 || inArena == 0 || inArena == len(recs) {
		t.Fatalf("copied out %d, %d of %d records in the arena: expected some of each",
			a.stats.copiedOut.Load(), inArena, len(recs))
	}
}

// TestStreamRetainingEverything keeps every streamed batch: the arena fills up, and the rest comes
// as bytes through the channel (a stream never copies the caller's views behind its back). Then,
// with the arena still pinned, Go → JVM falls back to bytes too.
func TestStreamRetainingEverything(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	ctx := context.Background()
	const total = 12 * mib / 8
	jr, err := s.Send(ctx, newSequence(total, mib/8))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Release()
	r, err := s.Reader(ctx, jr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var kept []arrow.RecordBatch
	defer func() { releaseAll(kept) }()
	for r.Next() {
		r.RecordBatch().Retain()
		kept = append(kept, r.RecordBatch())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	for _, rec := range kept {
		next = checkSequence(t, rec, next)
	}
	a := r.a
	if next != total || a.stats.readAsBytes.Load() == 0 {
		t.Fatalf("%d values (want %d), %d batches as bytes (want some)", next, total, a.stats.readAsBytes.Load())
	}

	// One row of 2 MiB: not cut (one row), larger than the free arena now.
	b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	big := make([]byte, 2*mib)
	for k := range big {
		big[k] = byte(k * 7)
	}
	b.Append(big)
	col := b.NewArray()
	b.Release()
	one := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.BinaryTypes.Binary}}, nil),
		[]arrow.Array{col}, 1)
	col.Release()
	defer one.Release()
	sent, read := a.stats.sentAsBytes.Load(), a.stats.readAsBytes.Load()
	_, recs := roundTrip(t, s, one)
	if len(recs) != 1 || !array.RecordEqual(recs[0], one) {
		t.Fatalf("the 2 MiB row came back as %d records", len(recs))
	}
	if a.stats.sentAsBytes.Load() == sent || a.stats.readAsBytes.Load() == read {
		t.Fatalf("with the arena pinned, the 2 MiB row went through it (sent as bytes %d, read as bytes %d)",
			a.stats.sentAsBytes.Load()-sent, a.stats.readAsBytes.Load()-read)
	}
}

// TestJavaViewsArena: the Java reader of a Go batch loads its vectors from the span in place (the
// Java data buffer lies inside the arena), with the values Go wrote.
func TestJavaViewsArena(t *testing.T) {
	s := New(launch(t, "default", "org.apache.arrow.**"), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	ctx := context.Background()
	jr := mustSend(t, s, newSequence(1000, 1000))
	call := func(o any, method string, args ...any) any {
		t.Helper()
		v, err := o.(interface {
			Call(context.Context, string, ...any) (any, error)
		}).Call(ctx, method, args...)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return v
	}
	if call(jr, "loadNextBatch") != true {
		t.Fatal("no batch")
	}
	vec := call(call(jr, "getVectorSchemaRoot"), "getVector", int32(0))
	if v := call(vec, "get", int32(999)); v != int64(999) {
		t.Fatalf("value 999 is %v in Java", v)
	}
	buf := call(vec, "getDataBuffer")
	addr, length := call(buf, "memoryAddress"), call(buf, "capacity")
	if call(s.a.java, "contains", addr, length) != true {
		t.Fatalf("the Java data buffer (%v, %v bytes) is not in the arena", addr, length)
	}
}

// TestConcurrentTransfers: four goroutines share one session and its 4 MiB arena, each moving
// 8 MiB Go → JVM → Go at the same time (streams and collections), so that they compete for spans
// and take the fallbacks; every value arrives, nothing deadlocks.
func TestConcurrentTransfers(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	ctx := context.Background()
	const total = 8 * mib / 8
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			errs <- func() error {
				jr, err := s.Send(ctx, newSequence(total, mib/8))
				if err != nil {
					return err
				}
				defer jr.Release()
				next := int64(0)
				check := func(rec arrow.RecordBatch) error {
					for k, v := range rec.Column(0).(*array.Int64).Int64Values() {
						if v != next+int64(k) {
							return fmt.Errorf("goroutine %d: value %d after %d is %d", g, k, next, v)
						}
					}
					next += rec.NumRows()
					return nil
				}
				if g%2 == 0 {
					r, err := s.Reader(ctx, jr)
					if err != nil {
						return err
					}
					defer r.Release()
					for r.Next() {
						if err := check(r.RecordBatch()); err != nil {
							return err
						}
					}
					if r.Err() != nil {
						return r.Err()
					}
				} else {
					_, recs, err := s.Records(ctx, jr)
					if err != nil {
						return err
					}
					defer releaseAll(recs)
					for _, rec := range recs {
						if err := check(rec); err != nil {
							return err
						}
					}
				}
				if next != total {
					return fmt.Errorf("goroutine %d: %d values, want %d", g, next, total)
				}
				return nil
			}()
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
