package dev.gatun.spark;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Makes the SparkConf of a driver started over Gatun what stock spark-submit makes for a PySpark
 * driver. Stock recognises PySpark by its primary resource ({@code pyspark-shell} or a {@code .py}
 * file); over Gatun the primary resource is gatun-spark.jar and the main class ours, so spark-submit
 * treats the driver as a Java application: it names the app after our main class and ships our jar
 * to every executor ({@code spark.jars}), which PySpark's own driver never does (checked against
 * spark-submit 4.3.0: the shell gets {@code spark.app.name=pyspark-shell} and no {@code spark.jars}).
 * The driver needs no executor to have our jar: its classes run in the driver only.
 *
 * <p>Runs first in the driver's main, before anything reads the system properties spark-submit
 * set; a user's own name or jars are left as they are.
 */
final class StockDriverConf {
    private StockDriverConf() {
    }

    /**
     * @param conf the driver's system properties
     * @param ourMain the main class spark-submit was given (its name is the app name it defaulted to)
     * @param stockName the name stock gives this kind of driver when the user gives none
     * @param ownJar gatun-spark.jar as the JVM loaded it; null when unknown (nothing is removed)
     */
    static void apply(Properties conf, Class<?> ourMain, String stockName, Path ownJar) {
        if (ourMain.getName().equals(conf.getProperty("spark.app.name"))) {
            conf.setProperty("spark.app.name", stockName);
        }
        String jars = conf.getProperty("spark.jars");
        if (jars == null || ownJar == null) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String entry : jars.split(",")) {
            if (!entry.isBlank() && !sameFile(entry.trim(), ownJar)) {
                kept.add(entry.trim());
            }
        }
        if (kept.isEmpty()) {
            conf.remove("spark.jars");
        } else {
            conf.setProperty("spark.jars", String.join(",", kept));
        }
    }

    /** The jar this class was loaded from, or null when the JVM does not say. */
    static Path ownJar() {
        try {
            return Path.of(StockDriverConf.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            return null;
        }
    }

    private static boolean sameFile(String entry, Path jar) {
        try {
            URI uri = URI.create(entry);
            Path p = uri.getScheme() == null ? Path.of(entry)
                    : "file".equals(uri.getScheme()) ? Path.of(uri) : null;
            return p != null && p.toAbsolutePath().normalize().equals(jar.toAbsolutePath().normalize());
        } catch (RuntimeException e) {
            return false; // not a path we can read: the user's, kept
        }
    }
}
