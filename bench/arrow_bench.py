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
Timings on a shared 2-core machine are noisy; the report says which machine ran it.
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
import statistics
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
    results: dict[str, dict[str, list[float]]] = {"py_to_jvm": {}, "jvm_to_py": {}}

    def rec(direction, path, seconds):
        results[direction].setdefault(path, []).append(seconds)

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
        rec("py_to_jvm", "gatun", timed(gatun_in))

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
        rec("py_to_jvm", "socket", timed(socket_in))

        # JVM -> Python
        def gatun_out():
            assert client.get_arrow_data(helper.exporter(client.arrow_arena())).num_rows == rows
        rec("jvm_to_py", "gatun", timed(gatun_out))

        def gatun_stream_out():
            n = 0
            for b in client.get_arrow_data(helper.exporter(client.arrow_arena()), reader=True):
                n += b.num_rows
            assert n == rows
        rec("jvm_to_py", "gatun-stream", timed(gatun_stream_out))

        def socket_out():
            port = helper.listen()
            th = threading.Thread(target=helper.serveStored)
            th.start()
            with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rb", 65536) as f:
                got = pa.ipc.open_stream(f).read_all()
            th.join()
            assert got.num_rows == rows
        rec("jvm_to_py", "socket", timed(socket_out))

    # Py4J after the others: its minutes at 1 GiB would otherwise part Gatun's repeated runs by
    # longer than the client keeps a dropped table's extension arenas for reuse (spec/arrow.md
    # §4.1). It moves ~10-100 MB/s: at 1 GiB one run takes minutes, and more would not change it.
    py4j_runs = 0 if py4j is None else repeat if size_mib < 1024 else 1
    for _ in range(py4j_runs):
        def py4j_in():
            py4j.helper.setSchema(schema_msg)
            n = sum(py4j.helper.loadBatch(b.serialize().to_pybytes()) for b in t.to_batches())
            assert n == rows
        rec("py_to_jvm", "py4j", timed(py4j_in))

        def py4j_out():
            schema = pa.ipc.read_schema(pa.py_buffer(py4j.helper.storedSchema()))
            batches = [pa.ipc.read_record_batch(pa.ipc.read_message(pa.py_buffer(py4j.helper.storedBatch(i))), schema)
                       for i in range(py4j.helper.storedCount())]
            assert pa.Table.from_batches(batches, schema).num_rows == rows
        rec("jvm_to_py", "py4j", timed(py4j_out))

    out = {"size_mib": size_mib, "ipc_bytes": nbytes, "rows": rows, "batches": len(t.to_batches()),
           "seconds": results, "gb_per_s": {}}
    for direction, paths in results.items():
        out["gb_per_s"][direction] = {p: nbytes / min(s) / 1e9 for p, s in paths.items()}
        out["seconds"][direction] = {p: {"min": min(s), "median": statistics.median(s), "all": s}
                                     for p, s in paths.items()}
    return out


def write_report(res: dict, out_dir: Path, chart: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "arrow.json").write_text(json.dumps(res, indent=2))
    lines = [
        "# Arrow raw transfer: Gatun vs Arrow IPC over a socket vs Py4J byte arrays",
        "",
        f"Run {res['when']} on {res['machine']} (`bench/arrow_bench.py`). Best of {res['repeat']} runs per cell"
        " (Py4J: one run at 1 GiB);",
        "GB/s = IPC-encoded bytes / seconds until the receiver holds every batch as Arrow data.",
        f"Arena: {res['arena_mib']} MiB. {res['note']}",
        "",
    ]
    for direction, title in [("py_to_jvm", "Python → JVM"), ("jvm_to_py", "JVM → Python")]:
        paths = sorted({p for r in res["sizes"] for p in r["gb_per_s"][direction]})
        lines += [f"## {title}", "", "| size | " + " | ".join(f"{p} GB/s" for p in paths)
                  + " | gatun / socket | gatun / py4j |", "|---|" + "---|" * (len(paths) + 2)]
        for r in res["sizes"]:
            g = r["gb_per_s"][direction]
            cells = [f"{g[p]:.2f}" if p in g else "–" for p in paths]
            ratio_s = f"{g['gatun'] / g['socket']:.1f}x" if "socket" in g else "–"
            ratio_p = f"{g['gatun'] / g['py4j']:.1f}x" if "py4j" in g else "–"
            lines.append(f"| {r['size_mib']:g} MiB ({r['ipc_bytes'] / MIB:.0f} MiB IPC, {r['batches']} batches) | "
                         + " | ".join(cells) + f" | {ratio_s} | {ratio_p} |")
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
                ys = [r["gb_per_s"][direction].get(p, 0) for r in res["sizes"]]
                ax.bar(xs, ys, width, label=p)
            ax.set_xticks([j + 0.4 - width / 2 for j in range(len(res["sizes"]))])
            ax.set_xticklabels([f"{r['size_mib']:g} MiB" for r in res["sizes"]])
            ax.set_ylabel("GB/s (higher is better)")
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
    ap.add_argument("--note", default="Shared 2-core machine: timings are noisy.")
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="gatun-arrow-bench-") as work:
        classes = compile_helper(Path(work))
        client = GatunClient(arrow_arena_bytes=args.arena, classpath=[str(classes)],
                             allowlist="default,gatunbench.*", jvm_args=["-Xmx4g"])
        py4j = None if args.no_py4j else Py4JSide(classes)
        try:
            res = {"when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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
        finally:
            if py4j is not None:
                py4j.close()
            client.close()
    write_report(res, Path(args.out), not args.no_chart)
    print((Path(args.out) / "arrow.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
