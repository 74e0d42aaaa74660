"""Soak (issue 13): mixed calls, callbacks, Arrow transfers and connects/disconnects from Python and
Go against one server JVM for SOAK_SECONDS, sampling the server's RSS, fds, threads, live sessions
and its /dev/shm files, the Python client's RSS, fds and threads, and the registry size of the
long-lived sessions. Writes <out>/soak.{json,md,png} (default bench/results/) and exits 1 when a
worker fails or a figure grows: the mean of the last third of the samples above the mean of the
middle third by more than a tolerance (RSS: 10% + 16 MiB over the middle's mean; counts: 10% + 2 over
the middle's highest sample).

    python bench/soak.py [--seconds 3600] [--out bench/results]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import faultkit as fk  # noqa: E402
import honest  # noqa: E402
from gatun import GatunClient  # noqa: E402

FIGURES = ("server_rss_mib", "server_fds", "server_threads", "server_sessions", "server_shm_files",
           "client_rss_mib", "client_fds", "client_threads", "registry_objects")


class Comparator:
    class Java:
        implements = ["java.util.Comparator"]

    def compare(self, a, b):
        return (a > b) - (a < b)


def worker(name: str, stop: threading.Event, counts: dict, errors: list, fn) -> threading.Thread:
    def run():
        n = 0
        try:
            while not stop.is_set():
                fn()
                n += 1
                counts[name] = n
        except BaseException as e:  # noqa: BLE001 - reported and fails the soak
            errors.append(f"{name}: {type(e).__name__}: {e}")
            stop.set()

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 3600)))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--samples", type=int, default=60, help="how many samples over the run")
    ap.add_argument("--no-go", action="store_true", help="without the Go workers")
    ap.add_argument("--workers", default="py_calls,py_callbacks,py_cycles,py_arrow",
                    help="comma-separated Python workers to run (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # A bounded heap: the JVM's RSS then levels off once the heap has grown to its size, and what
    # grows beyond it is a leak outside the heap (threads, mappings, direct memory).
    load_start = honest.loadavg()
    launcher = fk.launch(memory="1m", jvm_args=["-Xmx256m"])
    pid = launcher.process.pid
    info_file = os.path.join(os.path.dirname(launcher._log_path), "connection.json")
    sock, token = launcher.info.socket_path, launcher.info.token
    stop = threading.Event()
    counts: dict[str, int] = {}
    errors: list[str] = []
    long_lived = [GatunClient(sock, token=token) for _ in range(3)]
    calls_c, callbacks_c, arrow_c = long_lived

    def calls():
        jvm = calls_c.jvm
        sb = jvm.java.lang.StringBuilder("x")
        for i in range(20):
            sb.append(i)
        assert sb.length() == 31
        m = jvm.java.util.HashMap()
        m.put("k", 1)
        assert m.get("k") == 1 and jvm.java.lang.Math.max(1, 2) == 2

    # One callback object for the whole run: a callback id lives as long as its session, on both
    # sides (spec §5.3), so a fresh object per call would grow the session by design.
    comparator = Comparator()

    def callbacks():
        lst = callbacks_c.jvm.java.util.ArrayList()
        for v in (5, 3, 9, 1, 7):
            lst.add(v)
        lst.sort(comparator)
        assert list(lst) == [1, 3, 5, 7, 9]

    try:
        import pyarrow as pa
        table = pa.table({"a": list(range(20_000)), "b": [str(i) for i in range(20_000)]})
    except ImportError:
        pa = None

    def arrow():
        back = arrow_c.get_arrow_data(arrow_c.send_arrow_buffers(table))
        assert back.equals(table)

    def cycles():
        c = GatunClient(sock, token=token)
        assert c.jvm.java.lang.Math.max(3, 4) == 4
        c.close()

    chosen = set(args.workers.split(","))
    jobs = {"py_calls": calls, "py_callbacks": callbacks, "py_cycles": cycles}
    if pa is not None:
        jobs["py_arrow"] = arrow
    threads = [worker(name, stop, counts, errors, fn) for name, fn in jobs.items() if name in chosen]
    go = None
    if not args.no_go:
        go = subprocess.Popen(["go", "run", "./cmd/gatun-soak", "-info", info_file, "-duration", f"{args.seconds}s"],
                              cwd=ROOT / "go", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    samples = []
    start = time.monotonic()
    interval = args.seconds / args.samples
    for i in range(args.samples + 1):
        target = start + i * interval
        if stop.wait(max(0.0, target - time.monotonic())):
            break
        # A dropped proxy in a reference cycle is released only when the cyclic collector runs, so
        # without this the registry count moves with the collector's timing (a 60 s CI soak once
        # saw its last third 85 objects above its middle): collect, then count what is alive.
        gc.collect()
        live = fk.live_instances(pid, ("dev.gatun.server.Session",))
        samples.append({
            "t": round(time.monotonic() - start, 2),
            "loadavg": honest.loadavg(),
            "server_rss_mib": round(fk.rss_kib(pid) / 1024, 1),
            "server_fds": fk.fds(pid),
            "server_threads": fk.threads(pid),
            "server_sessions": live["dev.gatun.server.Session"],
            "server_shm_files": len(fk.shm_region_dir_files(pid)),
            "shm_used_mib": round(fk.shm_bytes() / 2**20, 1),
            "client_rss_mib": round(fk.rss_kib(os.getpid()) / 1024, 1),
            "client_fds": fk.fds(os.getpid()),
            "client_threads": threading.active_count(),
            "registry_objects": sum(c.session_info()["objects"] for c in long_lived),
            "counts": dict(counts),
        })
    stop.set()
    for t in threads:
        t.join(60)
    go_counts = {}
    if go is not None:
        go_out, go_err = go.communicate(timeout=300)
        if go.returncode != 0:
            errors.append(f"go: exit {go.returncode}: {go_err[-2000:]}")
        else:
            go_counts = json.loads(go_out.strip().splitlines()[-1])
    for c in long_lived:
        c.close()
    launcher.stop()

    verdict = trend(samples)
    result = {"seconds": args.seconds, "loadavg_start": load_start, "loadavg_end": honest.loadavg(),
              "samples": samples, "counts": {**counts, **go_counts},
              "errors": errors, "growth": verdict, "ok": not errors and not any(v["grew"] for v in verdict.values())}
    (out / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    write_md(out / "soak.md", result)
    plot(out / "soak.png", samples)
    print(json.dumps({"ok": result["ok"], "counts": result["counts"], "errors": errors,
                      "growth": {k: v for k, v in verdict.items() if v["grew"]}}))
    return 0 if result["ok"] else 1


def trend(samples: list[dict]) -> dict[str, dict]:
    """Per figure: mean of the middle third vs the last third (the first third is warm-up)."""
    n = len(samples)
    verdict = {}
    for f in FIGURES:
        values = [s[f] for s in samples]
        if n < 6:
            verdict[f] = {"middle": None, "last": None, "grew": False}
            continue
        middle = values[n // 3: 2 * n // 3]
        last = values[2 * n // 3:]
        a, b = sum(middle) / len(middle), sum(last) / len(last)
        # RSS: the last third's mean over the middle's by 10% + 16 MiB. Counts move in steps
        # (releases go in batches, sessions come and go): their last third's mean must not rise
        # above the highest middle sample by more than 2 + 10%.
        allowed = a * 1.10 + 16 if f.endswith("_mib") else max(middle) * 1.10 + 2
        verdict[f] = {"middle": round(a, 2), "last": round(b, 2), "grew": b > allowed}
    return verdict


def write_md(path: Path, r: dict) -> None:
    lines = [f"# Soak: {r['seconds']:.0f} s (bench/soak.py)", "",
             "Mixed calls, callbacks (a Python Comparator in ArrayList.sort), Arrow round trips (20,000 rows) and",
             "connect/call/disconnect cycles from Python, mixed calls and cycles from Go, against one server JVM.",
             "", f"Result: {'OK, no figure grew' if r['ok'] else 'FAILED'}", "",
             "| figure | first sample | middle third (mean) | last third (mean) | last sample | grew |",
             "|---|---|---|---|---|---|"]
    for f, v in r["growth"].items():
        lines.append(f"| {f} | {r['samples'][0][f]} | {v['middle']} | {v['last']} | {r['samples'][-1][f]} | "
                     f"{'**yes**' if v['grew'] else 'no'} |")
    loads = [x["loadavg"][0] for x in r["samples"]]
    lines += ["", honest.load_text(r["loadavg_start"], r["loadavg_end"]) + " The 1-minute load average over the "
              f"samples: median {sorted(loads)[len(loads) // 2]:.2f} ({min(loads):.2f}–{max(loads):.2f}). One run; "
              "a figure grows when its last third's mean exceeds its middle third's (RSS by 10% + 16 MiB, "
              "counts by 10% + 2 over the middle's highest sample)."]
    lines += ["", "Work done: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["counts"].items())), ""]
    if r["errors"]:
        lines += ["Errors:", *[f"- {e}" for e in r["errors"]], ""]
    path.write_text("\n".join(lines))


def plot(path: Path, samples: list[dict]) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(3, 3, figsize=(12, 8), sharex=True)
    t = [s["t"] / 60 for s in samples]
    for ax, f in zip(axes.flat, FIGURES):
        ax.plot(t, [s[f] for s in samples], marker=".")
        ax.set_title(f, fontsize=9)
        ax.set_ylim(bottom=0)
    for ax in axes[-1]:
        ax.set_xlabel("minutes")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    sys.exit(main())
