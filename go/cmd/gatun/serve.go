package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatun-project/gatun/go/internal/locate"
	"github.com/gatun-project/gatun/go/internal/serve"
)

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
