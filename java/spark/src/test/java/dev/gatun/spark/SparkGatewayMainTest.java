package dev.gatun.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkGatewayMainTest {
    @Test
    void sqlExtensionGoesAfterTheUsersOwnOnce() {
        Properties conf = new Properties();
        SparkGatewayMain.addSqlExtension(conf, "g.Ext");
        assertEquals("g.Ext", conf.getProperty("spark.sql.extensions"));
        SparkGatewayMain.addSqlExtension(conf, "g.Ext");
        assertEquals("g.Ext", conf.getProperty("spark.sql.extensions"));

        conf.setProperty("spark.sql.extensions", "com.example.A, com.example.B");
        SparkGatewayMain.addSqlExtension(conf, "g.Ext");
        assertEquals("com.example.A, com.example.B,g.Ext", conf.getProperty("spark.sql.extensions"));
        SparkGatewayMain.addSqlExtension(conf, "g.Ext");
        assertEquals("com.example.A, com.example.B,g.Ext", conf.getProperty("spark.sql.extensions"));

        Properties none = new Properties();
        SparkGatewayMain.addSqlExtension(none, null);
        assertFalse(none.containsKey("spark.sql.extensions"));
    }

    @TempDir
    Path dir;

    @Test
    void servesUntilStdinClosesAndWritesPrivateInfo() throws Exception {
        Path info = dir.resolve("conn.json");
        PipedOutputStream python = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(python);
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(
                () -> SparkGatewayMain.run(new Properties(), info.toString(), stdin));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(info) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(Files.exists(info), "connection info written");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(info)));
        String json = Files.readString(info);
        assertTrue(json.contains("\"socket\"") && json.contains("\"token\""), json);
        python.close();
        assertEquals(0, status.get(20, TimeUnit.SECONDS));
    }

    @Test
    void badConfigurationFailsWithAMessageInTheErrorFile() throws Exception {
        Properties conf = new Properties();
        conf.setProperty("spark.gatun.regionBytes", "lots");
        assertEquals(2, SparkGatewayMain.run(conf, dir.resolve("x").toString(), new ByteArrayInputStream(new byte[0])));
        assertTrue(Files.readString(dir.resolve("x.error")).contains("spark.gatun.regionBytes must be a number of bytes, got 'lots'"));
        assertFalse(Files.exists(dir.resolve("x")));
        conf = new Properties();
        conf.setProperty("spark.gatun.allowlist", "@" + dir.resolve("missing-file"));
        assertEquals(2, SparkGatewayMain.run(conf, dir.resolve("y").toString(), new ByteArrayInputStream(new byte[0])));
        assertTrue(Files.readString(dir.resolve("y.error")).contains("cannot read allowlist file " + dir.resolve("missing-file")));
        conf = new Properties();
        conf.setProperty("spark.gatun.regionBytes", "12");
        assertEquals(2, SparkGatewayMain.run(conf, dir.resolve("z").toString(), new ByteArrayInputStream(new byte[0])));
        assertTrue(Files.readString(dir.resolve("z.error")).startsWith("bad Gatun configuration in the SparkConf: "));
    }

    @Test
    void missingInfoPathFails() {
        assertEquals(2, SparkGatewayMain.run(new Properties(), null, new ByteArrayInputStream(new byte[0])));
    }
}
