package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatun-project/gatun/go/gatun"
	"github.com/gatun-project/gatun/go/internal/locate"
)

// gatewayMain is the Spark driver's main class that hosts the Gatun server (java/spark); it reads
// the connection info path from gatun.DefaultInfoFileEnv and exits when its stdin closes.
const gatewayMain = "dev.gatun.spark.SparkGatewayMain"

// driverOptions say which Spark and which Gatun jar to run; empty fields are looked for.
type driverOptions struct {
	// SparkHome has bin/spark-submit and jars/; default $SPARK_HOME, else the installed pyspark.
	SparkHome string
	// GatewayJar is gatun-spark.jar; default $GATUN_SPARK_JAR, else next to the server jar.
	GatewayJar string
	// SubmitArgs go to spark-submit before --class (e.g. "--driver-memory", "2g").
	SubmitArgs []string
}

// findSparkHome returns a Spark installation: $SPARK_HOME when it has bin/spark-submit, else the
// pyspark package of the repository's .venv or of python3 (pip's pyspark ships bin/ and jars/).
func findSparkHome(ctx context.Context) (string, error) {
	var tried []string
	if home := os.Getenv("SPARK_HOME"); home != "" {
		if isSparkHome(home) {
			return home, nil
		}
		tried = append(tried, "SPARK_HOME="+home+" has no bin/spark-submit or jars/")
	}
	for _, py := range locate.Pythons(locate.RepoRoot()) {
		dir, err := locate.PythonPackageDir(ctx, py, "pyspark")
		if err != nil {
			tried = append(tried, fmt.Sprintf("pyspark via %s: %v", py, err))
			continue
		}
		if isSparkHome(dir) {
			return dir, nil
		}
		tried = append(tried, fmt.Sprintf("pyspark at %s has no bin/spark-submit or jars/", dir))
	}
	return "", fmt.Errorf("no Spark installation found (%s): set SPARK_HOME or `pip install pyspark`",
		strings.Join(tried, "; "))
}

func isSparkHome(dir string) bool {
	submit, err1 := os.Stat(filepath.Join(dir, "bin", "spark-submit"))
	jars, err2 := os.Stat(filepath.Join(dir, "jars"))
	return err1 == nil && err2 == nil && submit.Mode().IsRegular() && jars.IsDir()
}

// findGatewayJar returns gatun-spark.jar: $GATUN_SPARK_JAR, else the file next to the server jar
// (`make jar` puts both in python/gatun/jars/, as the Python package installs them).
func findGatewayJar(ctx context.Context) (string, error) {
	if j := os.Getenv("GATUN_SPARK_JAR"); j != "" {
		if _, err := os.Stat(j); err != nil {
			return "", fmt.Errorf("GATUN_SPARK_JAR: %w", err)
		}
		return j, nil
	}
	repo := locate.RepoRoot()
	server, tried, err := locate.FindJar(ctx, "", repo, locate.Pythons(repo))
	if err != nil {
		return "", fmt.Errorf("gatun-spark.jar: %v (looked at: %s); run `make jar` or set GATUN_SPARK_JAR",
			err, strings.Join(tried, "; "))
	}
	j := filepath.Join(filepath.Dir(server.Path), "gatun-spark.jar")
	if _, err := os.Stat(j); err != nil {
		return "", fmt.Errorf("gatun-spark.jar is missing next to %s: run `make jar` or set GATUN_SPARK_JAR", server.Path)
	}
	return j, nil
}

// startDriver starts a Spark driver JVM with spark-submit, exactly as PySpark over Gatun does
// (python/gatun/pyspark.py): the driver's main class starts the Gatun server inside it and hands
// over its socket and token; the client talks to Spark's Java API in that JVM. Closing the client
// ends the driver.
func startDriver(ctx context.Context, o driverOptions) (*gatun.Client, error) {
	var err error
	if o.SparkHome == "" {
		if o.SparkHome, err = findSparkHome(ctx); err != nil {
			return nil, err
		}
	}
	if o.GatewayJar == "" {
		if o.GatewayJar, err = findGatewayJar(ctx); err != nil {
			return nil, err
		}
	}
	args := append(append([]string{}, o.SubmitArgs...), "--class", gatewayMain, o.GatewayJar)
	// SPARK_HOME is set so that pip's pyspark scripts need no Python to find themselves; classic
	// (not Spark Connect) mode, as PySpark's launcher asks.
	env := append(os.Environ(), "SPARK_HOME="+o.SparkHome, "SPARK_CONNECT_MODE=0")
	c, err := gatun.LaunchCommand(ctx, gatun.Command{
		Path:         filepath.Join(o.SparkHome, "bin", "spark-submit"),
		Args:         args,
		Env:          env,
		StartTimeout: 3 * time.Minute,
		StopTimeout:  30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the Spark driver: %w", err)
	}
	return c, nil
}

// newSession builds a SparkSession through Spark's Java API:
// SparkSession.builder().master(master).appName(...).config(k, v)....getOrCreate().
func newSession(ctx context.Context, c *gatun.Client, master string, conf map[string]string) (*gatun.Object, error) {
	cls, err := c.Class(ctx, "org.apache.spark.sql.SparkSession")
	if err != nil {
		return nil, err
	}
	b, err := gatun.As[*gatun.Object](cls.Call(ctx, "builder"))
	if err != nil {
		return nil, fmt.Errorf("SparkSession.builder(): %w", err)
	}
	steps := [][]any{{"master", master}, {"appName", "gatun-go-spark"}}
	for k, v := range conf {
		steps = append(steps, []any{"config", k, v})
	}
	for _, s := range steps {
		// Each builder method returns the builder itself: a new handle for the same Java object.
		next, err := gatun.As[*gatun.Object](b.Call(ctx, s[0].(string), s[1:]...))
		if err != nil {
			return nil, fmt.Errorf("SparkSession.Builder.%s: %w", s[0], err)
		}
		b.Release()
		b = next
	}
	defer b.Release()
	spark, err := gatun.As[*gatun.Object](b.Call(ctx, "getOrCreate"))
	if err != nil {
		return nil, fmt.Errorf("SparkSession.Builder.getOrCreate(): %w", err)
	}
	if spark == nil {
		return nil, errors.New("getOrCreate() returned null")
	}
	return spark, nil
}
