package main

// The commands that check for and run a server: doctor and serve.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatun-project/gatun/go/cmd/internal/doctor"
	"github.com/gatun-project/gatun/go/cmd/internal/serve"
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

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", `
Runs a standalone Gatun server JVM in the foreground:
  java [--jvm-arg ...] -cp gatun-server.jar:CP dev.gatun.server.GatunServerMain --info-file PATH ...
The server writes its connection info (socket path and session token) to PATH, mode 0600; once it
appears and a test session opens, this prints how clients attach:
  Python: GatunClient(info_file=PATH)      Go: gatun.ConnectInfoFile(ctx, PATH)
SIGINT (Ctrl-C) and SIGTERM are forwarded to the JVM, which closes its sessions and removes its
socket and shared-memory files; the info file is removed too. The JVM also exits if this process dies.`)
	var o serve.Options
	var jvmArgs stringList
	var classpath, allowlist string
	jar := fs.String("jar", "", "server jar (default: $GATUN_JAR, then the repository, then the Python package)")
	fs.StringVar(&o.Java, "java", "", "java executable (default: $JAVA_HOME/bin/java, else java on PATH)")
	fs.StringVar(&classpath, "classpath", "", "extra class path (jars/directories, ':'-separated) after the server jar")
	fs.StringVar(&o.InfoFile, "info-file", "", "where the server writes its connection info (required)")
	fs.StringVar(&o.SocketDir, "socket-dir", "", "directory for the socket (created 0700; default: a new private temp dir)")
	fs.StringVar(&allowlist, "allowlist", "", "classes clients may use, e.g. default,org.apache.spark.** (default: the server's)")
	fs.Int64Var(&o.RegionBytes, "region-bytes", 0, "shared-memory region size per channel (default: the server's, 4 MiB)")
	fs.Int64Var(&o.MaxMessageBytes, "max-message-bytes", 0, "largest message (default: the server's)")
	fs.BoolVar(&o.AllowShutdown, "allow-shutdown", false, "let a client stop the server")
	fs.Var(&jvmArgs, "jvm-arg", "argument for java before the main class, e.g. -Xmx2g (repeatable)")
	fs.DurationVar(&o.StartTimeout, "start-timeout", 60*time.Second, "how long the server may take to write its info file")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if o.InfoFile == "" {
		return usageErr(e, fs, "--info-file is required")
	}
	if o.RegionBytes < 0 || o.MaxMessageBytes < 0 {
		return usageErr(e, fs, "--region-bytes and --max-message-bytes must be positive")
	}
	o.JVMArgs = jvmArgs
	if classpath != "" {
		o.Classpath = filepath.SplitList(classpath)
	}
	if allowlist != "" {
		o.Allowlist = strings.Split(allowlist, ",")
	}
	java, err := locate.FindJava(o.Java)
	if err != nil {
		return err
	}
	o.Java = java.Path
	repo := locate.RepoRoot()
	if o.Jar, err = findJar(ctx, *jar, repo); err != nil {
		return err
	}
	return serve.Run(ctx, o, e.signals, e.stdout, e.stderr)
}
