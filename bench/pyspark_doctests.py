#!/usr/bin/env python3
"""Run PySpark's own doctest modules and report attempted/failed counts per module.

Each module is run the way PySpark's test runner does it (python/run-tests.py -> bin/pyspark with
SPARK_TESTING=1 -> `python -m <module>`), except that the module is started through a tiny wrapper
(`python -c WRAPPER <module>`: runpy's `_run_module_as_main` with the absolute cwd as sys.path[0], as `-m`
does) that records the result of every `doctest.testmod()` call and every failing example, so attempted AND
failed counts are known per module. Nothing in pyspark is changed. Each module runs in a fresh temp dir
(also TMPDIR, java.io.tmpdir and the warehouse); SPARK_HOME is set to the target interpreter's pyspark
package dir (the bundled jars, what bin/pyspark's find-spark-home would export).

    python bench/pyspark_doctests.py --python /tmp/pyspark-venv/bin/python
    python bench/pyspark_doctests.py --python .venv/bin/python --env GATUN_PYSPARK=1 --baseline bench/results/pyspark-doctest-baseline-py4j.json
    python bench/pyspark_doctests.py --render bench/results/pyspark-doctest-baseline-py4j.json

Exit code: 0 if every module ran to its doctest summary (doctest failures allowed unless --strict),
1 with --strict and any doctest failure (or, with --fail-on-new, a failure the --baseline run did not
have), 2 if any module crashed (no summary) or timed out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import honest  # noqa: E402

DEFAULT_MODULES = [
    "pyspark.sql.classic.column",
    "pyspark.sql.classic.dataframe",
    "pyspark.sql.types",
    "pyspark.sql.functions.builtin",
    "pyspark.sql.session",
]

# Installed in the child before the module runs. Executed in a private namespace: runpy runs the module
# in __main__'s globals, which would otherwise clobber these helpers (e.g. functions.builtin defines `round`).
HOOK = r"""
import doctest, json, time, traceback
def install(mod, events):
    def emit(**ev):
        with open(events, "a") as f:
            f.write(json.dumps(ev) + "\n")
    def where(test, example):
        line = test.lineno + example.lineno + 1 if test.lineno is not None else None
        src = example.source.strip().splitlines()
        return dict(name=test.name, line=line, source=(src[0] if src else "")[:160])
    def first_diff(want, got):
        w, g = want.splitlines(), got.splitlines()
        for i in range(max(len(w), len(g))):
            a = w[i] if i < len(w) else "<no line>"
            b = g[i] if i < len(g) else "<no line>"
            if a.split() != b.split():
                return "expected %r, got %r" % (a.strip()[:100], b.strip()[:100])
        return "output differs (whitespace/ellipsis)"
    orig_fail = doctest.DocTestRunner.report_failure
    orig_exc = doctest.DocTestRunner.report_unexpected_exception
    def report_failure(self, out, test, example, got):
        emit(type="failure", kind="mismatch", reason=first_diff(example.want, got), **where(test, example))
        return orig_fail(self, out, test, example, got)
    def report_exc(self, out, test, example, exc_info):
        msg = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        emit(type="failure", kind="exception", reason=" ".join(msg.split())[:300], **where(test, example))
        return orig_exc(self, out, test, example, exc_info)
    doctest.DocTestRunner.report_failure = report_failure
    doctest.DocTestRunner.report_unexpected_exception = report_exc
    orig_testmod = doctest.testmod
    def testmod(*a, **k):
        t0 = time.time()
        r = orig_testmod(*a, **k)
        m = a[0] if a else k.get("m")
        emit(type="summary", target=getattr(m, "__name__", None) or mod,
             attempted=r.attempted, failed=r.failed, seconds=int((time.time() - t0) * 100) / 100)
        return r
    doctest.testmod = testmod
"""

# The child program: argv = [-c, module, events_path]. Behaves like `python -m module`.
WRAPPER = """
import sys, os
if sys.path and sys.path[0] == "":
    sys.path[0] = os.getcwd()  # `python -m` puts the absolute cwd first, `-c` puts ""
