"""The Spark driver's default allowlist, in a real PySpark session over Gatun (spec/security.md).

Two halves. What PySpark reaches must work: every class the installed pyspark package names for
the JVM (found by reading its source, so a new PySpark brings its new names in) must resolve, and
each access the audit found on a class that is both needed and dangerous (System, Class, Spark's
Utils) is exercised through the PySpark API that makes it. What PySpark does not need must be
refused: the escape attempts of the bypass suite, each expected to fail with NOT_ALLOWED naming
what was refused.
"""
from __future__ import annotations

import ast
import datetime
import gzip
import os
import re
import sys
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

import gatun.pyspark  # noqa: E402
from gatun.errors import NotAllowedError  # noqa: E402
from py4j.protocol import Py4JError  # noqa: E402

# The same accesses run over stock PySpark too (test_the_accesses_work_over_stock_pyspark runs this
# file again in a subprocess with this variable set to "stock"); refusals are Gatun's alone.
BRIDGE = os.environ.get("GATUN_ALLOWLIST_TEST_BRIDGE", "gatun")
gatun_only = pytest.mark.skipif(BRIDGE != "gatun", reason="stock PySpark has no allowlist to refuse with")
# PySpark 3.5 (also run here: see test_pyspark35.py's venv) lacks a few of the APIs used below.
PYSPARK_LINE = tuple(int(x) for x in re.findall(r"\d+", pyspark.__version__)[:2])
pyspark4_api = pytest.mark.skipif(PYSPARK_LINE < (4, 0), reason="SparkContext.getSystemProperty is PySpark 4.0+")

# Under gatun.pyspark a refusal reaches PySpark code as Py4J's error type (as any bridge error
# would); its text starts with the error code.
REFUSED = (NotAllowedError, Py4JError)


