"""A Spark job cancelled while its Python function runs, for the UDF tests' session scripts (they
import it from this directory): what the driver saw, and whether the JVM's Arrow memory went back
to 0. Waits on conditions, each with a deadline."""
from __future__ import annotations

import threading
import time


def cancel_mid_job(spark, run, progress, at_least: int = 4, group: str = "gatun-cancel") -> dict:
    """Runs `run()` in job group `group` on a thread, cancels the group once `progress()` (a
    counter of batches the path under test handled) has grown by `at_least`, and waits for the job
    to end and for Spark's Arrow root allocator to hold 0 bytes."""
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
    deadline = time.monotonic() + 60
    while root.getAllocatedMemory() != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"handled_before_cancel": handled, "cancelled": failure.get("error"),
            "arrow_bytes_after_cancel": root.getAllocatedMemory()}
