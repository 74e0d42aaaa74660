package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gatun-project/gatun/go/internal/doctor"
	"github.com/gatun-project/gatun/go/internal/locate"
)

func runDoctor(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "doctor", `
Checks this machine for Gatun and prints OK / WARN / FAIL per check, with a fix for each problem:
java (JAVA_HOME, else PATH) and its version (17 or later), the server jar ($GATUN_JAR, the
repository's python/gatun/jars, or the installed Python package), that the jar starts and answers
java.lang.Math.max(1, 2), /dev/shm, the temp dir (0700 directories), Unix sockets, and a Spark
installation (SPARK_HOME or pyspark; a WARN only). Exit status 1 if any check FAILs.`)
	jar := fs.String("jar", "", "server jar to check (default: $GATUN_JAR, then the repository, then the Python package)")
	java := fs.String("java", "", "java executable (default: $JAVA_HOME/bin/java, else java on PATH)")
	timeout := fs.Duration("start-timeout", 60*time.Second, "how long the test server may take to start")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	repo := locate.RepoRoot()
	if repo != "" {
		fmt.Fprintf(e.stdout, "gatun doctor (repository %s)\n", repo)
	} else {
		fmt.Fprintln(e.stdout, "gatun doctor (not inside a Gatun checkout)")
	}
	checks := doctor.Run(ctx, doctor.Options{Java: *java, Jar: *jar, Repo: repo, StartTimeout: *timeout}, e.stdout)
	n := map[doctor.Status]int{}
	for _, c := range checks {
		n[c.Status]++
	}
	fmt.Fprintf(e.stdout, "%d OK, %d WARN, %d FAIL, %d skipped\n", n[doctor.OK], n[doctor.Warn], n[doctor.Fail], n[doctor.Skip])
	if n[doctor.Fail] > 0 {
		return fmt.Errorf("%d check(s) failed (see the fix lines above)", n[doctor.Fail])
	}
	return nil
}