def _is_refusal(e: BaseException) -> bool:
    return isinstance(e, REFUSED) and "NOT_ALLOWED" in str(e)


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if BRIDGE == "gatun":
        gatun.pyspark.install()
    from pyspark.sql import SparkSession

    # No spark.gatun.allowlist: the driver runs SparkGatewayMain.DEFAULT_ALLOWLIST.
    session = (SparkSession.builder.master("local[2]").appName("gatun-allowlist")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    assert gatun.pyspark.bridge(session) == ("gatun" if BRIDGE == "gatun" else "py4j")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def sc(spark):
    return spark.sparkContext


@pytest.fixture(scope="module")
def jvm(sc):
    return sc._jvm


# --- The audit: what the installed pyspark names for the JVM ---------------------------------------

PYSPARK_DIR = Path(pyspark.__file__).parent
# Tests, test helpers and examples are not PySpark's API; Spark Connect's client does not use the
# gateway.
SKIPPED_DIRS = ("tests", "testing", "examples", os.path.join("sql", "connect"))
JVMISH = re.compile(r"(^|_)jvm$")
CLASS_NAME = re.compile(r"^(java|javax|scala|org\.apache)\.[\w.$]*\.[A-Z][\w$]*$")


def _is_jvm(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return bool(JVMISH.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(JVMISH.search(node.attr))
    if isinstance(node, ast.Call):
        return _is_jvm(node.func)
    return False


def _chain(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while True:
        if _is_jvm(node):
            return list(reversed(parts)) or None
        if not isinstance(node, ast.Attribute):
            return None
        parts.append(node.attr)
        node = node.value


def audit_pyspark() -> dict[str, dict[str, set[str]]]:
    """JVM accesses in pyspark's source, by kind: {kind: {name: files}}."""
    found: dict[str, dict[str, set[str]]] = {k: {} for k in ("chain", "getattr", "java_import", "class_literal")}

    def add(kind: str, name: str, where: str) -> None:
        found[kind].setdefault(name, set()).add(where)

    for path in sorted(PYSPARK_DIR.rglob("*.py")):
        rel = str(path.relative_to(PYSPARK_DIR))
        if any(rel.startswith(d + os.sep) or (os.sep + d + os.sep) in rel for d in SKIPPED_DIRS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and not isinstance(parents.get(node), ast.Attribute):
                chain = _chain(node)
                if chain:
                    add("chain", ".".join(chain), rel)
            elif isinstance(node, ast.Call):
                f = node.func
                fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                literal = (len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                           and isinstance(node.args[1].value, str))
                if fname == "getattr" and literal and _is_jvm(node.args[0]):
                    add("getattr", node.args[1].value, rel)
                elif fname == "java_import" and literal:
                    add("java_import", node.args[1].value, rel)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and CLASS_NAME.match(node.value):
                add("class_literal", node.value, rel)
    return found


AUDIT = audit_pyspark()


def test_the_audit_finds_what_pyspark_is_known_to_reach():
    # If these move, the audit's patterns no longer match PySpark's code and the tests below
    # would pass on nothing.
    assert "org.apache.spark.api.python.*" in AUDIT["java_import"]
    assert "PythonUtils.toSeq" in AUDIT["chain"]
    assert len(AUDIT["chain"]) > 50
    if PYSPARK_LINE >= (4, 0):  # PySpark 3.5 names these through attribute chains instead
        assert "java.lang.System" in AUDIT["getattr"] and "java.lang.Class" in AUDIT["getattr"]
        assert "org.apache.spark.util.Utils" in AUDIT["getattr"]
        assert len(AUDIT["getattr"]) > 20


def _resolve(jvm, dotted: str):
    """Walks a dotted name from the JVM view the way PySpark's attribute access does."""
    obj = jvm
    for part in dotted.split("."):
        obj = getattr(obj, part)
        if type(obj).__name__ == "JavaClass":
            return obj
    return obj


def _refusals(jvm, names) -> list[str]:
    out = []
    for name in sorted(names):
        try:
            _resolve(jvm, name)
        except Exception as e:
            # Anything but a refusal (say a class whose optional dependency is not on the class
            # path) is no allowlist matter.
            if _is_refusal(e):
                out.append(f"{name}: {e}")
    return out


def test_every_class_pyspark_names_by_getattr_resolves(jvm):
    assert _refusals(jvm, AUDIT["getattr"]) == []


def test_every_jvm_attribute_chain_in_pyspark_resolves(jvm):
    # Chains start from the JVM view, with PySpark's java_imports in place (PythonUtils.toSeq).
    assert _refusals(jvm, AUDIT["chain"]) == []


def test_every_class_pyspark_names_in_a_string_resolves(jvm):
    # ML wrappers build Java objects from such names (_new_java_obj), converters by JavaClass(name).
    assert _refusals(jvm, AUDIT["class_literal"]) == []


def test_every_java_import_of_pyspark_resolves(sc):
    from py4j.java_gateway import java_import

    view = sc._jvm  # importing again what PySpark imported is harmless
    refused = []
    for imp in sorted(AUDIT["java_import"]):
        try:
            java_import(view, imp)
            if not imp.endswith("*"):
                _resolve(view, imp.rsplit(".", 1)[1])
        except Exception as e:
            if _is_refusal(e):
                refused.append(f"{imp}: {e}")
    assert refused == []


# --- The accesses on classes that are both needed and dangerous, through PySpark's API -------------

@pyspark4_api
def test_get_system_property(sc):
    from pyspark import SparkContext

    assert SparkContext.getSystemProperty("java.home")
    assert sc.getSystemProperty("SPARK_SUBMIT") == "true"  # PySpark's own doctest


@pyspark4_api
def test_set_system_property_of_a_spark_key(sc):
    from pyspark import SparkContext

    SparkContext.setSystemProperty("spark.gatun.allowlistTest", "yes")
    assert SparkContext.getSystemProperty("spark.gatun.allowlistTest") == "yes"


@gatun_only
@pyspark4_api
def test_set_system_property_of_a_jvm_key_is_refused(sc):
    from pyspark import SparkContext

    with pytest.raises(REFUSED, match="NOT_ALLOWED.*only keys starting with 'spark.'"):
        SparkContext.setSystemProperty("com.sun.jndi.ldap.object.trustURLCodebase", "true")
    assert SparkContext.getSystemProperty("com.sun.jndi.ldap.object.trustURLCodebase") != "true"


def test_save_as_text_file_with_a_codec(sc, tmp_path):
    out = tmp_path / "gz"
    sc.parallelize(["a", "b"], 1).saveAsTextFile(str(out), "org.apache.hadoop.io.compress.GzipCodec")
    parts = sorted(out.glob("part-*.gz"))
    assert parts and gzip.decompress(parts[0].read_bytes()).split() == [b"a", b"b"]


@gatun_only
def test_save_as_text_file_with_a_denied_class_as_codec_is_refused(sc, tmp_path):
    with pytest.raises(REFUSED, match=r'NOT_ALLOWED.*Class.forName\("java.lang.Runtime"\) is not allowed'):
        sc.parallelize(["a"], 1).saveAsTextFile(str(tmp_path / "x"), "java.lang.Runtime")
    assert not (tmp_path / "x").exists()


def test_class_for_name_of_an_allowed_class_as_ml_tuning_does(sc, spark):
    # ml/tuning.py: sc._jvm.Class.forName("...DefaultParamsWritable").isInstance(javaValue)
    cls = sc._jvm.Class.forName("org.apache.spark.ml.util.DefaultParamsWritable")
    assert cls.getName() == "org.apache.spark.ml.util.DefaultParamsWritable"
    assert cls.isInstance(sc._jvm.org.apache.spark.ml.feature.Tokenizer())


def test_spark_utils_members_pyspark_calls(sc, jvm):
    # SparkContext.__init__ made its temp dir through Utils.getLocalDir and Utils.createTempDir.
    assert os.path.isdir(sc._temp_dir)
    utils = getattr(jvm, "org.apache.spark.util.Utils")
    local = utils.getLocalDir(sc._jsc.sc().conf())
    made = utils.createTempDir(local, "gatun-allowlist")
    assert os.path.isdir(made.getAbsolutePath())
    assert "IllegalStateException" in utils.exceptionString(jvm.java.lang.IllegalStateException("x"))


def test_captured_exceptions_carry_the_jvm_text(spark):
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as info:
        spark.sql("select * from no_such_table_anywhere").collect()
    e = info.value
    # SparkThrowableHelper.getMessage; PySpark 3.5's exceptions have no getMessage: their text is it.
    assert "TABLE_OR_VIEW_NOT_FOUND" in (e.getMessage() if hasattr(e, "getMessage") else str(e))
    assert "org.apache.spark" in (e._stackTrace if hasattr(e, "_stackTrace") else e.stackTrace)  # Utils.exceptionString


def test_spark_files_and_listing(sc, tmp_path):
    from pyspark import SparkFiles

    f = tmp_path / "side.txt"
    f.write_text("x")
    sc.addFile(str(f))
    assert os.path.isdir(SparkFiles.getRootDirectory())
    assert any(p.endswith("side.txt") for p in sc.listFiles)  # CollectionConverters.asJava
    assert isinstance(sc.listArchives, list)


def test_java_util_and_sql_values(spark, sc):
    from pyspark.sql import functions as F

    jm = sc._dictToJavaMap({"k": "v"})  # java.util.HashMap
    assert jm["k"] == "v"
    row = spark.range(1).select(F.lit(datetime.date(2024, 2, 29)).alias("d"),
                                F.lit(datetime.datetime(2024, 2, 29, 12, 30)).alias("t")).collect()[0]
    assert row.d == datetime.date(2024, 2, 29) and row.t == datetime.datetime(2024, 2, 29, 12, 30)


def test_jdbc_round_trip_with_properties_and_predicates(spark, tmp_path):
    # java.util.Properties for the options, a java.lang.String[] for the predicates; Derby ships
    # with PySpark.
    url = f"jdbc:derby:{tmp_path / 'db'};create=true"
    spark.range(5).selectExpr("cast(id as int) as id").write.jdbc(url, "T", properties={})
    back = spark.read.jdbc(url, "T", predicates=['"id" < 2', '"id" >= 3'], properties={})
    assert sorted(r.id for r in back.collect()) == [0, 1, 3, 4]


def test_ml_string_arrays_and_wrappers(spark):
    from pyspark.ml.feature import StopWordsRemover

    words = StopWordsRemover.loadDefaultStopWords("english")
    assert "the" in words
    remover = StopWordsRemover(inputCol="w", outputCol="o", stopWords=["a", "b"])  # String[] param
    out = remover.transform(spark.createDataFrame([(["a", "x", "b"],)], ["w"])).collect()[0].o
    assert out == ["x"]


def test_storage_level_and_hive_probe(sc, jvm):
    from pyspark import StorageLevel

    rdd = sc.parallelize(range(3)).persist(StorageLevel.MEMORY_AND_DISK)
    assert rdd.getStorageLevel() == StorageLevel.MEMORY_AND_DISK
    rdd.unpersist()
    jvm.org.apache.hadoop.hive.conf.HiveConf()  # SparkSession's shell probe for Hive


# --- Escape attempts: the bypass suite for the Spark default list -----------------------------------

def _attempt_process(jvm, marker):
    return jvm.scala.sys.process.Process.apply(f"touch {marker}").run()


ESCAPES = {
    # Processes and their wrappers in the admitted packages.
    "scala.sys.process.Process": lambda jvm, m: _attempt_process(jvm, m),
    "scala.sys.package$": lambda jvm, m: getattr(getattr(jvm, "scala.sys.package$"), "MODULE$").exit(3),
    "scala.util.Properties": lambda jvm, m: jvm.scala.util.Properties.setProp("java.security.manager", "allow"),
    "org.apache.spark.util.Utils.executeAndGetOutput": lambda jvm, m: jvm.org.apache.spark.util.Utils.executeAndGetOutput(
        jvm.PythonUtils.toSeq(["touch", m]), None, None, False),
    "org.apache.spark.util.Utils$": lambda jvm, m: getattr(getattr(jvm, "org.apache.spark.util.Utils$"), "MODULE$"),
    "org.apache.spark.network.util.JavaUtils": lambda jvm, m: jvm.org.apache.spark.network.util.JavaUtils.deleteRecursively(None),
    "org.apache.spark.deploy.SparkSubmit": lambda jvm, m: jvm.org.apache.spark.deploy.SparkSubmit.main(None),
    "org.apache.spark.launcher.SparkLauncher": lambda jvm, m: jvm.org.apache.spark.launcher.SparkLauncher(),
    "org.apache.spark.api.java.JavaRDDLike#pipe": lambda jvm, m: jvm._sc.parallelize([1])._jrdd.pipe(f"touch {m}").collect(),
    "org.apache.spark.rdd.RDD#pipe": lambda jvm, m: jvm._sc.parallelize([1])._jrdd.rdd().pipe(f"touch {m}"),
    # SparkEnv reached from the SparkContext (resolving SparkEnv's static members needs protobuf
    # classes that are not on the driver's class path).
    "org.apache.spark.SparkEnv#createPythonWorker": lambda jvm, m: jvm._sc._jsc.sc().env().createPythonWorker(
        "/bin/sh", "x", "y", None, False),
    "org.apache.spark.api.python.PythonWorkerFactory": lambda jvm, m: jvm.org.apache.spark.api.python.PythonWorkerFactory,
    "org.apache.hadoop.util.Shell": lambda jvm, m: jvm.org.apache.hadoop.util.Shell.execCommand(["touch", m]),
    "org.apache.hadoop.util.Shell$ShellCommandExecutor": lambda jvm, m: getattr(
        jvm, "org.apache.hadoop.util.Shell$ShellCommandExecutor")(["touch", m]),
    "org.apache.hadoop.fs.FileUtil": lambda jvm, m: jvm.org.apache.hadoop.fs.FileUtil.chmod(m, "777"),
    "java.lang.Runtime": lambda jvm, m: jvm.java.lang.Runtime.getRuntime(),
    "java.lang.ProcessBuilder": lambda jvm, m: jvm.java.lang.ProcessBuilder(["touch", m]),
    "java.lang.System.exit": lambda jvm, m: jvm.java.lang.System.exit(3),
    "java.lang.System.getenv": lambda jvm, m: jvm.java.lang.System.getenv(),
    "java.lang.System.out": lambda jvm, m: jvm.java.lang.System.out,
    # Loading classes by name.
    "org.apache.spark.util.Utils.classForName": lambda jvm, m: jvm.org.apache.spark.util.Utils.classForName(
        "java.lang.Runtime", True, False),
    "org.apache.spark.util.SparkClassUtils": lambda jvm, m: getattr(getattr(jvm, "org.apache.spark.util.SparkClassUtils$"), "MODULE$"),
    "java.lang.Runtime (Class.forName)": lambda jvm, m: jvm.java.lang.Class.forName("java.lang.Runtime"),
    "scala.sys.process.Process (Class.forName)": lambda jvm, m: jvm.java.lang.Class.forName("scala.sys.process.Process"),
    "org.apache.spark.util.Utils (Class.forName)": lambda jvm, m: jvm.java.lang.Class.forName(
        "org.apache.spark.util.Utils", True, None),
    "Configuration#getClassByName": lambda jvm, m: jvm._sc._jsc.hadoopConfiguration().getClassByName("java.lang.Runtime"),
    "Configuration#getClasses": lambda jvm, m: jvm._sc._jsc.hadoopConfiguration().getClasses("x", None),
    "JobConf#getClassByName (a subclass)": lambda jvm, m: jvm.org.apache.hadoop.mapred.JobConf().getClassByName(
        "java.lang.Runtime"),
    "org.apache.hadoop.util.ReflectionUtils": lambda jvm, m: jvm.org.apache.hadoop.util.ReflectionUtils,
    "org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry": lambda jvm, m:
        jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry.register("java.lang.Runtime"),
    "org.apache.spark.util.MutableURLClassLoader": lambda jvm, m: jvm.org.apache.spark.util.MutableURLClassLoader,
    "org.apache.spark.SparkContext#addJar": lambda jvm, m: jvm._sc._jsc.sc().addJar(m),
    "java.lang.ClassLoader": lambda jvm, m: jvm.java.lang.ClassLoader.getSystemClassLoader(),
    "java.lang.Thread": lambda jvm, m: jvm.java.lang.Thread.currentThread(),
    # Reflection, compilers, interpreters and script engines.
    "java.lang.Class.getMethods": lambda jvm, m: jvm._sc._jsc.getClass().getMethods(),
    "java.lang.reflect.Method": lambda jvm, m: jvm.java.lang.reflect.Method,
    "java.lang.invoke.MethodHandles": lambda jvm, m: jvm.java.lang.invoke.MethodHandles.lookup(),
    "java.lang.reflect.Proxy": lambda jvm, m: jvm.java.lang.reflect.Proxy,
    "scala.reflect.runtime.package$": lambda jvm, m: getattr(getattr(jvm, "scala.reflect.runtime.package$"), "MODULE$").universe(),
    "scala.runtime.ScalaRunTime#ensureAccessible": lambda jvm, m: jvm.scala.runtime.ScalaRunTime.ensureAccessible(None),
    "scala.tools.nsc.interpreter.IMain": lambda jvm, m: jvm.scala.tools.nsc.interpreter.IMain,
    "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator": lambda jvm, m:
        jvm.org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator.compile(None),
    "org.apache.spark.repl.Main": lambda jvm, m: jvm.org.apache.spark.repl.Main.main(None),
    "org.apache.spark.util.ClosureCleaner": lambda jvm, m: getattr(jvm, "org.apache.spark.util.ClosureCleaner$"),
    "javax.script.ScriptEngineManager": lambda jvm, m: jvm.javax.script.ScriptEngineManager(),
    # Deserializers, JNDI and readers of files or URLs.
    "org.apache.spark.serializer.JavaSerializer": lambda jvm, m: jvm.org.apache.spark.serializer.JavaSerializer(
        jvm._sc._jsc.sc().conf()),
    "org.apache.spark.serializer.KryoSerializer": lambda jvm, m: jvm.org.apache.spark.serializer.KryoSerializer(
        jvm._sc._jsc.sc().conf()),
    "java.io.ObjectInputStream": lambda jvm, m: jvm.java.io.ObjectInputStream,
    "org.apache.hadoop.io.ObjectWritable": lambda jvm, m: jvm.org.apache.hadoop.io.ObjectWritable(),
    "javax.naming.InitialContext": lambda jvm, m: jvm.javax.naming.InitialContext(),
    "java.io.FileInputStream": lambda jvm, m: jvm.java.io.FileInputStream("/etc/passwd"),
    "scala.io.Source": lambda jvm, m: getattr(getattr(jvm, "scala.io.Source$"), "MODULE$").fromFile("/etc/passwd", "UTF-8"),
    "java.nio.file.Files": lambda jvm, m: jvm.java.nio.file.Files,
    "java.net.URL": lambda jvm, m: jvm.java.net.URL("http://localhost/"),
    "org.apache.hadoop.security.UserGroupInformation": lambda jvm, m:
        jvm.org.apache.hadoop.security.UserGroupInformation.getCurrentUser(),
}


class _JvmWithContext:
    """The JVM view plus the SparkContext, for attempts that start from PySpark's own objects."""

    def __init__(self, jvm, sc):
        self._jvm, self._sc = jvm, sc

    def __getattr__(self, name):
        return getattr(self._jvm, name)


@gatun_only
@pytest.mark.parametrize("refused", sorted(ESCAPES))
def test_escape_is_refused(sc, jvm, tmp_path, refused):
    marker = tmp_path / "escaped"
    attempt = ESCAPES[refused]
    with pytest.raises(REFUSED) as info:
        attempt(_JvmWithContext(jvm, sc), str(marker))
    assert _is_refusal(info.value), f"not an allowlist refusal: {info.value!r}"
    # The refusal names the class or member it refused.
    named = refused.split(" ")[0].replace("#", ".").split(".")[-1]
    assert named.rstrip("$") in str(info.value), str(info.value)
    assert not marker.exists()


def test_escape_suite_size():
    assert len(ESCAPES) >= 50


@gatun_only
def test_the_accesses_work_over_stock_pyspark():
    """Every access above that must work runs over stock PySpark (Py4J) too, in its own process."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    env["GATUN_ALLOWLIST_TEST_BRIDGE"] = "stock"
    p = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"],
                       capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and " failed" not in p.stdout, p.stdout[-2000:]
