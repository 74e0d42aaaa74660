package dev.gatun.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs real Python 3 applications (python3 on PATH) against the real server. */
class PythonAppMainTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Properties conf, String... args) {
        return PythonAppMain.run(args, conf, Map.of("PATH", System.getenv("PATH")),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void runsTheAppWithTheServerAndReturnsItsExitStatus() throws Exception {
        Path app = dir.resolve("app.py");
        Files.writeString(app, String.join("\n",
                "import json, os, stat, sys",
                "info = os.environ['GATUN_GATEWAY_INFO']",
                "print('perm', oct(stat.S_IMODE(os.stat(info).st_mode)), 'socket' in json.load(open(info)))",
                "print('env', os.environ['GATUN_PYSPARK'], os.environ['MASTER'], os.environ['PYSPARK_PYTHON'])",
                "print('py4j', os.environ['PYSPARK_GATEWAY_PORT'])",
                "import helper; print('helper', helper.X)",
                "print('to stderr', file=sys.stderr)",
                "print('args', sys.argv[1:])",
                "sys.exit(7)", ""));
        Path helper = dir.resolve("deps").resolve("helper.py");
        Files.createDirectories(helper.getParent());
        Files.writeString(helper, "X = 42\n");
        Properties conf = new Properties();
        conf.setProperty("spark.master", "local[3]");
        conf.setProperty("spark.pyspark.python", "python3");
        conf.setProperty("spark.submit.pyFiles", "file://" + helper);
        assertEquals(7, run(conf, app.toString(), "a", "b c"));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("perm 0o600 True"), text);
        assertTrue(text.contains("env 1 local[3] python3"), text);
        assertTrue(text.contains("helper 42"), text);
        assertTrue(text.contains("py4j no Py4J gateway: install gatun"), text);
        assertTrue(text.contains("to stderr"), text);
        assertTrue(text.contains("args ['a', 'b c']"), text);
    }

    @Test
    void theInfoFileIsGoneAfterTheApp() throws Exception {
        Path app = dir.resolve("app.py");
        Files.writeString(app, "import os; print(os.environ['GATUN_GATEWAY_INFO'])\n");
        assertEquals(0, run(new Properties(), app.toString()));
        Path info = Path.of(out.toString(StandardCharsets.UTF_8).strip());
        assertFalse(Files.exists(info), info + " left behind");
        assertFalse(Files.exists(info.getParent()), info.getParent() + " left behind");
    }

    @Test
    void badConfigurationAndCommandLinesFailWithAMessage() {
        Properties conf = new Properties();
        conf.setProperty("spark.gatun.regionBytes", "lots");
        assertEquals(2, run(conf, dir.resolve("app.py").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("spark.gatun.regionBytes must be a number of bytes"));
        assertEquals(2, run(new Properties()));
        assertEquals(2, run(new Properties(), "hdfs://nn/app.py"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("must be local files, not hdfs://nn/app.py"));
    }

    @Test
    void aMissingInterpreterIsNamed() {
        Properties conf = new Properties();
        conf.setProperty("spark.pyspark.driver.python", dir.resolve("no-python").toString());
        assertEquals(1, run(conf, dir.resolve("app.py").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("cannot run the Python driver " + dir.resolve("no-python")));
    }

    @Test
    void localPaths() {
        assertEquals("/a/b.py", PythonAppMain.localPath("file:///a/b.py"));
        assertEquals("/a/b.py", PythonAppMain.localPath("local:/a/b.py"));
        assertEquals("b.py", PythonAppMain.localPath("b.py"));
        assertThrows(IllegalArgumentException.class, () -> PythonAppMain.localPath("s3a://bucket/b.py"));
    }
}
