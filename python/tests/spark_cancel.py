"""A Spark job cancelled while its Python function runs, for the UDF tests' session scripts (they
import it from this directory): what the driver saw, and whether the JVM's Arrow memory went back
to 0. Waits on conditions, each with a deadline."""
from __future__ import annotations

import threading
import time


def cancel_mid_job(spark, run, progress, at_least: int = 4, group: str = "gatun-cancel") -> dict:
    """Runs `run()` in job group `group` on a thread, cancels the group once `progress()` (a
    counter that grows as the job runs: batches handled, workers stuck) has grown by `at_least`, and waits for the job
    to end, for its tasks' Arrow allocators to be closed and for Spark's Arrow root allocator to
    hold 0 bytes."""
    root = spark.sparkContext._jvm.org.apache.spark.sql.util.ArrowUtils.rootAllocator()
    before = progress()
    failure: dict = {}

    def job():
        spark.sparkContext.setJobGroup(group, "cancelled mid-function")
        try:
            run()
            failure["error"] = None
        except Exception as e:  # the cancellation, as the driver reports it
            failure["error"] = type(e).__name__ + ": " + str(e)[:300]

    t = threading.Thread(target=job)
    t.start()
    deadline = time.monotonic() + 120
    while progress() - before < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    handled = progress() - before
    spark.sparkContext.cancelJobGroup(group)
    t.join(120)
    # The driver sees the job fail at once; the tasks end later, once they notice (a task may
    # still drain the output its worker has). Each task's allocators (the runner's reader and
    # writer, the path's own) are closed when it ends, so wait for none to be open, not only
    # for 0 bytes: a running task can hold 0 bytes between two batches.
    deadline = time.monotonic() + 60
    while (root.getAllocatedMemory() != 0 or not root.getChildAllocators().isEmpty()) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = list(root.getChildAllocators())
    return {"handled_before_cancel": handled, "cancelled": failure.get("error"),
            "arrow_bytes_after_cancel": root.getAllocatedMemory(),
            # the allocators still open, with what each holds (names repeat: one per task)
            "arrow_allocators_after_cancel": sorted([c.getName(), c.getAllocatedMemory()] for c in left),
            # should any be left: whether a task was still running, and where
            "task_threads_after_cancel": task_threads(spark) if left else None}


def task_threads(spark) -> list:
    """The JVM's task threads that are running, each with its top frames."""
    out = []
    for thread, frames in spark.sparkContext._jvm.java.lang.Thread.getAllStackTraces().items():
        if thread.getName().startswith("Executor task launch"):
            out.append([thread.getName(), str(thread.getState())] + [str(f) for f in list(frames)[:12]])
    return out
