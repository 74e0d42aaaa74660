package gatunarrow_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/gatunarrow"
)

// A record batch to the JVM and back through the session's shared-memory arena: Send gives Java
// an ArrowReader over the batch, Table reads what a Java ArrowReader holds, in place.
func ExampleSession_Send() {
	ctx := context.Background()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{}) // gatun-arrow.jar lies next to $GATUN_JAR
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	s := gatunarrow.New(client, gatunarrow.Options{})
	defer s.Close()

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	reader, err := s.Send(ctx, rec) // a Java org.apache.arrow.vector.ipc.ArrowReader
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Release()
	table, err := s.Table(ctx, reader) // the JVM reads the batch and hands it back
	if err != nil {
		log.Fatal(err)
	}
	defer table.Release()
	fmt.Println(table.NumRows(), "rows:", table.Schema().Field(0).Name, table.Schema().Field(1).Name)
	ids := table.Column(0).Data().Chunk(0).(*array.Int64)
	fmt.Println(ids.Int64Values())
	// Output:
	// 3 rows: id name
	// [1 2 3]
}
