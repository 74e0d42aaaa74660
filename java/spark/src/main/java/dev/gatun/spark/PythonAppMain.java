package dev.gatun.spark;

import dev.gatun.server.GatunServer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The driver's main class for {@code spark-submit app.py} over Gatun ({@code python -m gatun.submit}
 * builds the command): {@code spark-submit [options] --class dev.gatun.spark.PythonAppMain
 * gatun-spark.jar app.py [app arguments]}. It plays the part of Spark's {@code PythonRunner}: starts
 * the Gatun server in the driver JVM, runs the Python application with {@value #ATTACH_ENV} pointing
 * at the server's connection info, and ends the driver with the application's exit status.
 *
 * <p>What the application sees is what {@code PythonRunner} (Spark 4.3) gives it: the interpreter
 * from {@code spark.pyspark.driver.python}, {@code spark.pyspark.python}, {@code PYSPARK_DRIVER_PYTHON},
 * {@code PYSPARK_PYTHON}, else {@code python3}; the {@code --py-files} (which spark-submit puts in
 * {@code spark.submit.pyFiles}) on {@code PYTHONPATH}, a {@code .py} file through a directory holding
 * a copy of it; {@code PYTHONUNBUFFERED}, {@code MASTER}, {@code PYSPARK_PYTHON} from the conf; its
 * stderr merged into the driver's stdout. Unlike {@code PythonRunner}, the application's stdin is the
 * driver's, so it can read input.
 */
public final class PythonAppMain {
    /** Where the application finds the server: the connection info file (read by gatun.pyspark). */
    public static final String ATTACH_ENV = "GATUN_GATEWAY_INFO";

    static final String NO_PY4J = "no Py4J gateway: install gatun in the driver's Python "
            + "or set PYSPARK_DRIVER_PYTHON to one that has it";

    private PythonAppMain() {
    }

    public static void main(String[] args) {
        if (args.length > 0) {
            // Stock names a Python application after its file, as spark-submit app.py does.
            StockDriverConf.apply(System.getProperties(), PythonAppMain.class, args[0].substring(args[0].lastIndexOf('/') + 1));
        }
        SparkGatewayMain.addSqlExtension(System.getProperties(), SparkLine.UDF_EXTENSIONS);
        System.exit(run(args, System.getProperties(), System.getenv(), System.out, System.err));
    }

    /**
     * Runs the application {@code args[0]} with arguments {@code args[1..]} against a Gatun server
     * configured from {@code conf}; returns its exit status (2 for a bad command line or configuration).
     */
    static int run(String[] args, Properties conf, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println("gatun: no Python application given: spark-submit [options] --class "
                    + PythonAppMain.class.getName() + " gatun-spark.jar app.py [app arguments]");
            return 2;
        }
        String app;
        List<String> pyFiles = new ArrayList<>();
        GatunServer server;
        try {
            app = localPath(args[0]);
            for (String f : conf.getProperty("spark.submit.pyFiles", "").split(",")) {
                if (!f.isBlank()) {
                    pyFiles.add(localPath(f.strip()));
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("gatun: " + e.getMessage());
            return 2;
        }
        try {
            server = SparkGatewayMain.configure(conf).build();
        } catch (IllegalArgumentException e) {
            err.println("gatun: bad Gatun configuration in the SparkConf: " + e.getMessage());
            return 2;
        }
        Path work = null;
        try {
            work = Files.createTempDirectory("gatun-submit-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path info = work.resolve("connection.json");
            server.start();
            server.writeConnectionInfo(info);
            ProcessBuilder pb = new ProcessBuilder(command(conf, env, app, args));
            setEnvironment(pb.environment(), conf, env, pythonPath(pyFiles, work, env), info);
            pb.redirectErrorStream(true);
            pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
            Process python;
            try {
                python = pb.start();
            } catch (IOException e) {
                err.println("gatun: cannot run the Python driver " + pb.command().get(0) + ": " + e.getMessage()
                        + " (set spark.pyspark.driver.python or PYSPARK_DRIVER_PYTHON to a Python with gatun and pyspark)");
                return 1;
            }
            Thread copier = new Thread(() -> copy(python.getInputStream(), out), "gatun-app-output");
            copier.setDaemon(true);
            copier.start();
            int status = python.waitFor();
            copier.join();
            return status;
        } catch (IOException | RuntimeException e) {
            err.println("gatun: cannot start the Gatun server in the Spark driver: " + e);
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            server.close();
            deleteTree(work);
        }
    }

    private static List<String> command(Properties conf, Map<String, String> env, String app, String[] args) {
        String python = firstSet("python3", conf.getProperty("spark.pyspark.driver.python"),
                conf.getProperty("spark.pyspark.python"), env.get("PYSPARK_DRIVER_PYTHON"), env.get("PYSPARK_PYTHON"));
        List<String> cmd = new ArrayList<>();
        cmd.add(python);
        cmd.add(app);
        cmd.addAll(Arrays.asList(args).subList(1, args.length));
        return cmd;
    }

    private static void setEnvironment(Map<String, String> child, Properties conf, Map<String, String> env,
                                       String pythonPath, Path info) {
        child.put("PYTHONPATH", pythonPath);
        child.put("PYTHONUNBUFFERED", "YES");
        child.put(ATTACH_ENV, info.toString());
        child.put("GATUN_PYSPARK", "1");
        // Read only by PySpark's own launch_gateway, i.e. when GATUN_PYSPARK=1 found no gatun in
        // this Python: it then fails on this value (int() quotes it) instead of quietly starting a
        // second driver over Py4J.
        child.put("PYSPARK_GATEWAY_PORT", NO_PY4J);
        child.remove("PYSPARK_GATEWAY_SECRET");
        String master = conf.getProperty("spark.master");
        if (master != null) {
            child.put("MASTER", master);
        }
        String executorPython = conf.getProperty("spark.pyspark.python");
        if (executorPython != null) {
            child.put("PYSPARK_PYTHON", executorPython);
        }
        // As PythonRunner does (SPARK-28843): numpy/pandas thread pools sized to the driver's cores.
        String cores = conf.getProperty("spark.driver.cores");
        if (cores != null && conf.getProperty("spark.yarn.appMasterEnv.OMP_NUM_THREADS") == null
                && conf.getProperty("spark.kubernetes.driverEnv.OMP_NUM_THREADS") == null) {
            child.put("OMP_NUM_THREADS", cores);
        }
    }

    /**
     * The application's PYTHONPATH: the py-files (a {@code .py} file is not importable from the path
     * itself, so it goes in through a private directory holding a copy), SPARK_HOME's Python
     * libraries when it is a Spark distribution, then the inherited PYTHONPATH.
     */
    private static String pythonPath(List<String> pyFiles, Path work, Map<String, String> env) throws IOException {
        List<String> path = new ArrayList<>();
        Path copies = work.resolve("py-files");
        for (String f : pyFiles) {
            if (f.endsWith(".py")) {
                Files.createDirectories(copies);
                Path source = Path.of(f);
                Files.copy(source, copies.resolve(source.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                if (!path.contains(copies.toString())) {
                    path.add(copies.toString());
                }
            } else {
                path.add(f);
            }
        }
        String home = env.get("SPARK_HOME");
        if (home != null) {
            File lib = new File(home, "python/lib");
            File[] zips = lib.listFiles((d, name) -> name.equals("pyspark.zip") || name.matches("py4j-.*-src\\.zip"));
            if (zips != null) {
                Arrays.sort(zips);
                for (File z : zips) {
                    path.add(z.getPath());
                }
            }
        }
        String inherited = env.get("PYTHONPATH");
        if (inherited != null && !inherited.isEmpty()) {
            path.add(inherited);
        }
        return String.join(File.pathSeparator, path);
    }

    /** A local file path from a path or a file:/local: URI; anything remote is refused, as by spark-submit. */
    static String localPath(String spec) {
        URI uri;
        try {
            uri = new URI(spec);
        } catch (URISyntaxException e) {
            return spec;
        }
        String scheme = uri.getScheme();
        if (scheme == null) {
            return spec;
        }
        if ((scheme.equals("file") || scheme.equals("local")) && uri.getPath() != null) {
            return uri.getPath();
        }
        throw new IllegalArgumentException("Python applications and --py-files must be local files, not " + spec);
    }

    private static String firstSet(String fallback, String... values) {
        for (String v : values) {
            if (v != null && !v.isEmpty()) {
                return v;
            }
        }
        return fallback;
    }

    private static void copy(InputStream in, OutputStream out) {
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // the application's end closed: nothing more to copy
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: the directory is private and temporary
        }
    }
}
