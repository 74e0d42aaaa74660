package dev.gatun.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatun.server.Allowlist;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Decisions of the Spark driver's default list, by name (the Spark and Hadoop classes are not all
 * loadable on this module's test class path). The calls themselves are exercised in a real PySpark
 * session by python/tests/test_pyspark_allowlist.py.
 */
class SparkDefaultAllowlistTest {
    static final Allowlist SPARK = Allowlist.parse(SparkGatewayMain.DEFAULT_ALLOWLIST);

    @Test
    void admitsWhatThePySparkAuditFound() {
        for (String c : List.of("org.apache.spark.api.python.PythonUtils", "org.apache.spark.api.java.JavaSparkContext",
                "org.apache.spark.sql.classic.SparkSession$", "org.apache.spark.storage.StorageLevel",
                "org.apache.spark.SparkFiles", "org.apache.spark.sql.catalyst.trees.PySparkCurrentOrigin",
                "scala.Tuple2", "scala.jdk.javaapi.CollectionConverters", "scala.collection.immutable.List",
                "org.apache.hadoop.conf.Configuration", "org.apache.hadoop.fs.Path", "org.apache.hadoop.io.Text",
                "org.apache.hadoop.mapred.JobConf", "org.apache.hadoop.hive.conf.HiveConf", "java.sql.Date",
                "java.sql.Timestamp", "java.time.LocalTime", "java.util.HashMap", "java.util.Properties",
                "java.lang.String", "java.io.File", ArrowBatchCollector.class.getName())) {
            assertTrue(SPARK.allows(c), c);
        }
        assertTrue(SPARK.allowsMember(System.class, "getProperty"));
        assertTrue(SPARK.allowsMember(System.class, "setProperty"));
        assertTrue(SPARK.allowsMember(Class.class, "forName"));
    }

    @Test
    void deniesWhatIsBothNeededAndDangerousExceptTheNamedMembers() {
        assertFalse(SPARK.allows(System.class));
        assertFalse(SPARK.allows(Class.class));
        assertFalse(SPARK.allowsMember(System.class, "exit"));
        assertFalse(SPARK.allowsMember(System.class, "getenv"));
        assertFalse(SPARK.allowsMember(System.class, "load"));
        assertFalse(SPARK.allowsMember(Class.class, "getMethods"));
        assertFalse(SPARK.allowsMember(Class.class, "getClassLoader"));
        assertFalse(SPARK.allowsMember(Runtime.class, "exec"));
        assertFalse(SPARK.allowsMember(ProcessBuilder.class, "start"));
        assertFalse(SPARK.allows("org.apache.spark.util.Utils"));
        assertFalse(SPARK.allows("org.apache.spark.util.Utils$"));
    }

    @Test
    void deniesTheKnownGadgets() {
        for (String c : List.of("scala.sys.process.Process", "scala.sys.process.ProcessBuilder$Source",
                "scala.sys.package$", "scala.util.Properties$", "org.apache.spark.util.SparkClassUtils$",
                "org.apache.spark.util.SparkSerDeUtils", "org.apache.spark.network.util.JavaUtils",
                "org.apache.spark.deploy.SparkSubmit", "org.apache.spark.launcher.SparkLauncher",
                "org.apache.spark.rdd.PipedRDD", "org.apache.spark.api.python.PythonWorkerFactory",
                "org.apache.spark.serializer.JavaSerializer", "org.apache.spark.serializer.KryoSerializer",
                "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator$", "org.apache.spark.repl.Main",
                "org.apache.spark.util.MutableURLClassLoader", "org.apache.spark.executor.ExecutorClassLoader",
                "org.apache.hadoop.util.Shell", "org.apache.hadoop.util.Shell$ShellCommandExecutor",
                "org.apache.hadoop.util.ReflectionUtils", "org.apache.hadoop.util.RunJar", "org.apache.hadoop.fs.FileUtil",
                "org.apache.hadoop.ha.ShellCommandFencer", "org.apache.hadoop.hive.ql.exec.ScriptOperator",
                "org.apache.hadoop.io.ObjectWritable", "org.apache.hadoop.io.serializer.JavaSerialization",
                "scala.reflect.runtime.package$", "scala.tools.nsc.interpreter.IMain", "scala.tools.reflect.ToolBox",
                "scala.io.Source$", "scala.xml.XML$", "java.lang.Runtime", "java.lang.ProcessBuilder",
                "java.lang.ClassLoader", "java.lang.Thread", "java.lang.reflect.Method", "java.lang.invoke.MethodHandles",
                "javax.script.ScriptEngineManager", "javax.naming.InitialContext", "java.io.ObjectInputStream",
                "java.io.FileInputStream", "java.nio.file.Files", "java.net.URL")) {
            assertFalse(SPARK.allows(c), c);
        }
    }

    @Test
    void memberDenialsReachSubclassesAndScalaForwarders() {
        // scala.sys.process is loadable here: the Scala library is on this module's class path.
        assertFalse(SPARK.allowsMember(scala.sys.process.Process$.class, "apply"));
        assertFalse(SPARK.allowsMember(scala.runtime.ScalaRunTime.class, "ensureAccessible"));
        assertFalse(SPARK.allowsMember(scala.runtime.ScalaRunTime$.class, "ensureAccessible"));
        assertTrue(SPARK.allowsMember(scala.runtime.ScalaRunTime.class, "stringOf"));
    }

    @Test
    void broaderEntriesNextToTheSparkListKeepItsDenials() {
        Allowlist wider = Allowlist.parse(SparkGatewayMain.DEFAULT_ALLOWLIST + ",org.apache.hadoop.**,java.lang.*");
        assertTrue(wider.allows("org.apache.hadoop.yarn.client.api.YarnClient"));
        assertFalse(wider.allows("org.apache.hadoop.util.Shell"));
        assertFalse(wider.allows("java.lang.Runtime"));
        assertFalse(wider.allows("scala.sys.process.Process"));
    }

    @Test
    void sparkDefaultWordAddsUserClassesToTheSparkList(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Allowlist list = SparkGatewayMain.allowlist("spark-default, com.example.**");
        assertTrue(list.allows("org.apache.spark.api.java.JavaSparkContext"));
        assertTrue(list.allows("com.example.gatunjars.Greeter"));
        assertFalse(SPARK.allows("com.example.gatunjars.Greeter"));
        assertFalse(list.allows(System.class));  // the Spark list's denials stay
        assertFalse(SparkGatewayMain.allowlist("default,a.b.*").allows("org.apache.spark.api.java.JavaSparkContext"));
        // The same word on a line of an @file.
        java.nio.file.Path file = dir.resolve("allow.txt");
        java.nio.file.Files.writeString(file, "# the Spark list and our jar\nspark-default\ncom.example.**\n");
        Allowlist fromFile = SparkGatewayMain.allowlist("@" + file);
        assertTrue(fromFile.allows("org.apache.spark.api.java.JavaSparkContext"));
        assertTrue(fromFile.allows("com.example.gatunjars.Greeter"));
        assertFalse(fromFile.allows(System.class));
    }
}
