package dev.gatun.spark;

import dev.gatun.server.Allowlist;
import dev.gatun.server.GatunServer;
import dev.gatun.server.GatunServerMain;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The Spark driver's main class when PySpark runs over Gatun: {@code spark-submit --class
 * dev.gatun.spark.SparkGatewayMain gatun-spark.jar}. It plays the part of Spark's
 * {@code PythonGatewayServer}: starts the server inside the driver JVM, hands its connection info
 * to Python through a private file, and ends the JVM when Python's end of stdin closes.
 *
 * <p>Configuration comes from the SparkConf, which spark-submit passes to the driver as system
 * properties: {@code spark.gatun.allowlist} (entries or {@code @file}; default
 * {@link #DEFAULT_ALLOWLIST}, which the word {@code spark-default} stands for among the entries), {@code spark.gatun.regionBytes}, {@code spark.gatun.maxMessageBytes},
 * {@code spark.gatun.warmUp} (requests the server makes to itself at start so the JIT has compiled
 * its request path before PySpark's calls arrive; 0 turns it off), {@code spark.gatun.waitPolicy}
 * (how channel threads wait for requests: {@code adaptive}, the default, {@code park} or
 * {@code spin:MICROS}; protocol §2.2).
 * The info file's path comes from the environment variable {@value #INFO_PATH_ENV}; if the server
 * cannot start, the reason goes to stderr and to that path plus {@value #ERROR_SUFFIX}.
 */
public final class SparkGatewayMain {
    /** Where Python wants the connection info (a path in a private directory it created). */
    public static final String INFO_PATH_ENV = "GATUN_CONN_INFO_PATH";

    /** Appended to the info path to name the file that says why the gateway did not start. */
    public static final String ERROR_SUFFIX = ".error";

    /** What PySpark needs beyond the standalone default (the audit, spec/security.md §4). */
    static final List<String> PYSPARK_NEEDS = List.of(
            "org.apache.spark.**", "scala.**",
            "org.apache.hadoop.conf.**", "org.apache.hadoop.fs.**", "org.apache.hadoop.io.**",
            "org.apache.hadoop.mapred.**", "org.apache.hadoop.mapreduce.**",
            // SparkSession.builder probes for Hive by constructing one.
            "org.apache.hadoop.hive.conf.HiveConf",
            "java.sql.*", "java.time.**", "java.io.File",
            // SparkContext.getSystemProperty and its temp-dir lookup; setSystemProperty (gated to
            // spark.* keys); RDD.saveAsTextFile's codec and ml.tuning (gated to allowed classes).
            "java.lang.System#getProperty", "java.lang.System#setProperty", "java.lang.Class#forName",
            // SparkContext's temp dir and the text of captured JVM exceptions.
            "org.apache.spark.util.Utils#getLocalDir", "org.apache.spark.util.Utils#createTempDir",
            "org.apache.spark.util.Utils#exceptionString",
            ArrowBatchCollector.class.getName(), ArrowBatchInbox.class.getName());

    /**
     * Known gadgets inside the admitted packages: each runs a process, exits the JVM, sets system
     * properties, loads or defines classes by name, reflects, deserializes, compiles or interprets
     * code. None is on a path PySpark takes. Class entries also cover the Scala companion
     * ({@code Utils$}); member denials also cover overrides and forwarders in subclasses.
     */
    static final List<String> GADGETS = List.of(
            // Processes, exit and system properties.
            "-scala.sys.**", "-scala.util.Properties", "-scala.util.PropertiesTrait",
            "-org.apache.spark.util.Utils", "-org.apache.spark.network.util.JavaUtils",
            "-org.apache.spark.deploy.**", "-org.apache.spark.launcher.**", "-org.apache.spark.api.r.**",
            "-org.apache.spark.rdd.PipedRDD", "-org.apache.spark.rdd.RDD#pipe",
            "-org.apache.spark.api.java.JavaRDDLike#pipe", "-org.apache.spark.SparkEnv#createPythonWorker",
            "-org.apache.spark.api.python.PythonWorkerFactory", "-org.apache.spark.api.python.PythonGatewayServer",
            "-org.apache.spark.udf.worker.**", "-org.apache.spark.TestUtils",
            "-org.apache.spark.sql.execution.BaseScriptTransformationExec",
            "-org.apache.spark.sql.execution.SparkScriptTransformationExec",
            "-org.apache.spark.sql.hive.execution.HiveScriptTransformationExec",
            "-org.apache.spark.sql.hive.thriftserver.**", "-org.apache.spark.util.SparkUncaughtExceptionHandler",
            "-org.apache.spark.util.SignalUtils",
            "-org.apache.hadoop.util.**", "-org.apache.hadoop.fs.FileUtil", "-org.apache.hadoop.fs.FsShell",
            "-org.apache.hadoop.fs.shell.**", "-org.apache.hadoop.mapred.pipes.**", "-org.apache.hadoop.ha.**",
            "-org.apache.hadoop.security.**", "-org.apache.hadoop.hive.ql.**", "-org.apache.hadoop.hive.common.**",
            "-org.apache.hive.**",
            // Class loading by name, class loaders, code that arrives as a jar or as source.
            "-org.apache.spark.util.SparkClassUtils", "-org.apache.spark.util.SparkSerDeUtils",
            "-org.apache.spark.util.SparkFileUtils", "-org.apache.spark.util.SparkTestUtils",
            "-org.apache.spark.util.MavenUtils", "-org.apache.spark.util.DependencyUtils",
            "-org.apache.spark.util.ClosureCleaner", "-org.apache.spark.util.IndylambdaScalaClosures",
            "-org.apache.spark.util.ChildFirstURLClassLoader", "-org.apache.spark.util.MutableURLClassLoader",
            "-org.apache.spark.util.ParentClassLoader", "-org.apache.spark.util.StubClassLoader",
            "-org.apache.spark.executor.ExecutorClassLoader", "-org.apache.spark.sql.hive.client.**",
            "-org.apache.spark.sql.catalyst.expressions.codegen.**", "-org.apache.spark.repl.**",
            "-org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry",
            "-org.apache.spark.SparkContext#addJar", "-org.apache.spark.api.java.JavaSparkContext#addJar",
            "-org.apache.hadoop.conf.Configuration#getClassByName",
            "-org.apache.hadoop.conf.Configuration#getClassByNameOrNull",
            "-org.apache.hadoop.conf.Configuration#getClasses",
            "-org.apache.hadoop.conf.Configuration#getInstances",
            "-org.apache.hadoop.conf.Configuration#getClassLoader",
            "-org.apache.hadoop.conf.Configuration#setClassLoader",
            // Reflection, interpreters and compilers (Scala's runtime universe, ToolBox, the REPL).
            "-scala.reflect.runtime.**", "-scala.reflect.internal.**", "-scala.reflect.api.**",
            "-scala.reflect.macros.**", "-scala.reflect.io.**", "-scala.reflect.reify.**",
            "-scala.reflect.quasiquotes.**", "-scala.reflect.package", "-scala.tools.**",
            "-scala.runtime.LambdaDeserializer", "-scala.runtime.LambdaDeserialize",
            "-scala.runtime.StructuralCallSite", "-scala.runtime.MethodCache", "-scala.runtime.ScalaRunTime#ensureAccessible",
            "-scala.compat.Platform",
            // Deserializers and readers of files or URLs by name.
            "-org.apache.spark.serializer.**", "-org.apache.hadoop.io.serializer.**",
            "-org.apache.hadoop.io.ObjectWritable", "-org.apache.hadoop.io.WritableFactories",
            "-scala.io.**", "-scala.xml.**",
            "-java.io.FileInputStream", "-java.io.FileOutputStream", "-java.io.RandomAccessFile",
            "-java.io.ObjectInputStream");

    /**
     * The standalone default widened to what PySpark reaches (the audit in spec/security.md §4):
     * Spark and Scala, the Hadoop packages its API hands out (configuration, file system, I/O and
     * the map-reduce formats), java.sql dates and timestamps, {@code java.io.File} (PySpark reads a
     * temporary directory's path from one), per-method entries for what PySpark calls on classes
     * that stay denied ({@code System.getProperty}, {@code System.setProperty} of {@code spark.*}
     * keys, {@code Class.forName} of allowed classes, three methods of Spark's {@code Utils}), and
     * Gatun's own helpers for PySpark's Arrow paths. Then {@link #GADGETS}: the process runners,
     * class loaders, load-by-name helpers, reflection and deserialization utilities, compilers and
     * shells inside those packages, denied. spec/security.md §3 says what the list still admits.
     */
    // Declared after the lists it joins: static fields initialize in order.
    public static final String DEFAULT_ALLOWLIST = String.join(",", sparkDefaults());

    private static List<String> sparkDefaults() {
        List<String> entries = new ArrayList<>();
        for (String e : Allowlist.DEFAULT_ENTRIES) {
            if (!e.equals("-java.io.**")) {
                entries.add(e);
            }
        }
        entries.addAll(PYSPARK_NEEDS);
        entries.addAll(GADGETS);
        return entries;
    }

    private SparkGatewayMain() {
    }

    public static void main(String[] args) {
        actAsPySparkShell(System.getProperties());
        System.exit(run(System.getProperties(), System.getenv(INFO_PATH_ENV), System.in));
    }

    /**
     * Does what stock Spark does for PySpark's driver, which it recognises by the primary resource
     * {@code pyspark-shell} and the main class {@code PythonGatewayServer}, neither of which this
     * driver has: the console progress bar on unless configured (spark-submit), structured logging
     * off, and Spark's shell log level (WARN unless log4j2 is configured otherwise), which
     * {@code PythonGatewayServer.main} sets first thing. Without it the driver logged at INFO, a
     * hundred lines at start-up and more per job, where stock prints a few. (Structured logging is
     * Spark 4's: {@link SparkLine}.) The app's default name: {@link StockDriverConf}.
     */
    static void actAsPySparkShell(Properties conf) {
        conf.putIfAbsent("spark.ui.showConsoleProgress", "true");
        StockDriverConf.apply(conf, SparkGatewayMain.class, "pyspark-shell");
        SparkLine.disableStructuredLogging();
        new org.apache.spark.SparkConf(false).initializeLogIfNecessary(true);
        addSqlExtension(conf, SparkLine.UDF_EXTENSIONS);
    }

    /**
     * Adds a session extension to {@code spark.sql.extensions}, after the user's own (from
     * spark-defaults.conf, --conf or the SparkConf: they all reach the driver as these properties
     * before PySpark builds its SparkConf from them), unless it is there already or null.
     * {@code spark.gatun.udf.arrowInput.enabled=false} turns the UDF extension off per session.
     */
    static void addSqlExtension(Properties conf, String extension) {
        if (extension == null) {
            return;
        }
        String current = conf.getProperty("spark.sql.extensions", "").trim();
        for (String name : current.split(",")) {
            if (name.trim().equals(extension)) {
                return;
            }
        }
        conf.setProperty("spark.sql.extensions", current.isEmpty() ? extension : current + "," + extension);
    }

    /** Starts the server, writes the info file, waits for stdin to close; returns the exit status. */
    static int run(Properties conf, String infoPath, InputStream stdin) {
        if (infoPath == null || infoPath.isEmpty()) {
            System.err.println("gatun: " + INFO_PATH_ENV + " is not set: this main class is started by "
                    + "gatun.pyspark (GATUN_PYSPARK=1), which sets it");
            return 2;
        }
        GatunServer server;
        try {
            server = configure(conf).build();
        } catch (IllegalArgumentException e) {
            fail(infoPath, "bad Gatun configuration in the SparkConf: " + e.getMessage());
            return 2;
        }
        try {
            server.start();
            server.writeConnectionInfo(Path.of(infoPath));
        } catch (IOException | RuntimeException e) {
            fail(infoPath, "cannot start the Gatun server in the Spark driver: " + e);
            server.close();
            return 1;
        }
        drain(stdin);
        server.close();
        return 0;
    }

    /**
     * Reports a failure on stderr and in {@code <info path>.error}, where gatun.pyspark reads it to
     * put the reason in its exception (the driver's stderr may be the user's terminal or a log).
     */
    private static void fail(String infoPath, String message) {
        System.err.println("gatun: " + message);
        try {
            Files.writeString(Path.of(infoPath + ERROR_SUFFIX), message + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            // stderr has the message already
        }
    }

    /**
     * The word in {@code spark.gatun.allowlist} (among its comma-separated entries or on a line of
     * an {@code @file}) that stands for {@link #DEFAULT_ALLOWLIST}, so that the classes of a user's
     * jar ({@code --jars}, {@code --packages}) can be added to the Spark list without writing it
     * out: {@code spark.gatun.allowlist=spark-default,com.example.**}. ({@code default} stays the
     * standalone server's default.)
     */
    public static final String SPARK_DEFAULT_WORD = "spark-default";

    /** {@code spark.gatun.allowlist} as the server's allowlist, {@value #SPARK_DEFAULT_WORD} expanded. */
    static Allowlist allowlist(String spec) {
        return Allowlist.parse(spec, java.util.Map.of(SPARK_DEFAULT_WORD, sparkDefaults()));
    }

    static GatunServer.Builder configure(Properties conf) {
        GatunServer.Builder b = GatunServer.builder()
                .allowlist(allowlist(conf.getProperty("spark.gatun.allowlist", DEFAULT_ALLOWLIST)))
                .classLoader(Thread.currentThread().getContextClassLoader());
        String region = conf.getProperty("spark.gatun.regionBytes");
        if (region != null) {
            b.regionBytes(parseLong("spark.gatun.regionBytes", region, "a number of bytes"));
        }
        String max = conf.getProperty("spark.gatun.maxMessageBytes");
        if (max != null) {
            b.maxMessageBytes(parseLong("spark.gatun.maxMessageBytes", max, "a number of bytes"));
        }
        String warmUp = conf.getProperty("spark.gatun.warmUp");
        b.warmUp(warmUp == null ? GatunServerMain.DEFAULT_WARM_UP
                : (int) Math.min(Integer.MAX_VALUE, parseLong("spark.gatun.warmUp", warmUp, "a number of requests")));
        String wait = conf.getProperty("spark.gatun.waitPolicy");
        if (wait != null) {
            try {
                b.waitPolicy(wait);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("spark.gatun.waitPolicy: " + e.getMessage(), e);
            }
        }
        return b;
    }

    private static long parseLong(String key, String value, String what) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be " + what + ", got '" + value + "'");
        }
    }

    private static void drain(InputStream in) {
        byte[] sink = new byte[256];
        try {
            while (in.read(sink) >= 0) {
                // only the end of the stream matters: Python has exited
            }
        } catch (IOException e) {
            // a broken stdin counts as closed
        }
    }
}
