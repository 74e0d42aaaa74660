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
 * {@link #DEFAULT_ALLOWLIST}), {@code spark.gatun.regionBytes}, {@code spark.gatun.maxMessageBytes},
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

    /**
     * What PySpark reaches: Spark and Scala, Hadoop (Hive and file-system configuration), java.sql
     * dates and timestamps its converters build, and {@code java.io.File} (SparkContext resolves
     * paths with it), on top of the standalone default, whose other denials (processes, class
     * loading, reflection, System) still hold. Gatun's own helpers for PySpark's Arrow paths are
     * allowed too: PySpark reaches them when Gatun is active.
     */
    public static final String DEFAULT_ALLOWLIST = String.join(",", sparkDefaults());

    private static List<String> sparkDefaults() {
        List<String> entries = new ArrayList<>();
        for (String e : Allowlist.DEFAULT_ENTRIES) {
            if (!e.equals("-java.io.**")) {
                entries.add(e);
            }
        }
        entries.addAll(List.of("org.apache.spark.**", "scala.**", "org.apache.hadoop.**", "java.sql.*",
                "java.time.**", "java.io.File", "-java.io.FileInputStream", "-java.io.FileOutputStream",
                "-java.io.RandomAccessFile", "-java.io.ObjectInputStream",
                ArrowBatchCollector.class.getName(), ArrowBatchInbox.class.getName()));
        return entries;
    }

    private SparkGatewayMain() {
    }

    public static void main(String[] args) {
        System.exit(run(System.getProperties(), System.getenv(INFO_PATH_ENV), System.in));
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

    static GatunServer.Builder configure(Properties conf) {
        String allow = conf.getProperty("spark.gatun.allowlist", DEFAULT_ALLOWLIST);
        GatunServer.Builder b = GatunServer.builder()
                .allowlist(Allowlist.parse(allow))
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
