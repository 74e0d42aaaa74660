package gatunarrow

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gatun-project/gatun/go/gatun"
)

// TestSpanLifetime: a received record views its span in place; the span stays lent (the JVM does
// not write into it) while the record is retained, even while more data than the arena holds
// streams through; the last Release hands it back (RETURNED), not an earlier one.
func TestSpanLifetime(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 * mib})
	defer s.Close()
	ctx := context.Background()
	jr, err := s.Send(ctx, newSequence(1000, 1000))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Release()
	_, recs, err := s.Records(ctx, jr)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Records: %v, %d records", err, len(recs))
	}
	rec := recs[0]
	a := s.a
	off := spanOf(a, rec.Column(0).Data().Buffers()[1])
	if off < 0 {
		t.Fatal("the record does not view the arena")
	}
	if st := stateWord(a, off); st != 1 {
		t.Fatalf("state of the lent span %d is %d, want LENT (1)", off, st)
	}
	col := rec.Column(0)
	col.Retain() // a second holder: the span must outlive the record's own release
	rec.Release()
	if rec.NumCols() != 0 {
		t.Fatalf("a released record still has %d columns", rec.NumCols())
	}
	if st := stateWord(a, off); st != 1 {
		t.Fatalf("span handed back (state %d) while a column still views it", st)
	}

	// 32 MiB through the 4 MiB arena: every other span is reused many times, not this one.
	_, more := roundTrip(t, s, newSequence(32*mib/8, mib/8))
	releaseAll(more)
	r, err := s.Reader(ctx, mustSend(t, s, newSequence(32*mib/8, mib/8)))
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	r.Release()
	again := array.NewRecordBatch(seqSchema, []arrow.Array{col}, 1000)
	col.Release()
	if st := stateWord(a, off); st != 1 {
		t.Fatalf("span handed back (state %d) while a record still views it", st)
	}
	if got := checkSequence(t, again, 0); got != 1000 {
		t.Fatal("the retained column changed")
	}
	again.Release()
	if st := stateWord(a, off); st != stateReturned {
		t.Fatalf("state after the last release is %d, want RETURNED (2)", st)
	}
}

func mustSend(t testing.TB, s *Session, data any) *gatun.Object {
	t.Helper()
	jr, err := s.Send(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(jr.Release)
	return jr
}

// TestErrors: bad input and use after release or close give errors that say what is wrong.
func TestErrors(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	s := New(c, Options{ArenaBytes: 4 * mib})
	defer s.Close()

	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	db := array.NewDictionaryBuilder(memory.DefaultAllocator, dictType)
	db.(*array.BinaryDictionaryBuilder).AppendString("x")
	dcol := db.NewArray()
	db.Release()
	nested := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "d", Type: dictType})}}, nil)
	sb := array.NewStructBuilder(memory.DefaultAllocator, nested.Field(0).Type.(*arrow.StructType))
	sb.Append(true)
	sb.FieldBuilder(0).(*array.BinaryDictionaryBuilder).AppendString("y")
	scol := sb.NewArray()
	sb.Release()
	dict := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "d", Type: dictType}}, nil), []arrow.Array{dcol}, 1)
	nestedDict := array.NewRecordBatch(nested, []arrow.Array{scol}, 1)
	dcol.Release()
	scol.Release()
	defer dict.Release()
	defer nestedDict.Release()

	list, err := gatun.As[*gatun.Object](mustClass(t, c, "java.util.ArrayList").New(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer list.Release()

	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"dictionary", func() error { _, err := s.Send(ctx, dict); return err }, "field d is dictionary-encoded"},
		{"nested dictionary", func() error { _, err := s.Send(ctx, nestedDict); return err }, "field s.d is dictionary-encoded"},
		{"not Arrow data", func() error { _, err := s.Send(ctx, []int{1}); return err }, "Send needs an arrow.RecordBatch"},
		{"not an Arrow object", func() error { _, err := s.Reader(ctx, list); return err }, "IllegalArgumentException"},
		{"nil object", func() error { _, _, err := s.Records(ctx, nil); return err }, "got nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	t.Run("released reader", func(t *testing.T) {
		r, err := s.Reader(ctx, mustSend(t, s, newSequence(10, 5)))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Next() {
			t.Fatal(r.Err())
		}
		r.Release()
		if r.Next() || !errors.Is(r.Err(), ErrReleased) || r.RecordBatch() != nil {
			t.Fatalf("after Release: Err %v, record %v", r.Err(), r.RecordBatch())
		}
	})

	t.Run("closed session", func(t *testing.T) {
		s2 := New(c, Options{ArenaBytes: 2 * mib})
		_, recs := roundTrip(t, s2, newSequence(100, 100))
		s2.Close()
		if _, err := s2.Send(ctx, recs[0]); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send after Close: %v", err)
		}
		if _, err := s2.JavaArena(ctx); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("JavaArena after Close: %v", err)
		}
		checkSequence(t, recs[0], 0) // still mapped for the records that view it
	})
}

