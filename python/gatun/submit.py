"""`spark-submit app.py` over Gatun: `python -m gatun.submit [spark-submit options] app.py [app arguments]`.

Stock spark-submit starts the driver JVM first (PythonRunner), which starts a Py4J gateway and then
the Python application. This command keeps that order: it runs the same spark-submit with Gatun's
runner (`dev.gatun.spark.PythonAppMain` in the bundled gatun-spark.jar) as the driver's main
class. The runner starts the Gatun server in the driver and runs the application with
`GATUN_GATEWAY_INFO` (where to attach) and `GATUN_PYSPARK=1` (use Gatun) in its environment, so its
SparkContext attaches to the driver over Gatun. spark-submit replaces this process, so its exit
status (the application's), output and signals are those of a stock run.

Every spark-submit option works as with stock spark-submit (`--master`, `--conf`, `--py-files`,
`--jars`, ...), except `--class` (Gatun's runner is the main class) and `--deploy-mode cluster`
(the application runs beside the driver, as stock spark-submit does for Python in client mode).
Unless `PYSPARK_DRIVER_PYTHON`, `PYSPARK_PYTHON` or the `spark.pyspark.driver.python` /
`spark.pyspark.python` confs say otherwise, the application and the executors' Python workers run
on this interpreter (`PYSPARK_PYTHON` is set to it), which has gatun installed; stock
spark-submit would use `python3` from PATH.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from .pyspark import GatunSparkError, spark_home, spark_jar

RUNNER = "dev.gatun.spark.PythonAppMain"

# spark-submit's options that take a value and its switches, as its launcher parses them
# (org.apache.spark.launcher.SparkSubmitOptionParser, Spark 4.3).
_WITH_VALUE = frozenset({
    "--archives", "--class", "--conf", "-c", "--deploy-mode", "--driver-class-path", "--driver-cores",
    "--driver-default-class-path", "--driver-java-options", "--driver-library-path", "--driver-memory",
    "--executor-cores", "--executor-memory", "--files", "--jars", "--keytab", "--kill", "--master", "--remote",
    "--name", "--num-executors", "--packages", "--exclude-packages", "--principal", "--properties-file",
    "--extra-properties-file", "--proxy-user", "--py-files", "--queue", "--repositories", "--status",
    "--total-executor-cores",
})
_SWITCHES = frozenset({
    "--help", "-h", "--supervise", "--usage-error", "--verbose", "-v", "--version", "--load-spark-defaults",
})

USAGE = "usage: python -m gatun.submit [spark-submit options] app.py [app arguments]"


class SubmitUsageError(GatunSparkError):
    """The command line cannot be run over Gatun; the message says why."""


def split_arguments(argv: Sequence[str]) -> tuple[list[str], str, list[str]]:
    """(spark-submit options, the application file, the application's arguments)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        name = word.split("=", 1)[0]
        if name in _WITH_VALUE:
            if name == "--class":
                raise SubmitUsageError("--class is not for Python applications: Gatun's runner is the main class")
            if name == "--deploy-mode":
                mode = word.split("=", 1)[1] if "=" in word else (argv[i + 1] if i + 1 < len(argv) else "")
                if mode != "client":
                    raise SubmitUsageError(
                        f"--deploy-mode {mode or '(missing)'}: only client mode runs over Gatun "
                        "(the application runs beside the driver)")
            if "=" not in word:
                if i + 1 >= len(argv):
                    raise SubmitUsageError(f"{word} needs a value\n{USAGE}")
                i += 1
        elif word in _SWITCHES:
            pass
        elif word.startswith("-"):
            raise SubmitUsageError(f"unknown spark-submit option {word}\n{USAGE}")
        else:
            if not word.endswith(".py"):
                raise SubmitUsageError(
                    f"{word} is not a Python file: gatun.submit runs Python applications "
                    "(run JVM applications with spark-submit itself)")
            return list(argv[:i]), word, list(argv[i + 1:])
        i += 1
    raise SubmitUsageError(f"no Python application given\n{USAGE}")


def command(argv: Sequence[str]) -> list[str]:
    """The spark-submit command line that runs the application over Gatun."""
    options, app, app_args = split_arguments(argv)
    submit = os.path.join(spark_home(), "bin", "spark-submit")
    return [submit, *options, "--class", RUNNER, str(spark_jar()), app, *app_args]


def main(argv: Sequence[str] | None = None) -> int:
    """Run spark-submit in place of this process; returns only on an error, with its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in ([], ["-h"], ["--help"]):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1], file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    try:
        cmd = command(argv)
    except GatunSparkError as e:
        print(f"gatun.submit: {e}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if not env.get("PYSPARK_DRIVER_PYTHON") and not env.get("PYSPARK_PYTHON"):
        env["PYSPARK_PYTHON"] = sys.executable
    try:
        os.execve(cmd[0], cmd, env)
    except OSError as e:
        print(f"gatun.submit: cannot run {cmd[0]}: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
