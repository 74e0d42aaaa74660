package dev.gatun.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class StockDriverConfTest {
    private static final Path JAR = Path.of("/opt/gatun/jars/gatun-spark.jar");

    private static Properties conf(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void theDefaultedNameAndOurJarBecomeWhatStockHas() {
        Properties p = conf("spark.app.name", SparkGatewayMain.class.getName(), "spark.jars", "file:" + JAR);
        StockDriverConf.apply(p, SparkGatewayMain.class, "pyspark-shell", JAR);
        assertEquals("pyspark-shell", p.getProperty("spark.app.name"));
        assertFalse(p.containsKey("spark.jars"));
    }

    @Test
    void theUsersNameAndJarsStay() {
        Properties p = conf("spark.app.name", "nightly-etl",
                "spark.jars", "file:/home/u/udfs.jar," + JAR + ",hdfs:/libs/x.jar,local:/opt/gatun/jars/gatun-spark.jar");
        StockDriverConf.apply(p, SparkGatewayMain.class, "pyspark-shell", JAR);
        assertEquals("nightly-etl", p.getProperty("spark.app.name"));
        // local: is a path on every node, not ours to drop; only our own file goes.
        assertEquals("file:/home/u/udfs.jar,hdfs:/libs/x.jar,local:/opt/gatun/jars/gatun-spark.jar",
                p.getProperty("spark.jars"));
    }

    @Test
    void anUnknownJarLocationRemovesNothing() {
        Properties p = conf("spark.jars", "file:" + JAR);
        StockDriverConf.apply(p, PythonAppMain.class, "app.py", null);
        assertEquals("file:" + JAR, p.getProperty("spark.jars"));
        assertFalse(p.containsKey("spark.app.name"));
    }
}
