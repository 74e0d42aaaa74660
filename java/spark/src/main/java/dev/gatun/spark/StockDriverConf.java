package dev.gatun.spark;

import java.util.Properties;

/**
 * Makes the SparkConf of a driver started over Gatun what stock spark-submit makes for a PySpark
 * driver, where the difference shows. Stock recognises PySpark by its primary resource
 * ({@code pyspark-shell} or a {@code .py} file); over Gatun the primary resource is gatun-spark.jar
 * and the main class ours, so spark-submit names the app after our main class where stock names it
 * {@code pyspark-shell} (checked against spark-submit 4.3.0), or after the {@code .py} file.
 *
 * <p>spark-submit also ships the primary resource to every executor ({@code spark.jars}), which
 * stock's PySpark driver has nothing to ship; that stays: toPandas's partition function
 * ({@code ArrowBatchCollector}) runs on the executors and needs our classes there.
 *
 * <p>Runs first in the driver's main, before anything reads the system properties spark-submit
 * set; a user's own name is left as it is.
 */
final class StockDriverConf {
    private StockDriverConf() {
    }

    /**
     * @param conf the driver's system properties
     * @param ourMain the main class spark-submit was given (its name is the app name it defaulted to)
     * @param stockName the name stock gives this kind of driver when the user gives none
     */
    static void apply(Properties conf, Class<?> ourMain, String stockName) {
        if (ourMain.getName().equals(conf.getProperty("spark.app.name"))) {
            conf.setProperty("spark.app.name", stockName);
        }
    }
}
