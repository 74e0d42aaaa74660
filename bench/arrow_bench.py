"""Raw Arrow transfer between Python and the JVM, outside Spark (issue 5).

For each size (default 1 MiB, 100 MiB, 1 GiB of mixed-type Arrow data, in ~4 MiB batches) and
each direction, the time until the receiving side holds every batch as Arrow data:

* gatun          Gatun's shared-memory arena (spec/arrow.md). Python -> JVM: send_arrow_buffers,
                 then Java loads every batch (in place) with ArrowReader.loadNextBatch.
                 JVM -> Python: Java holds the batches as IPC byte[] (as Spark does after a
                 collect); ArrowExporter.fromIpcBatches + get_arrow_data builds a pyarrow.Table
                 (with a 64 MiB arena, it continues in extension arenas as the arena fills,
                 spec/arrow.md §4.1; runs before that change copied the kept batches out). The
                 first run makes the extensions; later ones reuse them (kept as spares when the
                 previous table was dropped), as repeated collections do.
* gatun-stream   JVM -> Python only: the same, read as a RecordBatchReader whose batches are
                 dropped as they come (the arena is reused; no copy on the Python side).
* socket         Arrow IPC stream over a loopback TCP socket, as PySpark's toPandas reads it:
                 pyarrow writes/reads a socket file (64 KiB buffered); Java reads with
                 ArrowStreamReader / writes with MessageSerializer, in the Gatun server's JVM.
* py4j           Py4J (PySpark-style ClientServer): one byte[] per batch, IPC-encoded; Java loads
                 each into vectors / returns each stored byte[].

Run: .venv/bin/python bench/arrow_bench.py [--sizes 1,100,1024] [--out bench/results]
Quick check that it works: --sizes 1 --repeat 2 --no-py4j --no-chart --out /tmp/somewhere

Every cell reports its first run (cold) apart from the others (warm: median with min–max); the
load average is recorded at the start and end of the whole run and of each size; no run is
dropped unless it failed, and the report lists those (bench/honest.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bridges import _read_port, find_py4j_jar, resolve_java  # noqa: E402
from honest import Runs, cold_warm, dropped_text, load_text, loadavg  # noqa: E402

from gatun import GatunClient  # noqa: E402
from gatun.launcher import ARROW_JVM_ARGS, arrow_jar  # noqa: E402

MIB = 1 << 20
BATCH_BYTES = 4 * MIB


def make_table(total: int) -> pa.Table:
    """Mixed types (int64, float64, string, bool, timestamp[us, UTC], decimal128(21,2)), ~total bytes."""
    row_bytes = 8 + 8 + (4 + 12) + 1 + 8 + 16  # approximate IPC bytes per row
    rows = max(1, total // row_bytes)
    per_batch = max(1, BATCH_BYTES // row_bytes)
    batches = []
    import numpy as np

    rng = np.random.default_rng(7)
    start = 0
    while start < rows:
        n = min(per_batch, rows - start)
        ints = np.arange(start, start + n, dtype=np.int64)
        words = pa.array(ints.astype(str)).cast(pa.string())
        batches.append(pa.record_batch({
            "id": pa.array(ints),
            "x": pa.array(rng.random(n)),
            "name": pa.compute.binary_join_element_wise("name-", words, ""),
            "flag": pa.array(ints % 3 == 0),
            "ts": pa.array(ints * 1_000_000, pa.timestamp("us", tz="UTC")),
            "amount": pa.array(ints % 100_000, pa.int64()).cast(pa.decimal128(21, 2)),
        }))
        start += n
    return pa.Table.from_batches(batches)


def ipc_bytes(t: pa.Table) -> int:
    return sum(pa.ipc.get_record_batch_size(b) for b in t.to_batches())


def compile_helper(work: Path) -> Path:
    java_home = resolve_java()["java_home"]
    out = work / "classes"
    out.mkdir()
    subprocess.run([str(Path(java_home) / "bin" / "javac"), "--release", "17", "-cp", str(arrow_jar()),
                    "-d", str(out), str(BENCH_DIR / "ArrowBenchHelper.java")], check=True)
    return out


class Py4JSide:
    """A Py4J server (bench/Py4JBenchServer.java) with the helper and Arrow on its class path."""

    def __init__(self, classes: Path):
        from py4j.clientserver import ClientServer, JavaParameters, PythonParameters

        java = resolve_java()["java"]
        secret = secrets.token_hex(16)
        cp = os.pathsep.join([find_py4j_jar(), str(arrow_jar()), str(classes)])
        self.proc = subprocess.Popen(
            [java, "-Xmx4g", *ARROW_JVM_ARGS, "-cp", cp, str(BENCH_DIR / "Py4JBenchServer.java")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ, PY4J_BENCH_SECRET=secret),
            text=True)
        port = _read_port(self.proc, timeout=60)
        self.cs = ClientServer(java_parameters=JavaParameters(port=port, auth_token=secret, auto_convert=True),
                               python_parameters=PythonParameters(port=0, eager_load=False))
        self.helper = self.cs.jvm.gatunbench.ArrowBenchHelper

    def close(self) -> None:
        try:
            self.cs.shutdown()
        finally:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def timed(f) -> float:
    gc.collect()
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def run_size(client: GatunClient, py4j: Py4JSide | None, size_mib: float, repeat: int) -> dict:
    t = make_table(int(size_mib * MIB))
    nbytes = ipc_bytes(t)
    rows = t.num_rows
    helper = client.jvm.gatunbench.ArrowBenchHelper
    schema_msg = t.schema.serialize().to_pybytes()
    load_start = loadavg()
    runs = Runs()
    label = f"{size_mib:g} MiB"

    def rec(direction, path, f, i):
        runs.run((label, direction, path), i, lambda: timed(f))

    # Setup (untimed): the Gatun JVM holds the batches as IPC byte[].
    helper.store(client.send_arrow_buffers(t))
    if py4j is not None:
        py4j.helper.setSchema(schema_msg)
        py4j.helper.clearStored()
        for b in t.to_batches():
            py4j.helper.keep(b.serialize().to_pybytes())

    for i in range(repeat):
        # Python -> JVM
        def gatun_in():
            assert helper.drain(client.send_arrow_buffers(t)) == rows
        rec("py_to_jvm", "gatun", gatun_in, i)

        def socket_in():
            port = helper.listen()
            got = {}
            th = threading.Thread(target=lambda: got.setdefault("rows", helper.drainSocket()))
            th.start()
            with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("wb", 65536) as f:
                with pa.ipc.new_stream(f, t.schema) as w:
                    for b in t.to_batches():
                        w.write_batch(b)
            th.join()
            assert got["rows"] == rows
        rec("py_to_jvm", "socket", socket_in, i)

        # JVM -> Python
        def gatun_out():
            assert client.get_arrow_data(helper.exporter(client.arrow_arena())).num_rows == rows
        rec("jvm_to_py", "gatun", gatun_out, i)

        def gatun_stream_out():
            n = 0
            for b in client.get_arrow_data(helper.exporter(client.arrow_arena()), reader=True):
                n += b.num_rows
            assert n == rows
        rec("jvm_to_py", "gatun-stream", gatun_stream_out, i)

        def socket_out():
            port = helper.listen()
            th = threading.Thread(target=helper.serveStored)
            th.start()
            with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rb", 65536) as f:
                got = pa.ipc.open_stream(f).read_all()
            th.join()
            assert got.num_rows == rows
        rec("jvm_to_py", "socket", socket_out, i)

    # Py4J after the others: its minutes at 1 GiB would otherwise part Gatun's repeated runs by
    # longer than the client keeps a dropped table's extension arenas for reuse (spec/arrow.md
    # §4.1). It moves ~10-100 MB/s: at 1 GiB one run takes minutes, and more would not change it.
    py4j_runs = 0 if py4j is None else repeat if size_mib < 1024 else 1
    for i in range(py4j_runs):
        def py4j_in():
            py4j.helper.setSchema(schema_msg)
            n = sum(py4j.helper.loadBatch(b.serialize().to_pybytes()) for b in t.to_batches())
            assert n == rows
        rec("py_to_jvm", "py4j", py4j_in, i)

        def py4j_out():
            schema = pa.ipc.read_schema(pa.py_buffer(py4j.helper.storedSchema()))
            batches = [pa.ipc.read_record_batch(pa.ipc.read_message(pa.py_buffer(py4j.helper.storedBatch(i))), schema)
                       for i in range(py4j.helper.storedCount())]
            assert pa.Table.from_batches(batches, schema).num_rows == rows
        rec("jvm_to_py", "py4j", py4j_out, i)

    out = {"size_mib": size_mib, "ipc_bytes": nbytes, "rows": rows, "batches": len(t.to_batches()),
           "loadavg_start": load_start, "loadavg_end": loadavg(), "dropped": runs.dropped,
           "seconds": {"py_to_jvm": {}, "jvm_to_py": {}}, "gb_per_s": {"py_to_jvm": {}, "jvm_to_py": {}}}
    for (_, direction, path), secs in runs.values.items():
        out["seconds"][direction][path] = {"all": secs, **cold_warm(secs)}
        out["gb_per_s"][direction][path] = rates(nbytes, secs)
    return out


def rates(nbytes: int, secs: list[float]) -> dict:
    """GB/s of the cold run and of the warm runs (median, min–max); the fastest run is the max."""
    gb = [nbytes / s / 1e9 for s in secs]
    cw = cold_warm(gb)
    return {"cold": cw["cold"], "warm": cw["warm"]}


def headline(cell: dict) -> float:
    """The number a cell is compared by: the warm median, or the cold run when it is the only one."""
    return cell["warm"]["median"] if cell.get("warm") else cell["cold"]


def fmt_cell(cell: dict | None) -> str:
    if cell is None:
        return "–"
    w = cell.get("warm")
    warm = (f"{w['median']:.2f} ({w['min']:.2f}–{w['max']:.2f}, {w['runs']} runs)" if w else "no warm run")
    return f"{warm}; cold {cell['cold']:.2f}"


def write_report(res: dict, out_dir: Path, chart: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "arrow.json").write_text(json.dumps(res, indent=2))
    lines = [
        "# Arrow raw transfer: Gatun vs Arrow IPC over a socket vs Py4J byte arrays",
        "",
        f"Run {res['when']} on {res['machine']} (`bench/arrow_bench.py`), {res['repeat']} runs per cell"
        " (Py4J: one run at 1 GiB). " + load_text(res["loadavg_start"], res["loadavg_end"]),
        "",
        "GB/s = IPC-encoded bytes / seconds until the receiver holds every batch as Arrow data. Each cell:"
        " the warm runs' median GB/s (min–max, number of runs), then the first run of the cell (cold:"
        " Gatun's first JVM → Python run makes its extension arenas, later ones reuse them as spares)."
        " Before the timed runs, one untimed transfer per size stores the batches in the JVM. Ratios"
        " compare warm medians (cold where a cell has one run).",
        f"Arena: {res['arena_mib']} MiB. {res['note']}",
        "",
        dropped_text([d for r in res["sizes"] for d in r["dropped"]]),
        "",
    ]
    for direction, title in [("py_to_jvm", "Python → JVM"), ("jvm_to_py", "JVM → Python")]:
        paths = sorted({p for r in res["sizes"] for p in r["gb_per_s"][direction]})
        lines += [f"## {title}", "", "| size | " + " | ".join(f"{p} GB/s" for p in paths)
                  + " | gatun / socket | gatun / py4j | load average start → end |", "|---|" + "---|" * (len(paths) + 3)]
        for r in res["sizes"]:
            g = r["gb_per_s"][direction]
            cells = [fmt_cell(g.get(p)) for p in paths]
            ratio_s = f"{headline(g['gatun']) / headline(g['socket']):.1f}x" if "gatun" in g and "socket" in g else "–"
            ratio_p = f"{headline(g['gatun']) / headline(g['py4j']):.1f}x" if "gatun" in g and "py4j" in g else "–"
            load = f"{r['loadavg_start'][0]:.2f} → {r['loadavg_end'][0]:.2f}"
            lines.append(f"| {r['size_mib']:g} MiB ({r['ipc_bytes'] / MIB:.0f} MiB IPC, {r['batches']} batches) | "
                         + " | ".join(cells) + f" | {ratio_s} | {ratio_p} | {load} |")
        lines.append("")
    (out_dir / "arrow.md").write_text("\n".join(lines))
    if chart:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for ax, (direction, title) in zip(axes, [("py_to_jvm", "Python → JVM"), ("jvm_to_py", "JVM → Python")]):
            paths = sorted({p for r in res["sizes"] for p in r["gb_per_s"][direction]})
            width = 0.8 / len(paths)
            for i, p in enumerate(paths):
                xs = [j + i * width for j in range(len(res["sizes"]))]
                cells = [r["gb_per_s"][direction].get(p) for r in res["sizes"]]
                ys = [headline(c) if c else 0 for c in cells]
                # Error bars: the warm runs' min–max around their median.
                lo = [headline(c) - c["warm"]["min"] if c and c.get("warm") else 0 for c in cells]
                hi = [c["warm"]["max"] - headline(c) if c and c.get("warm") else 0 for c in cells]
                ax.bar(xs, ys, width, label=p, yerr=[lo, hi], capsize=3)
            ax.set_xticks([j + 0.4 - width / 2 for j in range(len(res["sizes"]))])
            ax.set_xticklabels([f"{r['size_mib']:g} MiB" for r in res["sizes"]])
            ax.set_ylabel("GB/s, warm median, min–max (higher is better)")
            ax.set_title(title)
            ax.legend()
        fig.suptitle("Arrow raw transfer (bench/arrow_bench.py)")
        fig.tight_layout()
        fig.savefig(out_dir / "arrow.png", dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,100,1024", help="MiB of Arrow data, comma-separated")
    ap.add_argument("--repeat", type=int, default=0, help="runs per cell (default: 10 / 3 / 3 by size)")
    ap.add_argument("--arena", default="64MiB", help="Gatun arena size (default 64MiB)")
    ap.add_argument("--no-py4j", action="store_true")
    ap.add_argument("--out", default=str(BENCH_DIR / "results"))
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--note", default="", help="what else ran on the machine (the load averages are recorded anyway)")
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="gatun-arrow-bench-") as work:
        classes = compile_helper(Path(work))
        client = GatunClient(arrow_arena_bytes=args.arena, classpath=[str(classes)],
                             allowlist="default,gatunbench.*", jvm_args=["-Xmx4g"])
        py4j = None if args.no_py4j else Py4JSide(classes)
        try:
            res = {"loadavg_start": loadavg(), "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.python_version()}, "
                              f"pyarrow {pa.__version__}, {resolve_java()['java_home']}",
                   "arena_mib": client._arrow_arena().size // MIB, "note": args.note,
                   "repeat": args.repeat or "10/3/3", "sizes": []}
            for s in sizes:
                repeat = args.repeat or (10 if s <= 10 else 3)
                print(f"{s:g} MiB ...", flush=True)
                r = run_size(client, py4j, s, repeat)
                res["sizes"].append(r)
                print(json.dumps(r["gb_per_s"]), flush=True)
            res["loadavg_end"] = loadavg()
        finally:
            if py4j is not None:
                py4j.close()
            client.close()
    write_report(res, Path(args.out), not args.no_chart)
    print((Path(args.out) / "arrow.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
