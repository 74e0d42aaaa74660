"""What every bench result records, the same way in every script (issue 14, "honest results"):
the load average at the start and end, the median with the min–max over runs, cold (the first run
of a cell: JIT, page faults, first allocations) apart from warm (the rest), and which runs were
dropped and why. Nothing here decides to drop a run: a run is dropped only when it failed, and
the report says so.
"""
from __future__ import annotations

import os
import statistics
from typing import Any, Callable, Sequence


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages now."""
    return [round(x, 2) for x in os.getloadavg()]


def spread(values: Sequence[float]) -> dict[str, Any] | None:
    """Median with min–max over runs; None when there is no run."""
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def cold_warm(values: Sequence[float]) -> dict[str, Any]:
    """The first run (cold) apart from the others (warm)."""
    return {"cold": values[0] if values else None, "warm": spread(values[1:])}


class Runs:
    """Collects timed runs per cell, and the runs dropped because they failed."""

    def __init__(self) -> None:
        self.values: dict[tuple, list[float]] = {}
        self.dropped: list[dict[str, Any]] = []

    def run(self, cell: tuple, index: int, timed: Callable[[], float]) -> None:
        try:
            self.values.setdefault(cell, []).append(timed())
        except Exception as e:  # noqa: BLE001 - a failed run is reported, not hidden
            self.dropped.append({"cell": list(cell), "run": index + 1, "why": f"{type(e).__name__}: {e}"[:300]})


def dropped_text(dropped: list[dict[str, Any]]) -> str:
    if not dropped:
        return "Dropped runs: none."
    return "Dropped runs (they failed; the cells hold the others): " + "; ".join(
        f"{' / '.join(map(str, d['cell']))} run {d['run']}: {d['why']}" for d in dropped) + "."


def load_text(start: Sequence[float], end: Sequence[float]) -> str:
    return (f"Load average (1/5/15 min) at start {' '.join(f'{x:.2f}' for x in start)}, "
            f"at end {' '.join(f'{x:.2f}' for x in end)}.")
