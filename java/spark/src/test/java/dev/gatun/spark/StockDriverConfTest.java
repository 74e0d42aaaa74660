package dev.gatun.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class StockDriverConfTest {
    @Test
    void theNameSparkSubmitDefaultedToBecomesStocks() {
        Properties p = new Properties();
        p.setProperty("spark.app.name", SparkGatewayMain.class.getName());
        StockDriverConf.apply(p, SparkGatewayMain.class, "pyspark-shell");
        assertEquals("pyspark-shell", p.getProperty("spark.app.name"));
    }

    @Test
    void theUsersNameStays() {
        Properties p = new Properties();
        p.setProperty("spark.app.name", "nightly-etl");
        StockDriverConf.apply(p, SparkGatewayMain.class, "pyspark-shell");
        assertEquals("nightly-etl", p.getProperty("spark.app.name"));
        Properties none = new Properties();
        StockDriverConf.apply(none, PythonAppMain.class, "app.py");
        assertFalse(none.containsKey("spark.app.name"));
    }
}
