package dev.gatun.spark.udf;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs {@code ColumnarArrowEncoderChecks} against the Spark that runs the encoder in production:
 * PySpark's own jars (4.3.0 here), in a class loader of their own. The module compiles against
 * Spark 4.2.0 from Maven Central with every transitive dependency excluded, which is enough to
 * compile but not to run ArrowWriter, the column vectors and Arrow's allocator.
 *
 * <p>The jars are found in -Dgatun.pyspark.jars (a directory), $SPARK_HOME/jars, or the
 * repository's .venv (what `make venv` installs). Without any of them the checks are skipped with
 * that reason (`make test` builds the venv first); a directory named explicitly that holds no Spark
 * 4 jars fails.
 */
class ColumnarArrowEncoderTest {
    @TestFactory
    Stream<DynamicTest> encoderMatchesSparksArrowWriter() throws Exception {
        Path jars = sparkJars();
        Assumptions.assumeTrue(jars != null, "no PySpark jars: set -Dgatun.pyspark.jars=DIR or SPARK_HOME, or run `make venv`");
        List<URL> urls = new ArrayList<>();
        Path testClasses = Path.of(ColumnarArrowEncoderTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        urls.add(testClasses.toUri().toURL());
        urls.add(testClasses.resolveSibling("classes").toUri().toURL());
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(jars, "*.jar")) {
            for (Path jar : dir) {
                urls.add(jar.toUri().toURL());
            }
        }
        // The platform loader as parent: neither the Maven class path's Spark 4.2 jars nor this
        // test's copy of the checks can be picked up instead of the isolated ones.
        ClassLoader isolated = new URLClassLoader("pyspark-jars", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        // By name: a class literal would load the checks here too, against the Maven class path.
        Class<?> checks = Class.forName("dev.gatun.spark.udf.ColumnarArrowEncoderChecks", true, isolated);
        Method[] methods = checks.getDeclaredMethods();
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        List<DynamicTest> tests = new ArrayList<>();
        for (Method m : methods) {
            if (Modifier.isPublic(m.getModifiers()) && Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0
                    && m.getReturnType() == void.class) {
                tests.add(DynamicTest.dynamicTest(m.getName(), () -> run(isolated, m)));
            }
        }
        assertTrue(tests.size() >= 5, "checks found: " + tests.size());
        return tests.stream();
    }

    private static void run(ClassLoader loader, Method m) throws Throwable {
        Thread t = Thread.currentThread();
        ClassLoader old = t.getContextClassLoader();
        t.setContextClassLoader(loader);
        try {
            m.invoke(null);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            t.setContextClassLoader(old);
        }
    }

    static Path sparkJars() throws IOException {
        String explicit = System.getProperty("gatun.pyspark.jars");
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit);
            if (!hasSpark4(p)) {
                throw new IllegalStateException("-Dgatun.pyspark.jars=" + explicit + " holds no spark-sql_2.13-4.* jar");
            }
            return p;
        }
        String sparkHome = System.getenv("SPARK_HOME");
        if (sparkHome != null && hasSpark4(Path.of(sparkHome, "jars"))) {
            return Path.of(sparkHome, "jars");
        }
        // java/spark is the module directory (surefire's working directory): the repository is two up.
        Path lib = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("../../.venv/lib").normalize();
        if (Files.isDirectory(lib)) {
            try (DirectoryStream<Path> pythons = Files.newDirectoryStream(lib, "python3*")) {
                for (Path py : pythons) {
                    Path p = py.resolve("site-packages/pyspark/jars");
                    if (hasSpark4(p)) {
                        return p;
                    }
                }
            }
        }
        return null;
    }

    private static boolean hasSpark4(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (DirectoryStream<Path> d = Files.newDirectoryStream(dir, "spark-sql_2.13-4.*.jar")) {
            return d.iterator().hasNext();
        }
    }
}
