package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	arrowlib "github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gatun-project/gatun/go/gatunarrow"
)

// TestSalesReport runs the example's core against a real local Spark driver (one JVM): spark-submit
// with the Gatun gateway, a SparkSession built from Go, the query, the collected values. Without
// java, Spark or the jars it is skipped, unless GATUN_REQUIRE_JVM=1 (CI), where that fails.
func TestSalesReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var o driverOptions
	var missing error
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("JAVA_HOME") == "" {
		missing = err
	} else if o.SparkHome, missing = findSparkHome(ctx); missing == nil {
		o.GatewayJar, missing = findGatewayJar(ctx)
	}
	if missing != nil {
		if os.Getenv("GATUN_REQUIRE_JVM") == "1" {
			t.Fatalf("GATUN_REQUIRE_JVM=1 but: %v", missing)
		}
		t.Skip(missing)
	}
	t0 := time.Now()
	client, err := startDriver(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	spark, err := newSession(ctx, client, "local[2]", smallJobConf)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSession(client, spark)
	t.Logf("driver and session in %v", time.Since(t0))

	arrow := gatunarrow.New(client, gatunarrow.Options{ArenaBytes: 4 << 20})
	defer arrow.Close()
	t1 := time.Now()
	got, err := salesReport(ctx, spark, arrow)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("query in %v", time.Since(t1))

	// Other data through the arena now reuses the spans the result came in: the table must not
	// view them any more (its strings were cloned out).
	overwrite(ctx, t, arrow)

	// The same report computed in Go from the definitions of the two tables.
	names := []string{"north", "east", "south", "west"}
	type agg struct {
		orders           int64
		revenue, largest float64
	}
	want := map[string]*agg{}
	for id := int64(1); id <= orderCount; id++ {
		a := want[names[id%4]]
		if a == nil {
			a = &agg{}
			want[names[id%4]] = a
		}
		amount := float64(id % 10)
		a.orders++
		a.revenue += amount
		a.largest = max(a.largest, amount)
	}
	if want := []string{"region", "orders", "revenue", "largest"}; strings.Join(got.columns, ",") != strings.Join(want, ",") {
		t.Fatalf("columns %v, want %v", got.columns, want)
	}
	if got.batches == 0 {
		t.Errorf("no Arrow record batch carried the %d rows", len(got.rows))
	}
	if len(got.rows) != len(want) {
		t.Fatalf("%d rows, want %d: %v", len(got.rows), len(want), got.rows)
	}
	for i, r := range got.rows {
		region, ok := r[0].(string)
		w := want[region]
		if !ok || w == nil {
			t.Fatalf("row %d: region %#v", i, r[0])
		}
		// COUNT is an Arrow int64 column, SUM and MAX of a double column float64: int64 and float64 here.
		if r[1] != w.orders || r[2] != w.revenue || r[3] != w.largest {
			t.Errorf("row %s = %#v, want %d, %v, %v", region, r[1:], w.orders, w.revenue, w.largest)
		}
		if i > 0 {
			prev := got.rows[i-1]
			if prev[2].(float64) < r[2].(float64) || (prev[2] == r[2] && prev[0].(string) > region) {
				t.Errorf("rows out of order (revenue DESC, region): %v before %v", prev, r)
			}
		}
	}
	var out bytes.Buffer
	if err := got.print(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2+len(want) || !strings.Contains(lines[0], "revenue") || !strings.Contains(lines[2], "1250.00") {
		t.Errorf("printed table:\n%s", out.String())
	}
}

// overwrite sends 12 MiB of strings to the JVM and reads them back through the 4 MiB arena.
func overwrite(ctx context.Context, t *testing.T, s *gatunarrow.Session) {
	t.Helper()
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for range 1_000_000 { // 12 MiB: more than the arena, so every span is reused
		b.Append("~~~~~~~~")
	}
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrowlib.NewSchema([]arrowlib.Field{{Name: "s", Type: arrowlib.BinaryTypes.String}}, nil),
		[]arrowlib.Array{col}, int64(col.Len()))
	col.Release()
	defer rec.Release()
	jr, err := s.Send(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Release()
	tbl, err := s.Table(ctx, jr)
	if err != nil {
		t.Fatal(err)
	}
	tbl.Release()
}
