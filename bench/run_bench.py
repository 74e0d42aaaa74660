#!/usr/bin/env python3
"""Gatun vs Py4J vs JPype latency benchmark.

    python bench/run_bench.py                 # full run (~3.5 min on 2 cores)
    python bench/run_bench.py --quick         # smoke test (~30 s)
    python bench/run_bench.py --bridges gatun,py4j --out /tmp/res

Each bridge runs in its own worker subprocess.  After a warm-up (which also
picks a per-bridge, per-operation batch size), the driver runs several rounds;
in every round each bridge runs each operation for one time slice, bridges
taking turns per operation (the order rotates every round), so machine noise
is spread over all bridges alike.  Every request to a worker has a timeout;
a bridge that fails to start, errors or hangs is reported as an error in the
table and the run goes on with the others.

Writes <out>/foundation.md, <out>/foundation.json and <out>/foundation.png.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridges as B  # noqa: E402

DEFAULT_OUT = os.path.join(B.BENCH_DIR, "results")
NAME = "foundation"

# Targets from the project brief: Py4J median / Gatun median must reach these.
SPEEDUP_TARGETS = {
    "prebound_call": 15.0,
    "static_call": 10.0,
    "new_object": 10.0,
    "callback": 5.0,
    "bytes_1m": 20.0,
}
JPYPE_RATIO_TARGET = 3.0  # Gatun median / JPype median, every operation

FULL = dict(rounds=15, slice=0.4, warmup=1.5)
QUICK = dict(rounds=2, slice=0.1, warmup=0.3)
TARGET_BATCH_NS = 20_000  # a timed batch lasts >= ~20 us, so timer overhead is < 1%
MAX_BATCH = 1000
START_TIMEOUT = 120.0
REQUEST_GRACE = 60.0  # added to the slice length for each request's timeout


class WorkerError(Exception):
    pass


class Worker:
    """One bridge in a subprocess, spoken to in JSON lines, every read with a timeout."""

    def __init__(self, name: str, env: dict, log_dir: str):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=env, start_new_session=True, bufsize=0)
        self.buf = b""
        self.dead = None  # reason, once dead

    def _readline(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    raise WorkerError(f"timeout after {timeout:.0f}s")
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    try:
                        rc = self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        rc = None
                    raise WorkerError(f"worker exited (rc={rc}){self._log_tail()}")
                self.buf += chunk
        finally:
            sel.close()
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                lines = [l for l in f.read().decode(errors="replace").splitlines() if l.strip()]
            return f": {lines[-1].strip()[:80]}" if lines else ""
        except OSError:
            return ""

    def hello(self, timeout: float) -> dict:
        try:
            return self._readline(timeout)
        except WorkerError as e:
            self.kill(str(e))
            raise

    def request(self, obj: dict, timeout: float) -> dict:
        if self.dead:
            raise WorkerError(self.dead)
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
            return self._readline(timeout)
        except (WorkerError, OSError) as e:
            self.kill(str(e) if isinstance(e, WorkerError) else f"worker pipe broken: {e}")
            raise WorkerError(self.dead) from None

    def kill(self, reason: str):
        self.dead = self.dead or reason
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: worker + its JVM
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        if self.dead is None and self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.stdin.close()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.kill("did not quit")
        else:
            # the worker is gone; make sure nothing it started lingers in its session
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()


# --------------------------------------------------------------------------
# environment description
# --------------------------------------------------------------------------

def machine_info(java: dict | None) -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        nproc = str(os.cpu_count())
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "java": java["version_lines"] if java else ["unknown"],
        "java_home": java["java_home"] if java else None,
    }
    try:
        info["loadavg"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", B.BENCH_DIR, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if rev.returncode == 0:
            info["git"] = rev.stdout.strip()
    except Exception:  # noqa: BLE001
        pass
    for dist in ("py4j", "JPype1", "gatun"):
        try:
            from importlib.metadata import version
            info[f"{dist}_installed"] = version(dist)
        except Exception:  # noqa: BLE001
            info[f"{dist}_installed"] = None
    return info


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------

def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def run_benchmark(bridges, ops, rounds, slice_s, warmup_s, log=print, java=None):
    """Returns (results, bridge_meta).  results[bridge][op] = dict(samples, per_round, batch, error)."""
    java = java or B.resolve_java()
    env = dict(os.environ)
    env["JAVA_HOME"] = java["java_home"]
    env["PATH"] = os.path.join(java["java_home"], "bin") + os.pathsep + env.get("PATH", "")
    env["BENCH_JAVA"] = java["java"]
    env["BENCH_LIBJVM"] = java["libjvm"]
    env["PYTHONUNBUFFERED"] = "1"
    log_dir = tempfile.mkdtemp(prefix="gatun-bench-")

    results = {b: {o: {"samples": [], "per_round": [], "batch": None, "error": None} for o in ops}
               for b in bridges}
    meta = {b: {"error": None, "info": {}, "roundtrips": {}, "log": None} for b in bridges}
    workers = {}

    # start + verify
    for b in bridges:
        log(f"[{b}] starting ...")
        t0 = time.monotonic()
        w = Worker(b, env, log_dir)
        meta[b]["log"] = w.log_path
        try:
            hello = w.hello(START_TIMEOUT)
        except WorkerError as e:
            hello = {"ok": False, "error": str(e)}
        if not hello.get("ok"):
            meta[b]["error"] = hello.get("error", "failed to start")
            for o in ops:
                results[b][o]["error"] = meta[b]["error"]
            log(f"[{b}] FAILED to start: {meta[b]['error']}")
            w.close()
            continue
        meta[b]["info"] = hello.get("info", {})
        meta[b]["roundtrips"] = hello.get("roundtrips", {})
        for o in ops:
            err = hello.get("verify", {}).get(o)
            if err:
                results[b][o]["error"] = f"verify failed: {err}"
                log(f"[{b}] {o}: verify failed: {err}")
        workers[b] = w
        log(f"[{b}] up in {time.monotonic() - t0:.1f}s")

    def bridge_died(b, reason):
        meta[b]["error"] = reason
        for o in ops:
            r = results[b][o]
            if r["error"] is None:
                r["error"] = reason if not r["samples"] else f"{reason} (partial data in JSON)"

    # warm-up + batch calibration
    for b, w in list(workers.items()):
        for o in ops:
            r = results[b][o]
            if r["error"] or w.dead:
                continue
            try:
                rep = w.request({"cmd": "warmup", "op": o, "seconds": warmup_s,
                                 "target_batch_ns": TARGET_BATCH_NS, "max_batch": MAX_BATCH},
                                timeout=warmup_s + REQUEST_GRACE)
            except WorkerError as e:
                bridge_died(b, str(e))
                break
            if "error" in rep:
                r["error"] = rep["error"]
            else:
                r["batch"] = rep["batch"]
        log(f"[{b}] warmed up; batch sizes: " +
            ", ".join(f"{o}={results[b][o]['batch']}" for o in ops))

    # interleaved rounds
    order = [b for b in bridges if b in workers]
    for rnd in range(rounds):
        t0 = time.monotonic()
        for i, o in enumerate(ops):
            k = (rnd + i) % max(1, len(order))
            for b in order[k:] + order[:k]:
                w, r = workers[b], results[b][o]
                if r["error"] or w.dead or r["batch"] is None:
                    continue
                try:
                    rep = w.request({"cmd": "run", "op": o, "batch": r["batch"], "seconds": slice_s,
                                     "min_batches": 3}, timeout=slice_s + REQUEST_GRACE)
                except WorkerError as e:
                    bridge_died(b, str(e))
                    continue
                if "error" in rep:
                    r["error"] = rep["error"]
                    continue
                s = rep["samples"]
                r["samples"].extend(s)
                r["per_round"].append(statistics.median(s))
        log(f"round {rnd + 1}/{rounds} done in {time.monotonic() - t0:.1f}s")

    # Java-side floor of the 1 MiB hashCode op, measured in-process through JPype
    if "bytes_1m" in ops and "jpype" in workers and not workers["jpype"].dead:
        try:
            rep = workers["jpype"].request({"cmd": "floor"}, timeout=REQUEST_GRACE)
            if "floor_ns" in rep:
                meta["jpype"]["info"]["bytes_1m_java_hash_only_ns"] = rep["floor_ns"]
        except WorkerError as e:
            log(f"[jpype] floor measurement failed: {e}")

    for w in workers.values():
        w.close()
    # keep the worker logs only when something went wrong (their paths are printed then)
    if not any(m["error"] for m in meta.values()) and not any(
            r["error"] for per_op in results.values() for r in per_op.values()):
        shutil.rmtree(log_dir, ignore_errors=True)
    return results, meta


def summarize(results):
    summary = {}
    for b, per_op in results.items():
        summary[b] = {}
        for o, r in per_op.items():
            s = sorted(r["samples"])
            d = {"error": r["error"], "batch": r["batch"], "n_batches": len(s),
                 "n_calls": len(s) * (r["batch"] or 0)}
            if s:
                d.update({
                    "median_ns": percentile(s, 0.5),
                    "p99_ns": percentile(s, 0.99),
                    "p1_ns": percentile(s, 0.01),
                    "p10_ns": percentile(s, 0.10),
                    "p25_ns": percentile(s, 0.25),
                    "p75_ns": percentile(s, 0.75),
                    "p90_ns": percentile(s, 0.90),
                    "min_ns": s[0],
                    "max_ns": s[-1],
                    "mean_ns": sum(s) / len(s),
                    "per_round_median_ns": r["per_round"],
                })
            summary[b][o] = d
    return summary


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------

def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns < 1_000:
        return f"{ns:.0f} ns"
    us = ns / 1_000
    if us < 10:
        return f"{us:.2f} µs"
    if us < 1_000:
        return f"{us:.1f} µs" if us < 100 else f"{us:.0f} µs"
    ms = us / 1_000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def fmt_ratio(x):
    if x is None:
        return "—"
    return f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def cell(summary, b, o, key):
    if b not in summary:
        return "not run"
    d = summary[b][o]
    if d.get("error"):  # also when it failed part-way: partial numbers stay in the JSON only
        return f"error: {d['error']}" if key == "median_ns" else "error"
    return fmt_ns(d.get(key))


def ratio(summary, num_b, den_b, o):
    try:
        a, b = summary[num_b][o], summary[den_b][o]
    except KeyError:
        return None
    if a.get("error") or b.get("error"):
        return None
    n, d = a.get("median_ns"), b.get("median_ns")
    if not n or not d:
        return None
    return n / d


def write_markdown(path, summary, meta, machine, settings, ops):
    L = []
    L.append("# Gatun foundation benchmark: Gatun vs Py4J vs JPype")
    L.append("")
    if settings.get("quick"):
        L.append("> **QUICK MODE** (smoke test): too few samples for the numbers to mean much.")
        L.append("")
    L.append(f"- Date: {machine['date']}" + (f" (git {machine['git']})" if machine.get("git") else ""))
    L.append(f"- Machine: {machine['nproc']} cores (nproc), {machine['cpu']}, Linux {machine['kernel']}"
             + (f", load avg at start {' '.join(machine['loadavg'])}" if machine.get("loadavg") else "")
             + (f", at end {' '.join(machine['loadavg_end'])}" if machine.get("loadavg_end") else ""))
    L.append(f"- Java: {' / '.join(machine['java'])} ({machine['java_home']}), the same JVM for every bridge")
    L.append(f"- Python: {machine['python']}")
    vers = []
    for b, key, dist in (("gatun", "gatun_version", "gatun"), ("py4j", "py4j_version", "py4j"),
                         ("jpype", "jpype_version", "JPype1")):
        v = meta.get(b, {}).get("info", {}).get(key) or machine.get(f"{dist}_installed")
        vers.append(f"{B.BRIDGE_LABELS[b]} {v or 'n/a'}")
    L.append(f"- Versions: {', '.join(vers)}")
    L.append("- Py4J setup: `py4j.ClientServer` (pinned-thread mode, as PySpark) on loopback TCP, "
             "`JavaParameters(auto_convert=True)`, `PythonParameters(port=0, eager_load=False)`; "
             "JPype: in-process JVM, `@JImplements` callback, explicit `JArray(JByte)` / `ArrayList(list)` conversion.")
    L.append(f"- Method: {settings['rounds']} interleaved rounds × {settings['slice']} s slice per bridge per "
             f"operation after {settings['warmup']} s warm-up per operation; batches of calls sized to ≥"
             f"{TARGET_BATCH_NS // 1000} µs each; median and p99 are over per-batch per-call times.")
    L.append(f"- Targets: pre-bound call ≥{SPEEDUP_TARGETS['prebound_call']:.0f}x faster than Py4J; "
             f"navigated static and object creation ≥{SPEEDUP_TARGETS['static_call']:.0f}x; "
             f"callbacks ≥{SPEEDUP_TARGETS['callback']:.0f}x; 1 MiB bytes ≥{SPEEDUP_TARGETS['bytes_1m']:.0f}x; "
             f"within {JPYPE_RATIO_TARGET:.0f}x of JPype (Gatun/JPype ≤ {JPYPE_RATIO_TARGET:.0f}).")
    L.append("")
    L.append("| operation | Gatun median | Gatun p99 | Py4J median | Py4J p99 | JPype median "
             "| speed-up vs Py4J (Py4J/Gatun) | Gatun/JPype |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for o in ops:
        row = [B.OP_LABELS[o],
               cell(summary, "gatun", o, "median_ns"), cell(summary, "gatun", o, "p99_ns"),
               cell(summary, "py4j", o, "median_ns"), cell(summary, "py4j", o, "p99_ns"),
               cell(summary, "jpype", o, "median_ns"),
               fmt_ratio(ratio(summary, "py4j", "gatun", o)),
               fmt_ratio(ratio(summary, "gatun", "jpype", o))]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    # How much the rounds differ: each round's median, summarised (cold work is in the warm-up).
    L.append(f"Spread over the {settings['rounds']} rounds: each round's median per call, as the median of those "
             "(min–max). Dropped: the warm-up of each operation (untimed, for the JIT and first allocations: "
             "the cold runs), and nothing else; an operation that failed is shown as an error, not left out.")
    L.append("")
    present = [b for b in ("gatun", "py4j", "jpype") if b in summary]
    L.append("| operation | " + " | ".join(f"{B.BRIDGE_LABELS[b]} rounds" for b in present) + " |")
    L.append("|---|" + "---:|" * len(present))
    for o in ops:
        cells = []
        for b in present:
            rounds = summary[b].get(o, {}).get("per_round_median_ns") or []
            cells.append(f"{fmt_ns(statistics.median(rounds))} ({fmt_ns(min(rounds))}–{fmt_ns(max(rounds))})"
                         if rounds else "—")
        L.append(f"| {B.OP_LABELS[o]} | " + " | ".join(cells) + " |")
    L.append("")

    # targets
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | status |")
    L.append("|---|---:|---|")
    for o, t in SPEEDUP_TARGETS.items():
        if o not in ops:
            continue
        r = ratio(summary, "py4j", "gatun", o)
        st = "n/a" if r is None else ("met" if r >= t else "**not met**")
        L.append(f"| {B.OP_SHORT[o]}: ≥{t:.0f}x faster than Py4J | {fmt_ratio(r)} | {st} |")
    jr = {o: ratio(summary, "gatun", "jpype", o) for o in ops}
    known = {o: v for o, v in jr.items() if v is not None}
    if known:
        worst = max(known, key=known.get)
        st = "met" if known[worst] <= JPYPE_RATIO_TARGET else "**not met**"
        missing = [B.OP_SHORT[o] for o in ops if jr[o] is None]
        extra = f" ({len(known)}/{len(ops)} ops measured)" if missing else ""
        L.append(f"| within {JPYPE_RATIO_TARGET:.0f}x of JPype on every op | worst: {B.OP_SHORT[worst]} "
                 f"{fmt_ratio(known[worst])}{extra} | {st} |")
    else:
        L.append(f"| within {JPYPE_RATIO_TARGET:.0f}x of JPype on every op | — | n/a |")
    L.append("")

    # bridge problems and notes
    probs = [(b, m["error"]) for b, m in meta.items() if m.get("error")]
    if probs:
        L.append("## Bridge errors")
        L.append("")
        for b, e in probs:
            L.append(f"- {B.BRIDGE_LABELS[b]}: {e}")
        L.append("")
    rt = meta.get("py4j", {}).get("roundtrips") or {}
    floor = meta.get("jpype", {}).get("info", {}).get("bytes_1m_java_hash_only_ns")
    if rt or floor:
        L.append("## Notes")
        L.append("")
    if rt:
        L.append("- Py4J socket round trips (Python→Java commands) per call: " +
                 ", ".join(f"{B.OP_SHORT[o]} {rt[o]}" for o in ops if o in rt) +
                 ". Py4J does not cache navigation: every `jvm.a.b.C.m` step is a round trip; "
                 "`auto_convert` turns a list into an ArrayList with one `add` round trip per element. "
                 "The callback additionally makes one Java→Python round trip on the same connection.")
    if floor and "bytes_1m" in ops:
        L.append(f"- The 1 MiB op includes Java-side work: `Arrays.hashCode` over an existing 1 MiB byte[] "
                 f"alone takes {fmt_ns(floor)} (measured through JPype after the rounds), a floor no bridge "
                 f"can beat; the `new String(bytes, 0, 0)` row passes the same bytes to a constructor that only bounds-checks them and so shows "
                 f"the transfer cost alone (informational, no target).")
    if rt or floor:
        L.append("")
    L.append("Batch sizes (calls per timed batch): " + "; ".join(
        f"{B.BRIDGE_LABELS[b]}: " + ", ".join(
            f"{B.OP_SHORT[o]} {summary[b][o]['batch']}" for o in ops if summary[b][o].get("batch"))
        for b in summary) + ". With batch size 1 the p99 is a true per-call p99; with larger batches it is "
        "the p99 of batch averages and so hides single-call outliers.")
    L.append("")
    L.append("Chart: `foundation.png`; raw numbers: `foundation.json`. Regenerate with `make bench`.")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_chart(path, summary, ops, bridges):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    handles = []

    colors = {"gatun": "#1b9e77", "py4j": "#d95f02", "jpype": "#7570b3"}
    fig, ax = plt.subplots(figsize=(11, 5.5))
    n = len(bridges)
    width = 0.8 / max(1, n)
    ymin = None
    for i, b in enumerate(bridges):
        xs, ys, lo, hi, errs = [], [], [], [], []
        for j, o in enumerate(ops):
            d = summary.get(b, {}).get(o, {})
            x = j - 0.4 + width * (i + 0.5)
            if d.get("median_ns") and not d.get("error"):
                med = d["median_ns"] / 1000
                xs.append(x)
                ys.append(med)
                lo.append(0)
                hi.append(max(0.0, d["p99_ns"] / 1000 - med))
                ymin = med if ymin is None else min(ymin, med)
            else:
                errs.append(x)
        if xs:
            ax.bar(xs, ys, width, color=colors.get(b), yerr=[lo, hi], capsize=2,
                   error_kw={"elinewidth": 0.8, "ecolor": "#333"})
        for x in errs:
            ax.text(x, 0.02, "error" if b in summary else "n/a", rotation=90, ha="center",
                    va="bottom", fontsize=8, color=colors.get(b),
                    transform=ax.get_xaxis_transform())
        handles.append(Patch(color=colors.get(b), label=f"{B.BRIDGE_LABELS[b]} median"
                             + ("" if xs else " (error)")))
    ax.set_yscale("log")
    ax.set_ylabel("latency per call (µs, log scale); whisker = p99")
    ax.set_xticks(range(len(ops)))
    ax.set_xticklabels([B.OP_SHORT[o] for o in ops], rotation=15)
    ax.set_title("Gatun vs Py4J vs JPype: per-call latency (lower is better)")
    ax.grid(axis="y", which="both", alpha=0.3)
    if ymin:
        ax.set_ylim(bottom=min(ymin / 3, 0.5))
    ax.legend(handles=handles)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    ap.add_argument("--bridges", default=",".join(B.BRIDGES),
                    help="comma-separated subset of gatun,py4j,jpype")
    ap.add_argument("--ops", default=",".join(B.OP_KEYS), help="comma-separated subset of " +
                    ",".join(B.OP_KEYS))
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default bench/results)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--slice", type=float, help="seconds per bridge per op per round")
    ap.add_argument("--warmup", type=float, help="warm-up seconds per bridge per op")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if any selected bridge or operation errored")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        return B.worker_main(a.worker)

    bridges = [b.strip() for b in a.bridges.split(",") if b.strip()]
    ops = [o.strip() for o in a.ops.split(",") if o.strip()]
    bad = [b for b in bridges if b not in B.BRIDGES] + [o for o in ops if o not in B.OP_KEYS]
    if bad:
        ap.error(f"unknown bridge/op: {', '.join(bad)}")
    settings = dict(QUICK if a.quick else FULL)
    for k in ("rounds", "slice", "warmup"):
        if getattr(a, k) is not None:
            settings[k] = getattr(a, k)
    settings["quick"] = a.quick

    t_start = time.monotonic()
    java = B.resolve_java()
    machine = machine_info(java)
    print(f"bridges={bridges} rounds={settings['rounds']} slice={settings['slice']}s "
          f"warmup={settings['warmup']}s java={java['java']}", flush=True)
    results, meta = run_benchmark(bridges, ops, settings["rounds"], settings["slice"],
                                  settings["warmup"], log=lambda m: print(m, flush=True), java=java)
    summary = summarize(results)
    settings["elapsed_s"] = round(time.monotonic() - t_start, 1)
    try:
        machine["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass

    os.makedirs(a.out, exist_ok=True)
    md = os.path.join(a.out, f"{NAME}.md")
    js = os.path.join(a.out, f"{NAME}.json")
    png = os.path.join(a.out, f"{NAME}.png")
    write_markdown(md, summary, meta, machine, settings, ops)
    with open(js, "w") as f:
        json.dump({
            "machine": machine, "settings": settings, "ops": {o: B.OP_LABELS[o] for o in ops},
            "targets": {"speedup_vs_py4j": SPEEDUP_TARGETS, "max_ratio_vs_jpype": JPYPE_RATIO_TARGET},
            "bridges": {b: {k: v for k, v in m.items() if k != "log"} for b, m in meta.items()},
            "results_ns": summary,
            "ratios": {o: {"speedup_vs_py4j": ratio(summary, "py4j", "gatun", o),
                           "gatun_over_jpype": ratio(summary, "gatun", "jpype", o)} for o in ops},
        }, f, indent=1)
    if not a.no_chart:
        try:
            write_chart(png, summary, ops, bridges)
        except Exception as e:  # noqa: BLE001
            print(f"chart failed: {B.short_error(e)}", flush=True)
    print(open(md).read())
    print(f"wrote {md}, {js}" + ("" if a.no_chart else f", {png}") +
          f" in {settings['elapsed_s']}s", flush=True)
    for b, m in meta.items():
        if m.get("error") or any(summary[b][o].get("error") for o in ops):
            print(f"[{b}] worker log: {m.get('log')}", flush=True)
    if a.strict:
        failed = any(m.get("error") for m in meta.values()) or any(
            summary[b][o].get("error") for b in summary for o in ops)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
