#!/usr/bin/env python3
"""Gatun demo (`make demo`): a few visible calls into a private JVM, then a quick
side-by-side timing of Gatun vs Py4J.  Exits non-zero if anything on the Gatun
side fails.  Takes ~20 s.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridges as B  # noqa: E402
import run_bench as R  # noqa: E402

DEMO_OPS = ["prebound_call", "static_call", "new_object", "callback"]
HARD_LIMIT_S = 240  # the whole demo, whatever happens


class DemoTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise DemoTimeout("Gatun did not answer within the time limit")


def step(title, fn):
    t0 = time.perf_counter()
    value = fn()
    dt = (time.perf_counter() - t0) * 1e3
    print(f"  {title:<52} -> {value!r}   ({dt:.2f} ms)")
    return value


def gatun_tour() -> None:
    from gatun import GatunClient

    print("== Gatun: a short tour ==")
    t0 = time.perf_counter()
    with GatunClient() as client:
        print(f"  server JVM launched and connected in {time.perf_counter() - t0:.2f} s")
        jvm = client.jvm

        sb = step('sb = jvm.java.lang.StringBuilder("Hello")', lambda: jvm.java.lang.StringBuilder("Hello"))
        step('sb.append(", Gatun!")', lambda: sb.append(", Gatun!"))
        text = step("sb.toString()", lambda: sb.toString())
        if str(text) != "Hello, Gatun!":
            raise AssertionError(f"StringBuilder gave {text!r}")
        n = step("sb.length()", lambda: sb.length())
        if n != len("Hello, Gatun!"):
            raise AssertionError(f"length() gave {n!r}")

        mx = step("jvm.java.lang.Math.max(17, 42)", lambda: jvm.java.lang.Math.max(17, 42))
        if mx != 42:
            raise AssertionError(f"Math.max gave {mx!r}")

        lst = step("lst = jvm.java.util.ArrayList()", lambda: jvm.java.util.ArrayList())
        for item in ("alpha", "beta", 3):
            step(f"lst.add({item!r})", lambda item=item: lst.add(item))
        size = step("lst.size()", lambda: lst.size())
        step("lst.toString()", lambda: lst.toString())
        if size != 3:
            raise AssertionError(f"ArrayList size is {size!r}")

        print('  jvm.java.lang.Integer.parseInt("forty-two")   -> (expecting a Java exception)')
        try:
            r = jvm.java.lang.Integer.parseInt("forty-two")
        except Exception as e:  # noqa: BLE001
            cls = getattr(e, "class_name", None) or type(e).__name__
            msg = getattr(e, "message", None) or str(e).splitlines()[0]
            print(f"    caught in Python: {type(e).__name__}  [{cls}: {msg}]")
            if "NumberFormatException" not in f"{cls} {e}":
                print("    (note: the exception does not name java.lang.NumberFormatException)")
        else:
            raise AssertionError(f"parseInt('forty-two') returned {r!r} instead of raising")
    print("  client closed, server JVM stopped")


def timing_table() -> bool:
    print()
    print("== Quick timing: Gatun vs Py4J (median per call; see `make bench` for the full run) ==")
    results, meta = R.run_benchmark(["gatun", "py4j"], DEMO_OPS, rounds=3, slice_s=0.25, warmup_s=0.5,
                                    log=lambda m: None)
    summ = R.summarize(results)
    rows = [("operation", "Gatun", "Py4J", "speed-up")]
    for o in DEMO_OPS:
        g, p = summ["gatun"][o], summ["py4j"][o]
        gs = R.fmt_ns(g["median_ns"]) if not g.get("error") else f"error: {str(g['error'])[:44]}"
        ps = R.fmt_ns(p["median_ns"]) if not p.get("error") else f"error: {str(p['error'])[:44]}"
        rows.append((B.OP_SHORT[o], gs, ps, R.fmt_ratio(R.ratio(summ, "py4j", "gatun", o))))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  " + "  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  " + "  ".join("-" * x for x in w))
    for o in DEMO_OPS:
        if summ["gatun"][o].get("error"):
            print(f"  Gatun {B.OP_SHORT[o]}: {summ['gatun'][o]['error']}")
    return all(summ["gatun"][o].get("median_ns") and not summ["gatun"][o].get("error") for o in DEMO_OPS)


def main() -> int:
    faulthandler.dump_traceback_later(HARD_LIMIT_S, exit=True)  # never hang
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(90)
    try:
        gatun_tour()
    except BaseException as e:  # noqa: BLE001
        signal.alarm(0)
        print(f"\nDEMO FAILED: Gatun: {B.short_error(e, 200)}", file=sys.stderr)
        return 1
    signal.alarm(0)
    ok = timing_table()
    print(f"\n(demo took {time.monotonic() - t0:.1f} s)")
    if not ok:
        print("DEMO FAILED: Gatun errored in the timing run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
