package dev.gatun.server;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The default wait policy ({@code adaptive}; protocol §2.2.1, spec/decisions/wait-policy.md): spin
 * only while spinning has recently paid off, and never while the spinner is being descheduled.
 *
 * <ul>
 *   <li>A spin that catches the frame keeps the full budget {@link #MAX_SPIN_NANOS}: the peer
 *       answers within it.
 *   <li>A spin that runs out halves the budget; below {@link #MIN_SPIN_NANOS} it is 0 and the side
 *       parks at once, as a blocking socket would.
 *   <li>A spin during which the clock jumped (the spinner lost its core) ends at once, parks (unless
 *       the frame came meanwhile), and drops the budget to 0: on an oversubscribed machine a spinner only delays its peer, and a
 *       parked side is woken by the doorbell with the scheduler's prompt wake-up.
 *   <li>With the budget at 0, one wait per back-off period is a probe: it spins for
 *       {@link #PROBE_SPIN_NANOS}, long enough to catch a peer that had to be woken on an idle
 *       machine. The period doubles after each failed probe, from {@link #MIN_PROBE_NANOS} up to
 *       {@link #MAX_PROBE_NANOS}, and falls back to the minimum after a probe that pays off. So an
 *       oversubscribed machine costs at most one lost slice per 100 ms, and a quiet one is back to
 *       spinning within milliseconds, even when both sides had parked.
 *   <li>With one CPU it never spins: the peer cannot run while this side holds the core.
 * </ul>
 */
final class AdaptiveSpinWait implements WaitPolicy {
    static final long MAX_SPIN_NANOS = 50_000;
    /** A probe's spin: long enough to catch a peer that had to be woken on an idle machine. */
    static final long PROBE_SPIN_NANOS = 200_000;
    static final long MIN_SPIN_NANOS = 1_000;
    static final long MIN_PROBE_NANOS = 1_000_000;
    static final long MAX_PROBE_NANOS = 100_000_000;

    private final boolean mayEverSpin;
    private final LongSupplier clock;
    private long budget;
    private long probeBackoff = MIN_PROBE_NANOS;
    private long nextProbe;

    /** {@code clock} is System::nanoTime but in tests. */
    AdaptiveSpinWait(int cpus, LongSupplier clock) {
        this.clock = clock;
        this.mayEverSpin = cpus > 1;
        this.budget = mayEverSpin ? MAX_SPIN_NANOS : 0;
    }

    @Override
    public boolean spin(BooleanSupplier arrived) {
        if (!mayEverSpin) {
            return false;
        }
        boolean probe = false;
        long spinNanos = budget;
        if (spinNanos == 0) {
            if (clock.getAsLong() - nextProbe < 0) {
                return false;
            }
            probe = true;
            spinNanos = PROBE_SPIN_NANOS;
        }
        int outcome = WaitPolicy.spinFor(arrived, spinNanos, clock);
        if (outcome == ARRIVED) {
            budget = MAX_SPIN_NANOS;
            probeBackoff = MIN_PROBE_NANOS;
            return true;
        }
        if (outcome == TIMED_OUT && !probe) {
            budget = budget / 2;
            if (budget < MIN_SPIN_NANOS) {
                budget = 0;
                nextProbe = clock.getAsLong() + probeBackoff;
            }
            return false;
        }
        // The spin lost its core (the frame may have come meanwhile: it cost a slice all the same),
        // or a probe did not pay.
        budget = 0;
        if (probe) {
            probeBackoff = Math.min(MAX_PROBE_NANOS, probeBackoff * 2);
        }
        nextProbe = clock.getAsLong() + probeBackoff;
        return outcome == ARRIVED_LATE;
    }

    @Override
    public String name() {
        return "adaptive";
    }

    /** The next spin's budget in ns (0: park at once); for tests. */
    long budget() {
        return budget;
    }

    /** The current probe back-off in ns; for tests. */
    long probeBackoff() {
        return probeBackoff;
    }
}
