package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/gatunarrow"
)

// Orders is the generated fact table: order ids 1..orderCount, region id % 4 and amount id % 10.
const orderCount = 1000

// regionsSQL is the small inline dimension table, as Spark SQL VALUES.
const regionsSQL = `SELECT * FROM VALUES (0, 'north'), (1, 'east'), (2, 'south'), (3, 'west') AS regions(region_id, name)`

// reportSQL joins the two and aggregates per region.
const reportSQL = `SELECT r.name AS region, COUNT(*) AS orders, SUM(o.amount) AS revenue, MAX(o.amount) AS largest
FROM orders o JOIN regions r ON o.region_id = r.region_id
GROUP BY r.name
ORDER BY revenue DESC, region`

// salesReport builds the two tables through Spark's Java API (Dataset from SparkSession.range and
// selectExpr; a SQL VALUES table), registers them as views, runs reportSQL with spark.sql and
// collects the result as Arrow record batches through arrow's arena.
func salesReport(ctx context.Context, spark *gatun.Object, arrow *gatunarrow.Session) (*table, error) {
	ids, err := gatun.As[*gatun.Object](spark.Call(ctx, "range", int64(1), int64(orderCount+1)))
	if err != nil {
		return nil, fmt.Errorf("spark.range: %w", err)
	}
	defer ids.Release()
	// selectExpr(String...) is Java varargs: the server packs the trailing arguments.
	orders, err := gatun.As[*gatun.Object](ids.Call(ctx, "selectExpr",
		"id AS order_id", "CAST(id % 4 AS INT) AS region_id", "CAST(id % 10 AS DOUBLE) AS amount"))
	if err != nil {
		return nil, fmt.Errorf("selectExpr: %w", err)
	}
	defer orders.Release()
	regions, err := gatun.As[*gatun.Object](spark.Call(ctx, "sql", regionsSQL))
	if err != nil {
		return nil, fmt.Errorf("spark.sql(regions): %w", err)
	}
	defer regions.Release()
	for name, df := range map[string]*gatun.Object{"orders": orders, "regions": regions} {
		if _, err := df.Call(ctx, "createOrReplaceTempView", name); err != nil {
			return nil, fmt.Errorf("createOrReplaceTempView(%s): %w", name, err)
		}
	}
	report, err := gatun.As[*gatun.Object](spark.Call(ctx, "sql", reportSQL))
	if err != nil {
		return nil, fmt.Errorf("spark.sql(report): %w", err)
	}
	defer report.Release()
	return collect(ctx, report, arrow)
}

// table is a collected result: column names and rows of Go values (int64, float64, string, ...,
// as arrow-go's arrays give them out), and how many Arrow record batches carried them.
type table struct {
	columns []string
	rows    [][]any
	batches int
}

// collect runs the Dataset and reads its result as Arrow record batches, the way PySpark's
// toPandas() does over Gatun: dev.gatun.spark.ArrowBatchCollector runs the Spark job (Spark's own
// Arrow conversion on the executors), its exporter copies each batch into a span of the session's
// arena as Go pulls it, and Go reads the batch there in place (package gatunarrow). result() then
// throws the job's failure, if any.
func collect(ctx context.Context, df *gatun.Object, arrow *gatunarrow.Session) (*table, error) {
	cls, err := df.Client().Class(ctx, "dev.gatun.spark.ArrowBatchCollector")
	if err != nil {
		return nil, err
	}
	collector, err := gatun.As[*gatun.Object](cls.Call(ctx, "start", df))
	if err != nil {
		return nil, fmt.Errorf("ArrowBatchCollector.start: %w", err)
	}
	defer collector.Release()
	arena, err := arrow.JavaArena(ctx)
	if err != nil {
		return nil, err
	}
	exporter, err := gatun.As[*gatun.Object](collector.Call(ctx, "exporter", arena))
	if err != nil {
		return nil, fmt.Errorf("ArrowBatchCollector.exporter: %w", err)
	}
	if exporter == nil { // the job ended before it had a schema: result() says why
		if _, err := collector.Call(ctx, "result"); err != nil {
			return nil, fmt.Errorf("the Spark job: %w", err)
		}
		return nil, fmt.Errorf("the Spark job ended without a result")
	}
	defer exporter.Release()
	schema, recs, err := arrow.Records(ctx, exporter)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	if _, err := collector.Call(ctx, "result"); err != nil {
		return nil, fmt.Errorf("the Spark job: %w", err)
	}
	t := &table{batches: len(recs)}
	for _, f := range schema.Fields() {
		t.columns = append(t.columns, f.Name)
	}
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			values := make([]any, rec.NumCols())
			for j, col := range rec.Columns() {
				// The Go value of one cell (nil for null). A string from arrow-go views the record's
				// buffer, here the arena: it is cloned to outlive the record's release.
				values[j] = col.GetOneForMarshal(i)
				if str, ok := values[j].(string); ok {
					values[j] = strings.Clone(str)
				}
			}
			t.rows = append(t.rows, values)
		}
	}
	return t, nil
}

// print writes the table with aligned columns (numbers right-aligned).
func (t *table) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) {
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	line(t.columns)
	rule := make([]string, len(t.columns))
	for i, c := range t.columns {
		rule[i] = strings.Repeat("-", len(c))
	}
	line(rule)
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = format(v)
		}
		line(cells)
	}
	return tw.Flush()
}

func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprint(x)
	}
}
