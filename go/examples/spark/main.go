// Command spark runs Spark SQL from Go: it starts a local Spark driver JVM with Gatun's server
// inside (spark-submit with dev.gatun.spark.SparkGatewayMain, as PySpark over Gatun does), builds
// a SparkSession through Spark's Java API, runs a join and group-by query, reads the result as Arrow
// record batches from shared memory and prints it.
// No Spark Connect server is involved. Run it from go/ after `make venv` (or with SPARK_HOME set
// and GATUN_SPARK_JAR pointing at gatun-spark.jar):
//
//	go run ./examples/spark [-master local[2]]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/gatunarrow"
)

func main() {
	master := flag.String("master", "local[*]", "Spark master URL")
	sparkHome := flag.String("spark-home", "", "Spark installation (default: $SPARK_HOME, else the installed pyspark)")
	jar := flag.String("jar", "", "gatun-spark.jar (default: $GATUN_SPARK_JAR, else next to gatun-server.jar)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, driverOptions{SparkHome: *sparkHome, GatewayJar: *jar}, *master, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run starts the driver, runs the report and prints it; the driver stops when it returns.
func run(ctx context.Context, o driverOptions, master string, out io.Writer) error {
	t0 := time.Now()
	client, err := startDriver(ctx, o)
	if err != nil {
		return err
	}
	defer client.Close()
	spark, err := newSession(ctx, client, master, smallJobConf)
	if err != nil {
		return err
	}
	defer stopSession(client, spark)
	fmt.Fprintf(out, "Spark driver (pid %d) and session ready in %v\n", client.ServerPID(), time.Since(t0).Round(time.Millisecond))
	arrow := gatunarrow.New(client, gatunarrow.Options{})
	defer arrow.Close()
	t1 := time.Now()
	report, err := salesReport(ctx, spark, arrow)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n\n", reportSQL)
	if err := report.print(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d rows from %d Arrow record batch(es) in %v\n", len(report.rows), report.batches,
		time.Since(t1).Round(time.Millisecond))
	return nil
}

// smallJobConf suits a small local job: no web UI, and few shuffle partitions (the default 200
// would make a thousand-row group-by spend its time scheduling empty tasks).
var smallJobConf = map[string]string{
	"spark.ui.enabled":             "false",
	"spark.sql.shuffle.partitions": "4",
}

// stopSession stops the SparkSession (its SparkContext) before the driver exits.
func stopSession(c *gatun.Client, spark *gatun.Object) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := spark.Call(ctx, "stop"); err != nil {
		log.Printf("stopping the SparkSession: %v", err)
	}
	spark.Release()
}
