package gatunarrow

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/gatun-project/gatun/go/gatun"
)

// Throughput of 100 MiB of int64 values per operation through the default 64 MiB arena, in
// batches of 1.9 M rows (14.5 MiB, under a quarter of the arena): go test -run '^$' -bench Arrow.
// A warm-up operation before the timed loop keeps the arena's creation and the JVM's first use of
// Arrow (class loading, about a second) out of the numbers.

const (
	benchRows      = 100 * mib / 8
	benchBatchRows = 1_900_000
)

func benchBatches(b *testing.B) []arrow.RecordBatch {
	q := newSequence(benchRows, benchBatchRows)
	var recs []arrow.RecordBatch
	for q.Next() {
		q.cur.Retain()
		recs = append(recs, q.cur)
	}
	q.Release()
	b.Cleanup(func() { releaseAll(recs) })
	return recs
}

// BenchmarkArrowGoToJVM: Send, then the Java reader loads every batch (one callback each, in which
// Go writes the batch into the span; Java checks the buffers and views them in place).
func BenchmarkArrowGoToJVM(b *testing.B) {
	s := New(jvm(b), Options{})
	defer s.Close()
	recs := benchBatches(b)
	b.SetBytes(benchRows * 8)
	sendAll(b, s, recs)
	for b.Loop() {
		sendAll(b, s, recs)
	}
}

// sendAll sends recs and has the Java reader load them all.
func sendAll(b *testing.B, s *Session, recs []arrow.RecordBatch) {
	ctx := context.Background()
	rr, err := array.NewRecordReader(seqSchema, recs)
	if err != nil {
		b.Fatal(err)
	}
	jr, err := s.Send(ctx, rr)
	rr.Release()
	if err != nil {
		b.Fatal(err)
	}
	defer jr.Release()
	n := 0
	for {
		more, err := jr.Call(ctx, "loadNextBatch")
		if err != nil {
			b.Fatal(err)
		}
		if more != true {
			break
		}
		n++
	}
	if _, err := jr.Call(ctx, "close"); err != nil {
		b.Fatal(err)
	}
	if n != len(recs) {
		b.Fatalf("%d batches arrived, want %d", n, len(recs))
	}
}

// BenchmarkArrowJVMToGo: a Java VectorSchemaRoot holding one 14.5 MiB batch is exported to Go over
// and over (Java writes it into a span, Go reads it in place and releases it) until 100 MiB moved.
func BenchmarkArrowJVMToGo(b *testing.B) {
	c := launch(b, "default", "org.apache.arrow.**") // to reach the Java reader's root
	s := New(c, Options{})
	defer s.Close()
	ctx := context.Background()
	one := newSequence(benchBatchRows, benchBatchRows)
	jr := mustSend(b, s, one)
	one.Release()
	if more, err := jr.Call(ctx, "loadNextBatch"); more != true || err != nil {
		b.Fatalf("loadNextBatch: %v, %v", more, err)
	}
	root, err := gatun.As[*gatun.Object](jr.Call(ctx, "getVectorSchemaRoot"))
	if err != nil {
		b.Fatal(err)
	}
	per := int64(benchBatchRows * 8)
	times := int((benchRows*8 + per - 1) / per)
	b.SetBytes(int64(times) * per)
	exportAll := func() {
		for range times {
			r, err := s.Reader(ctx, root)
			if err != nil {
				b.Fatal(err)
			}
			if !r.Next() || r.RecordBatch().NumRows() != benchBatchRows {
				b.Fatalf("no batch: %v", r.Err())
			}
			r.Release()
		}
	}
	exportAll()
	for b.Loop() {
		exportAll()
	}
}
