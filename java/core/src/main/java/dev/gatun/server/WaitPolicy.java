package dev.gatun.server;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * How one side of a channel waits for its peer's frame before it parks on the doorbell (protocol
 * §2.2.1, decision in spec/decisions/README.md). The channel owns the park; a policy decides only
 * whether and how long to spin first, and learns from how its spins ended.
 *
 * <p>Concurrency: one instance per channel side, used only by the thread whose turn it is to wait
 * (turns alternate, so never two at once); no field needs to be volatile.
 *
 * <p>Policies are named so that a server, a Spark driver and a benchmark can choose one by a
 * string: {@code adaptive} (the default, {@link AdaptiveSpinWait}), {@code park} (never spin) and
 * {@code spin:MICROS} (always spin that long; only for a peer that owns a dedicated core).
 */
interface WaitPolicy {
    /** The default policy's name. */
    String DEFAULT = "adaptive";

    /**
     * Spins until {@code arrived} holds (true) or the policy gives up (false: the caller parks).
     * {@code arrived} is false when this is called.
     */
    boolean spin(BooleanSupplier arrived);

    /** This policy's name, as {@link #factory} accepts it. */
    String name();

    /**
     * A factory of fresh policies (one per channel side) for a policy name; the name is checked
     * here, so a bad configuration fails at start, not on the first wait.
     */
    static Supplier<WaitPolicy> factory(String name) {
        String n = name == null ? DEFAULT : name.trim();
        if (n.equals("adaptive")) {
            int cpus = Runtime.getRuntime().availableProcessors();
            return () -> new AdaptiveSpinWait(cpus, System::nanoTime);
        }
        if (n.equals("park")) {
            return () -> new FixedSpinWait(0, System::nanoTime);
        }
        if (n.startsWith("spin:")) {
            long micros;
            try {
                micros = Long.parseLong(n.substring(5));
            } catch (NumberFormatException e) {
                micros = -1;
            }
            if (micros < 0 || micros > FixedSpinWait.MAX_MICROS) {
                throw new IllegalArgumentException("wait policy " + n + ": spin:MICROS takes 0 to "
                        + FixedSpinWait.MAX_MICROS + " microseconds");
            }
            long nanos = micros * 1_000;
            return () -> new FixedSpinWait(nanos, System::nanoTime);
        }
        throw new IllegalArgumentException("unknown wait policy '" + n + "' (expected adaptive, park or spin:MICROS)");
    }

    /** {@link #spinFor}'s outcomes. */
    int ARRIVED = 0;
    /** The frame arrived, but the spinner had lost its core on the way: it cost a slice. */
    int ARRIVED_LATE = 1;
    int TIMED_OUT = 2;
    /** The spinner lost its core for longer than {@link #GAP_NANOS} and the frame is not there. */
    int DESCHEDULED = 3;
    /**
     * Two clock reads of one spin further apart than this mean the spinner was off its core: a
     * descheduled spinner waits out another thread's slice (milliseconds), while interrupts and a
     * hypervisor's exits stop a running one for up to ~100 µs (bench/results/clock_gaps.md).
     */
    long GAP_NANOS = 200_000;
    /** A spin reads the clock once per this many looks at the peer's sequence word (a power of two). */
    int LOOKS_PER_CLOCK_READ = 32;

    /**
     * The one spin loop every policy uses: pause-spins on {@code arrived} for up to
     * {@code budgetNanos} by {@code clock} (System::nanoTime but in tests), reading the clock every
     * 32 looks and once more when the frame came. It never yields: {@code Thread.yield()} behind a
     * CPU-bound thread can cost a whole scheduler slice, and the policy parks instead.
     */
    static int spinFor(BooleanSupplier arrived, long budgetNanos, LongSupplier clock) {
        long start = clock.getAsLong();
        long last = start;
        for (int i = 1; ; i++) {
            Thread.onSpinWait();
            if (arrived.getAsBoolean()) {
                return clock.getAsLong() - last > GAP_NANOS ? ARRIVED_LATE : ARRIVED;
            }
            if ((i & (LOOKS_PER_CLOCK_READ - 1)) == 0) {
                long now = clock.getAsLong();
                if (now - last > GAP_NANOS) {
                    return DESCHEDULED;
                }
                if (now - start >= budgetNanos) {
                    return TIMED_OUT;
                }
                last = now;
            }
        }
    }
}