// TestClosedClient: records received stay valid after the client (and its JVM) ended; transfers
// and a stream in progress fail with gatun.ErrClosed.
func TestClosedClient(t *testing.T) {
	c := launch(t)
	ctx := context.Background()
	s := New(c, Options{ArenaBytes: 2 * mib})
	defer s.Close()
	_, recs := roundTrip(t, s, newSequence(1000, 1000))
	r, err := s.Reader(ctx, mustSend(t, s, newSequence(1000, 10)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if checkSequence(t, recs[0], 0) != 1000 || checkSequence(t, r.RecordBatch(), 0) != 10 {
		t.Fatal("records changed after Close")
	}
	if r.Next() || !errors.Is(r.Err(), gatun.ErrClosed) {
		t.Fatalf("Next after the client closed: Err %v", r.Err())
	}
	if _, err := s.Send(ctx, recs[0]); !errors.Is(err, gatun.ErrClosed) {
		t.Fatalf("Send after the client closed: %v", err)
	}
}

func mustClass(t testing.TB, c *gatun.Client, name string) *gatun.Class {
	t.Helper()
	k, err := c.Class(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestStaleSliceAfterUnmap: once the session is closed and every record released, the arena is
// unmapped; a slice of values kept against the rules past its record's Release then reads zeros
// (the range holds read-only zero pages), it does not crash the process.
func TestStaleSliceAfterUnmap(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 2 * mib})
	ctx := context.Background()
	jr := mustSend(t, s, newSequence(1000, 1000))
	_, recs, err := s.Records(ctx, jr)
	if err != nil {
		t.Fatal(err)
	}
	a := s.a
	stale := recs[0].Column(0).(*array.Int64).Int64Values()
	if stale[999] != 999 {
		t.Fatalf("value 999 is %d", stale[999])
	}
	releaseAll(recs)
	s.Close()
	if n := a.refs.Load(); n != 0 || a.mem != nil {
		t.Fatalf("after Close and Release: %d references, mapped %v", n, a.mem != nil)
	}
	for i, v := range stale {
		if v != 0 {
			t.Fatalf("stale value %d reads %d after the unmapping, want 0", i, v)
		}
	}
}

// TestDroppedRecordReturnsSpan: a record dropped without Release hands its span back once the
// garbage collector finds it unreachable.
func TestDroppedRecordReturnsSpan(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 2 * mib})
	defer s.Close()
	_, recs, err := s.Records(context.Background(), mustSend(t, s, newSequence(1000, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	a := s.a
	off := spanOf(a, recs[0].Column(0).Data().Buffers()[1])
	if off < 0 || stateWord(a, off) != 1 {
		t.Fatalf("span %d not lent", off)
	}
	recs = nil
	deadline := time.Now().Add(10 * time.Second)
	for stateWord(a, off) != stateReturned {
		if time.Now().After(deadline) {
			t.Fatal("the span of a dropped record was not handed back")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