_hook = {}
exec(compile(%r, "<pyspark_doctests hook>", "exec"), _hook)
_hook["install"](sys.argv[1], sys.argv[2])
import runpy
_m = sys.argv[1]
del _hook
sys.argv = ["-m"]  # runpy sets argv[0] to the module file, like `python -m`
runpy._run_module_as_main(_m, alter_argv=True)
""" % HOOK


def spark_home_of(python: str, env: dict) -> str:
    e = {k: v for k, v in env.items() if k != "SPARK_HOME"}
    out = subprocess.run(
        [python, "-c", "from pyspark.find_spark_home import _find_spark_home as f; print(f())"],
        env=e, capture_output=True, text=True, check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def python_versions(python: str) -> dict:
    code = (
        "import json, importlib.metadata as m\n"
        "d = {}\n"
        "for p in ['pyspark', 'py4j', 'pandas', 'pyarrow', 'numpy']:\n"
        "    try: d[p] = m.version(p)\n"
        "    except Exception: d[p] = None\n"
        "import sys; d['python'] = sys.version.split()[0]\n"
        "print(json.dumps(d))"
    )
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except Exception:
        return {}


def build_env(python: str, extra: dict, tmp: str) -> dict:
    env = dict(os.environ)
    env.pop("SPARK_HOME", None)  # bundled jars of the target interpreter's pyspark
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    for k in ("YARN_CONF_DIR", "HADOOP_CONF_DIR"):  # bin/pyspark unsets these for tests
        env.pop(k, None)
    env.update({
        # what python/run-tests.py and bin/pyspark (SPARK_TESTING branch) set
        "SPARK_TESTING": "1",
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
        "PYARROW_IGNORE_TIMEZONE": "1",
        "PYTHONHASHSEED": "0",
        "TMPDIR": tmp,
    })
    warehouse = os.path.join(tmp, "warehouse")
    java_opts = f"-Djava.io.tmpdir={tmp} -Xss4M"
    env["PYSPARK_SUBMIT_ARGS"] = " ".join([
        "--conf", f"spark.driver.extraJavaOptions='{java_opts}'",
        "--conf", f"spark.executor.extraJavaOptions='{java_opts}'",
        "--conf", f"spark.sql.warehouse.dir='{warehouse}'",
        "pyspark-shell",
    ])
    env.update(extra)
    if "SPARK_HOME" not in extra:
        # bin/pyspark exports SPARK_HOME (find-spark-home -> the pyspark package dir for a pip
        # install); pyspark.sql.session's _test() does os.chdir(os.environ["SPARK_HOME"]).
        env["SPARK_HOME"] = spark_home_of(python, env)
    return env


def run_module(module: str, python: str, extra: dict, timeout: float, log_dir: str | None) -> dict:
    tmp = tempfile.mkdtemp(prefix="pyspark-doctest-")
    events_path = os.path.join(tmp, "events.jsonl")
    env = build_env(python, extra, tmp)
    cmd = [python, "-c", WRAPPER, module, events_path]
    t0 = time.time()
    timed_out = False
    proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: python + its JVM
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
    wall = time.time() - t0
    events = []
    if os.path.exists(events_path):
        with open(events_path) as f:
            events = [json.loads(line) for line in f if line.strip()]
    summaries = [e for e in events if e["type"] == "summary"]
    failures = [e for e in events if e["type"] == "failure"]
    text = out.decode("utf-8", "replace")
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        with open(os.path.join(log_dir, module + ".log"), "w") as f:
            f.write(text)
    attempted = sum(s["attempted"] for s in summaries)
    failed = sum(s["failed"] for s in summaries)
    if timed_out:
        status = "timeout"
    elif not summaries:
        status = "crash"
    elif proc.returncode != 0 and failed == 0:
        status = "crash"  # exited non-zero although every example passed
    else:
        status = "ok" if failed == 0 else "failures"
    tail = "\n".join(text.rstrip().splitlines()[-15:]) if status in ("crash", "timeout") else ""
    shutil.rmtree(tmp, ignore_errors=True)
    for fl in failures:
        fl.pop("type", None)
    return dict(module=module, attempted=attempted, failed=failed, wall_s=round(wall, 1),
                doctest_s=round(sum(s["seconds"] for s in summaries), 1), status=status,
                returncode=proc.returncode, failures=failures, tail=tail)


def key(f: dict) -> str:
    return f"{f['name']}:{f['line']}"


def markdown(results: list, baseline: dict | None) -> str:
    lines = ["| module | attempted | failed | wall time (s) | status |",
             "|---|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['module']} | {r['attempted']} | {r['failed']} | {r['wall_s']} | {r['status']} |")
    lines.append(f"| **total** | {sum(r['attempted'] for r in results)} | "
                 f"{sum(r['failed'] for r in results)} | {round(sum(r['wall_s'] for r in results), 1)} | |")
    lines.append("")
    for r in results:
        if r["failures"]:
            lines.append(f"Failures in `{r['module']}`:")
            for f in r["failures"]:
                reason = f["reason"].split(" JVM stacktrace:")[0]
                lines.append(f"- `{f['name']}` (line {f['line']}): `{f['source']}` — {f['kind']}: {reason}")
            lines.append("")
        if r["tail"]:
            lines.append(f"`{r['module']}` {r['status']} (rc={r['returncode']}); last output lines:")
            lines.append("```\n" + r["tail"] + "\n```\n")
    if baseline:
        base = {m["module"]: m for m in baseline.get("results", [])}
        lines.append("Compared with the baseline:")
        for r in results:
            b = base.get(r["module"])
            if not b:
                lines.append(f"- `{r['module']}`: not in the baseline")
                continue
            now = {key(f) for f in r["failures"]}
            was = {key(f) for f in b["failures"]}
            lines.append(f"- `{r['module']}`: attempted {b['attempted']} -> {r['attempted']}, "
                         f"failed {b['failed']} -> {r['failed']}; new failures: "
                         f"{sorted(now - was) or 'none'}; fixed: {sorted(was - now) or 'none'}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    ap.add_argument("--python", default=sys.executable, help="interpreter with pyspark installed")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the module runs (repeatable)")
    ap.add_argument("--timeout", type=float, default=1800, help="per-module timeout, seconds")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--markdown", help="write the Markdown table here as well")
    ap.add_argument("--log-dir", help="keep each module's full output here")
    ap.add_argument("--baseline", help="a --json file from an earlier run to compare with")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any example failed")
    ap.add_argument("--fail-on-new", action="store_true",
                    help="exit 1 if a module fails an example the --baseline run did not, or attempts fewer")
    ap.add_argument("--render", metavar="JSON", help="only print the Markdown of an earlier --json file")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            print(markdown(json.load(f)["results"], None))
        return 0
    extra = {}
    for kv in a.env:
        if "=" not in kv:
            ap.error(f"--env wants KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        extra[k] = v
    python = os.path.abspath(a.python) if os.sep in a.python else shutil.which(a.python) or a.python
    versions = python_versions(python)
    print(f"python={python} versions={versions} extra_env={extra}", file=sys.stderr, flush=True)
    load_start = honest.loadavg()
    results = []
    for m in a.modules:
        print(f"running {m} ...", file=sys.stderr, flush=True)
        r = run_module(m, python, extra, a.timeout, a.log_dir)
        print(f"  {r['status']}: attempted={r['attempted']} failed={r['failed']} wall={r['wall_s']}s",
              file=sys.stderr, flush=True)
        results.append(r)
    baseline = None
    if a.baseline:
        with open(a.baseline) as f:
            baseline = json.load(f)
    load_end = honest.loadavg()
    md = markdown(results, baseline)
    md += (f"\n\nLoad average (1/5/15 min) at start {' '.join(map(str, load_start))}, "
           f"at end {' '.join(map(str, load_end))}.")
    print(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(python=python, versions=versions, env=extra, load_start=load_start, load_end=load_end,
                           results=results), f, indent=1)
    failed = sum(r["failed"] for r in results)
    passed = sum(r["attempted"] for r in results) - failed
    if baseline is not None:
        # Examples that fail under Py4J too (e.g. data files the wheel lacks) are not counted
        # as failures of the bridge under test; they are listed above.
        known = failed - len(new_failures(results, baseline))
        print(f"known failures (the baseline has them too): {known}")
        failed -= known
    print(f"doctests: {passed} passed, {failed} failed")
    if any(r["status"] in ("crash", "timeout") for r in results):
        return 2
    if a.strict and any(r["failed"] for r in results):
        return 1
    if a.fail_on_new and baseline is not None and regressions(results, baseline):
        return 1
    return 0


def new_failures(results: list, baseline: dict) -> list[str]:
    """Failing examples (module:name:line) that the baseline run did not fail."""
    base = {m["module"]: {key(f) for f in m["failures"]} for m in baseline.get("results", [])}
    return [f"{r['module']}:{k}" for r in results for k in sorted({key(f) for f in r["failures"]})
            if k not in base.get(r["module"], set())]


def regressions(results: list, baseline: dict) -> list[str]:
    """Modules that fail examples the baseline passed, or attempt fewer examples than it did."""
    base = {m["module"]: m for m in baseline.get("results", [])}
    new = {f.split(":", 1)[0] for f in new_failures(results, baseline)}
    return sorted(new | {r["module"] for r in results
                         if r["module"] in base and r["attempted"] < base[r["module"]]["attempted"]})


if __name__ == "__main__":
    sys.exit(main())
