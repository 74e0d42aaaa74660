package dev.gatun.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Tells background work ({@link WarmUp}) whether the machine has a core nobody else wants, so that
 * work the server chooses to do runs only on CPU that would otherwise idle.
 *
 * <p>Why: the warm-up costs about 1.2 CPU-seconds (its requests and the JIT compiling them). On an
 * idle machine that is free, but when the cores are busy (a Spark driver's executors, other
 * processes) every one of those CPU-seconds is taken from someone's real work, and SparkSession
 * start-up with two busy processes on two cores measured 6% slower than stock. Linux has no
 * per-thread idle priority that Java can set, so the warm-up asks this gate between bursts.
 *
 * <p>How: the kernel's per-CPU idle counters ({@code /proc/stat}, idle + iowait) over a short
 * window in which the caller does nothing. At least {@link #IDLE_CORE_FRACTION} of one core idle
 * over the window means the caller's next burst takes nobody's CPU. The counters are host-wide: in a
 * container with a CPU quota on a larger host the gate may open while the quota is spent (the
 * warm-up then costs what it always did). Where {@code /proc/stat} cannot be read, the gate is
 * always open.
 *
 * <p>Thread-safety: one caller at a time.
 */
final class IdleCores {
    /** How long each look at the counters lasts; short enough to catch the gaps in a start-up. */
    static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** The share of one core that must have been idle; below 1 because a window catches the edge of the caller's own last burst. */
    static final double IDLE_CORE_FRACTION = 0.9;

    /** Reads the text of {@code /proc/stat}, or returns null when it cannot. */
    interface StatSource {
        String read();
    }

    /** Waits, for the window between two looks; interruptible. */
    interface Pause {
        void pause(long nanos) throws InterruptedException;
    }

    private final StatSource source;
    private final Pause pause;
    private final LongSupplier clock;

    IdleCores(StatSource source, Pause pause, LongSupplier clock) {
        this.source = source;
        this.pause = pause;
        this.clock = clock;
    }

    /** The gate on this machine's counters. */
    static IdleCores ofThisMachine() {
        return new IdleCores(IdleCores::procStat, nanos -> TimeUnit.NANOSECONDS.sleep(nanos), System::nanoTime);
    }

    /** The text of this machine's {@code /proc/stat}, or null where there is none. */
    static String procStat() {
        try {
            return Files.readString(Path.of("/proc/stat"), StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The gate's clock, in nanoseconds (callers time their waits by it). */
    long now() {
        return clock.getAsLong();
    }

    /**
     * Looks, one window at a time, until a window has had an idle core or {@code maxWaitNanos} has
     * passed. Returns whether a core was idle (always true where the counters cannot be read).
     */
    boolean awaitIdleCore(long maxWaitNanos) throws InterruptedException {
        long start = clock.getAsLong();
        long[] before = counters(source.read());
        if (before == null) {
            return true;
        }
        while (true) {
            pause.pause(WINDOW_NANOS);
            long[] after = counters(source.read());
            if (after == null) {
                return true;
            }
            if (idleCores(before, after) >= IDLE_CORE_FRACTION) {
                return true;
            }
            if (clock.getAsLong() - start >= maxWaitNanos) {
                return false;
            }
            before = after;
        }
    }

    /**
     * How many cores' worth of time was idle between two readings: idle ticks over all ticks, times
     * the number of CPUs the kernel lists. Zero when no tick passed.
     */
    static double idleCores(long[] before, long[] after) {
        long idle = after[1] - before[1];
        long total = after[0] - before[0];
        if (total <= 0 || idle < 0) {
            return 0;
        }
        return (double) idle / total * after[2];
    }

    /**
     * {total ticks, idle + iowait ticks, CPUs} from {@code /proc/stat}'s aggregate "cpu" line and its
     * "cpuN" lines, or null when the text is missing or not in that form.
     */
    static long[] counters(String stat) {
        if (stat == null) {
            return null;
        }
        long total = -1;
        long idle = 0;
        int cpus = 0;
        for (String line : stat.split("\n")) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 5) {
                    return null;
                }
                try {
                    total = 0;
                    // user nice system idle iowait irq softirq steal; guest time is already in user.
                    for (int i = 1; i < Math.min(f.length, 9); i++) {
                        total += Long.parseLong(f[i]);
                    }
                    idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
                } catch (NumberFormatException e) {
                    return null;
                }
            } else if (line.startsWith("cpu")) {
                cpus++;
            }
        }
        return total < 0 || cpus == 0 ? null : new long[] {total, idle, cpus};
    }
}
