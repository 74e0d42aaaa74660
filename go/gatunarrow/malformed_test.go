package gatunarrow

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestMalformedInput: bytes from the JVM that are not what the spec says give an error naming the
// problem, never a panic or a read outside the arena (no JVM needed).
func TestMalformedInput(t *testing.T) {
	// A real schema message and a real batch message to damage.
	var schemaMsg, batchMsg bytes.Buffer
	p := ipc.GetSchemaPayload(seqSchema, memory.DefaultAllocator)
	if _, err := p.WritePayload(&schemaMsg); err != nil {
		t.Fatal(err)
	}
	p.Release()
	q := newSequence(100, 100)
	q.Next()
	bp, err := ipc.GetRecordBatchPayload(q.RecordBatch())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bp.WritePayload(&batchMsg); err != nil {
		t.Fatal(err)
	}
	bp.Release()
	q.Release()
	dec, err := newDecoder(schemaMsg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	damaged := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(batchMsg.Bytes())) }
	metaLen := int(binary.LittleEndian.Uint32(batchMsg.Bytes()[4:]))

	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "no continuation marker"},
		{"no marker", damaged(func(b []byte) []byte { b[0] = 0; return b }), "no continuation marker"},
		{"metadata past the end", damaged(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1<<30); return b }), "bad metadata length"},
		{"negative metadata length", damaged(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 0x80000000); return b }), "bad metadata length"},
		{"body cut off", damaged(func(b []byte) []byte { return b[:8+metaLen+8] }), "claims a body of"},
		{"garbage metadata", damaged(func(b []byte) []byte {
			for i := 8; i < 8+metaLen; i++ {
				b[i] = 0xA5
			}
			return b
		}), "gatunarrow:"},
		{"schema instead of a batch", schemaMsg.Bytes(), "expected an Arrow IPC record batch message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := dec.batch(memory.NewBufferBytes(tc.msg))
			if err == nil {
				rec.Release()
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := newDecoder(batchMsg.Bytes()); err == nil || !strings.Contains(err.Error(), "expected an Arrow IPC schema message") {
		t.Fatalf("a batch as the schema: %v", err)
	}

	a := &arena{mem: make([]byte, 1<<20), size: 1 << 20}
	binary.LittleEndian.PutUint64(a.mem[1024+8:], 1<<20) // a span claiming more than the arena holds
	for _, off := range []int64{-64, 0, 100, 1 << 20, 1<<20 - 32, 1024} {
		if _, err := a.payload(off); err == nil {
			t.Errorf("payload(%d): no error", off)
		}
	}
}
