package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatun-project/gatun/go/gatun"
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
// collects the result.
func salesReport(ctx context.Context, spark *gatun.Object) (*table, error) {
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
	return collect(ctx, report)
}

// table is a collected result: column names and rows of Go values (int64, float64, string, ...,
// as the protocol maps Java's boxed values).
type table struct {
	columns []string
	rows    [][]any
}

// collect runs the Dataset and reads its rows: collectAsList(), then Row.get(i) per value. This is
// the one place that moves result data; it becomes an Arrow record stream once the Arrow plane is
// in the client (see README.md).
func collect(ctx context.Context, df *gatun.Object) (*table, error) {
	cols, err := gatun.As[*gatun.Object](df.Call(ctx, "columns"))
	if err != nil {
		return nil, fmt.Errorf("columns(): %w", err)
	}
	defer cols.Release()
	n, err := cols.Len(ctx)
	if err != nil {
		return nil, err
	}
	names, err := cols.Slice(ctx, 0, n)
	if err != nil {
		return nil, err
	}
	t := &table{}
	for _, v := range names {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("a column name is a %T", v)
		}
		t.columns = append(t.columns, s)
	}
	list, err := gatun.As[*gatun.Object](df.Call(ctx, "collectAsList"))
	if err != nil {
		return nil, fmt.Errorf("collectAsList(): %w", err)
	}
	defer list.Release()
	size, err := gatun.As[int32](list.Call(ctx, "size"))
	if err != nil {
		return nil, err
	}
	for i := range size {
		row, err := gatun.As[*gatun.Object](list.Call(ctx, "get", i))
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		values := make([]any, len(t.columns))
		for j := range values {
			if values[j], err = row.Call(ctx, "get", int32(j)); err != nil {
				row.Release()
				return nil, fmt.Errorf("row %d, column %s: %w", i, t.columns[j], err)
			}
		}
		row.Release()
		t.rows = append(t.rows, values)
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
