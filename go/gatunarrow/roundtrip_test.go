package gatunarrow

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fromJSON builds a one-column record from JSON rows (arrow-go's own JSON reader).
func fromJSON(t testing.TB, dt arrow.DataType, rows string) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: dt, Nullable: true}}, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("RecordFromJSON(%v): %v", dt, err)
	}
	return rec
}

// roundTrip sends data to the JVM (an ArenaReader) and reads that Java reader back (an
// ArrowExporter over it): Go → JVM → Go, both directions through the arena.
func roundTrip(t testing.TB, s *Session, data any) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	ctx := context.Background()
	jr, err := s.Send(ctx, data)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	defer jr.Release()
	schema, recs, err := s.Records(ctx, jr)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	t.Cleanup(func() { releaseAll(recs) })
	return schema, recs
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

var (
	decimalType = &arrow.Decimal128Type{Precision: 20, Scale: 4}
	structType  = arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true})
	listType = arrow.ListOf(arrow.PrimitiveTypes.Int64)
	mapType  = arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32)
)

// typeCases are the types of issue 5, each with a null.
var typeCases = []struct {
	name string
	dt   arrow.DataType
	rows string
}{
	{"int8", arrow.PrimitiveTypes.Int8, `[{"c": -128}, {"c": null}, {"c": 127}]`},
	{"int16", arrow.PrimitiveTypes.Int16, `[{"c": -32768}, {"c": null}, {"c": 7}]`},
	{"int32", arrow.PrimitiveTypes.Int32, `[{"c": -2147483648}, {"c": null}, {"c": 2147483647}]`},
	{"int64", arrow.PrimitiveTypes.Int64, `[{"c": -9223372036854775808}, {"c": null}, {"c": 9223372036854775807}]`},
	{"float32", arrow.PrimitiveTypes.Float32, `[{"c": 1.5}, {"c": null}, {"c": -0.25}]`},
	{"float64", arrow.PrimitiveTypes.Float64, `[{"c": 3.141592653589793}, {"c": null}, {"c": -1e300}]`},
	{"decimal128", decimalType, `[{"c": "1234567890123456.7890"}, {"c": null}, {"c": "-0.0001"}]`},
	{"bool", arrow.FixedWidthTypes.Boolean, `[{"c": true}, {"c": null}, {"c": false}]`},
	{"string", arrow.BinaryTypes.String, `[{"c": "héllo"}, {"c": null}, {"c": ""}]`},
	{"large string", arrow.BinaryTypes.LargeString, `[{"c": "large"}, {"c": null}, {"c": "ü"}]`},
	{"binary", arrow.BinaryTypes.Binary, `[{"c": "AAEC"}, {"c": null}, {"c": ""}]`},
	{"date32", arrow.FixedWidthTypes.Date32, `[{"c": "2024-02-29"}, {"c": null}, {"c": "1970-01-01"}]`},
	{"timestamp", &arrow.TimestampType{Unit: arrow.Microsecond}, `[{"c": "2024-02-29T12:34:56.789012"}, {"c": null}]`},
	{"timestamp tz", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `[{"c": "2024-02-29T12:34:56.789012Z"}, {"c": null}]`},
	{"struct", structType, `[{"c": {"a": 1, "b": "x"}}, {"c": null}, {"c": {"a": null, "b": "y"}}]`},
	{"list", listType, `[{"c": [1, 2, 3]}, {"c": null}, {"c": []}, {"c": [null, 4]}]`},
	{"map", mapType, `[{"c": [{"key": "a", "value": 1}, {"key": "b", "value": null}]}, {"c": null}, {"c": []}]`},
	{"all null", arrow.PrimitiveTypes.Int64, `[{"c": null}, {"c": null}]`},
}

// TestRoundTripTypes sends one record per type to the JVM and reads it back: same schema, same
// values, read in place from the arena.
func TestRoundTripTypes(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 << 20})
	defer s.Close()
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			want := fromJSON(t, tc.dt, tc.rows)
			defer want.Release()
			schema, got := roundTrip(t, s, want)
			if !schema.Equal(want.Schema()) {
				t.Fatalf("schema %v, want %v", schema, want.Schema())
			}
			if len(got) != 1 || !array.RecordEqual(got[0], want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// TestRoundTripAllColumns sends one record with a column of every type at once, as a table of two
// chunks, and a zero-row batch and an empty table.
func TestRoundTripAllColumns(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 << 20})
	defer s.Close()
	var fields []arrow.Field
	var cols []arrow.Array
	for _, tc := range typeCases {
		r := fromJSON(t, tc.dt, tc.rows)
		col := array.NewSlice(r.Column(0), 0, 2) // every case has two rows or more
		r.Release()
		fields = append(fields, arrow.Field{Name: tc.name, Type: tc.dt, Nullable: true})
		cols = append(cols, col)
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, cols, 2)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	table := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec, rec})
	defer table.Release()

	gotSchema, got := roundTrip(t, s, table)
	if !gotSchema.Equal(schema) {
		t.Fatalf("schema %v, want %v", gotSchema, schema)
	}
	if len(got) != 2 || !array.RecordEqual(got[0], rec) || !array.RecordEqual(got[1], rec) {
		t.Fatalf("got %v", got)
	}

	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	_, got = roundTrip(t, s, empty)
	if len(got) != 1 || got[0].NumRows() != 0 || !got[0].Schema().Equal(schema) {
		t.Fatalf("zero-row batch came back as %v", got)
	}

	none := array.NewTableFromRecords(schema, nil)
	defer none.Release()
	gotSchema, got = roundTrip(t, s, none)
	if len(got) != 0 || !gotSchema.Equal(schema) {
		t.Fatalf("empty table came back as %v, %v", gotSchema, got)
	}
}

// spanOf finds the arena span a buffer of a received array lies in, through its parents (the body
// slice, then the span's own buffer); -1 if it is not in the arena.
func spanOf(a *arena, b *memory.Buffer) int64 {
	for b.Parent() != nil {
		b = b.Parent()
	}
	p := unsafe.Pointer(unsafe.SliceData(b.Bytes()))
	if !a.contains(p, b.Len()) {
		return -1
	}
	return int64(uintptr(p)-uintptr(unsafe.Pointer(unsafe.SliceData(a.mem)))) - spanHeader
}

func stateWord(a *arena, off int64) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&a.mem[off])))
}

// TestSendsShareOneCallback: every Send of a session goes through its one KeyedBatchSource
// callback, and a stream read to its end leaves nothing behind in Go (a callback per Send grew
// client and server with every transfer, since a callback id lives as long as its session).
func TestSendsShareOneCallback(t *testing.T) {
	s := New(jvm(t), Options{ArenaBytes: 4 << 20})
	defer s.Close()
	want := fromJSON(t, arrow.PrimitiveTypes.Int64, `[{"c": 1}, {"c": 2}, {"c": null}, {"c": 4}]`)
	defer want.Release()
	roundTrip(t, s, want)
	first := s.sources
	for range 50 {
		if _, got := roundTrip(t, s, want); len(got) != 1 || !array.RecordEqual(got[0], want) {
			t.Fatalf("got %v", got)
		}
	}
	if s.sources != first || first.cb == nil {
		t.Fatal("a Send made a callback of its own")
	}
	if n := first.streams(); n != 0 {
		t.Fatalf("%d streams read to their end are still held", n)
	}
}
