"""How far apart two consecutive clock reads of a spinning thread land, idle and beside busy
processes (`make bench-gaps`; about 1 minute). Writes bench/results/clock_gaps.{md,json}.

The wait policy (spec/protocol.md §2.2.1) takes a spin whose clock reads were more than GAP apart
for a sign that the spinner lost its core, and stops spinning. GAP must lie above the gaps that
an idle machine shows anyway (interrupts, and on a VM the hypervisor's own exits) and below the
gaps of a spinner that the scheduler took off its core. This measures both with
bench/clock_gaps.c, at K = 0, nproc and 2 x nproc `python -c` loops beside it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import honest  # noqa: E402
from load_bench import Hogs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BOUNDS_US = [2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]


def build(tmp: str) -> str:
    exe = os.path.join(tmp, "clock_gaps")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "clock_gaps.c")], check=True)
    return exe


def hogs_running(h: Hogs) -> None:
    """Waits until every busy process has used CPU (they start as interpreters first)."""
    for p in h.procs:
        # A busy process prints nothing; its CPU ticks in /proc show that the loop runs.
        while True:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[11]) > 0:  # utime, in clock ticks
                break
            if p.poll() is not None:
                raise RuntimeError(f"busy process {p.pid} exited {p.returncode}")
            os.sched_yield()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="spin time per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    n = os.cpu_count() or 1
    levels = [0, n, 2 * n]
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "cpus": n, "kernel": os.uname().release, "seconds": a.seconds, "loadavg_start": honest.loadavg(),
           "levels": []}
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        for k in levels:
            lv = {"busy": k, "loadavg_start": honest.loadavg(), "runs": []}
            with Hogs(k, limit=a.runs * a.seconds + 120) as h:
                hogs_running(h)
                for _ in range(a.runs):
                    out = subprocess.run([exe, str(a.seconds)], check=True, capture_output=True, text=True)
                    lv["runs"].append(json.loads(out.stdout))
            lv["loadavg_end"] = honest.loadavg()
            doc["levels"].append(lv)
            print(f"K={k}: " + ", ".join(f">{b}µs {r['over_us'][str(b)]}" for r in lv["runs"]
                                          for b in (20, 200)), file=sys.stderr)
    doc["loadavg_end"] = honest.loadavg()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "clock_gaps.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, "clock_gaps.md"), "w") as f:
        f.write(render(doc))


def rate(run: dict, bound: int) -> float:
    return run["over_us"][str(bound)] / run["seconds"]


def render(doc: dict) -> str:
    def cell(lv: dict, b: int) -> str:
        s = honest.spread([rate(r, b) for r in lv["runs"]])
        return f"{s['median']:,.1f} ({s['min']:,.1f}–{s['max']:,.1f})"

    L = [f"# Clock gaps a spinning thread sees ({doc['date']})", "",
         f"Machine: {doc['cpus']} CPUs, kernel {doc['kernel']}. Written by `bench/clock_gaps.py`. "
         + honest.load_text(doc["loadavg_start"], doc["loadavg_end"]), "",
         f"One thread reads the monotonic clock in a tight loop for {doc['seconds']:g} s per run "
         f"(bench/clock_gaps.c), {len(doc['levels'][0]['runs'])} runs per level, with K `python -c` "
         "busy loops beside it. Cells: gaps per second longer than the bound, median over runs "
         "(min–max). No run was dropped (a failed run stops the script).", "",
         "| gap longer than | " + " | ".join(f"K = {lv['busy']}" for lv in doc["levels"]) + " |",
         "|---|" + "---|" * len(doc["levels"])]
    for b in BOUNDS_US:
        L.append(f"| {b:,} µs | " + " | ".join(cell(lv, b) for lv in doc["levels"]) + " |")
    L += ["", "Longest gap per level, median over runs (min–max): " + "; ".join(
        f"K = {lv['busy']}: " + (lambda s: f"{s['median'] / 1e3:,.0f} µs ({s['min'] / 1e3:,.0f}–{s['max'] / 1e3:,.0f})")(
            honest.spread([r["max_gap_ns"] for r in lv["runs"]])) for lv in doc["levels"]) + ".", "",
          "Load average per level: " + "; ".join(
              f"K = {lv['busy']}: {' '.join(map(str, lv['loadavg_start']))} → {' '.join(map(str, lv['loadavg_end']))}"
              for lv in doc["levels"]) + ".", ""]
    return "\n".join(L)


if __name__ == "__main__":
    main()
