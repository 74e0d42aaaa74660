package dev.gatun.server;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/** Spins for a fixed time on every wait ({@code spin:MICROS}), or never ({@code park}). */
final class FixedSpinWait implements WaitPolicy {
    static final long MAX_MICROS = 1_000_000;
    private final long budgetNanos;
    private final LongSupplier clock;

    FixedSpinWait(long budgetNanos, LongSupplier clock) {
        this.budgetNanos = budgetNanos;
        this.clock = clock;
    }

    @Override
    public boolean spin(BooleanSupplier arrived) {
        return budgetNanos > 0 && WaitPolicy.spinFor(arrived, budgetNanos, clock) <= ARRIVED_LATE;
    }

    @Override
    public String name() {
        return budgetNanos == 0 ? "park" : "spin:" + budgetNanos / 1_000;
    }
}
