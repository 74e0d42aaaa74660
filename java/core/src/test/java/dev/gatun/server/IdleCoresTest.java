package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IdleCoresTest {
    /** /proc/stat text for two CPUs whose counters (user nice system idle iowait irq softirq steal) sum as given. */
    private static String stat(long busy, long idle) {
        return "cpu  " + busy + " 0 0 " + idle + " 0 0 0 0 0 0\n"
                + "cpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 5 0 0\nctxt 9\n";
    }

    @Test
    void countersReadTheAggregateLineAndCountTheCpus() {
        assertArrayEquals(new long[] {1 + 2 + 3 + 4 + 5 + 6 + 7 + 8, 4 + 5, 2},
                IdleCores.counters("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 0 0 0 0 0\ncpu1 0 0 0 0 0\n"));
        assertNull(IdleCores.counters(null));
        assertNull(IdleCores.counters("no cpus here\n"));
        assertNull(IdleCores.counters("cpu  1 x 3 4\ncpu0 1 1 1 1\n"));
        assertNull(IdleCores.counters("cpu  1 2 3 4 5\n"));
    }

    @Test
    void idleCoresScaleTheIdleShareByTheCpuCount() {
        assertEquals(1.0, IdleCores.idleCores(new long[] {0, 0, 2}, new long[] {100, 50, 2}), 1e-9);
        assertEquals(0.2, IdleCores.idleCores(new long[] {0, 0, 2}, new long[] {100, 10, 2}), 1e-9);
        assertEquals(0.0, IdleCores.idleCores(new long[] {5, 5, 2}, new long[] {5, 5, 2}), 1e-9);
    }

    /** A machine whose readings are scripted, with a clock that moves only when the gate pauses. */
    private static IdleCores scripted(List<String> readings, AtomicLong clock) {
        ArrayDeque<String> q = new ArrayDeque<>(readings);
        return new IdleCores(() -> q.size() > 1 ? q.poll() : q.peek(), clock::addAndGet, clock::get);
    }

    @Test
    void opensAfterTheFirstWindowWithAnIdleCore() throws Exception {
        AtomicLong clock = new AtomicLong();
        // Two busy windows (0 idle), then one where 1 of 2 cores idled.
        IdleCores gate = scripted(List.of(stat(0, 0), stat(200, 0), stat(400, 0), stat(500, 100)), clock);
        assertTrue(gate.awaitIdleCore(TimeUnit.SECONDS.toNanos(10)));
        assertEquals(3 * IdleCores.WINDOW_NANOS, clock.get());
    }

    @Test
    void staysShutWhileEveryCoreIsBusyAndGivesUpAtTheLimit() throws Exception {
        AtomicLong clock = new AtomicLong();
        long[] busy = {0};
        IdleCores gate = new IdleCores(() -> stat(busy[0] += 200, 10), clock::addAndGet, clock::get);
        assertFalse(gate.awaitIdleCore(TimeUnit.SECONDS.toNanos(1)));
        assertTrue(clock.get() >= TimeUnit.SECONDS.toNanos(1));
        assertTrue(clock.get() < TimeUnit.SECONDS.toNanos(1) + 2 * IdleCores.WINDOW_NANOS);
    }

    @Test
    void alwaysOpenWhereTheCountersCannotBeRead() throws Exception {
        AtomicLong clock = new AtomicLong();
        assertTrue(new IdleCores(() -> null, clock::addAndGet, clock::get).awaitIdleCore(0));
        assertEquals(0, clock.get());
    }

    @Test
    void readsThisMachine() {
        assertNotNull(IdleCores.counters(IdleCores.procStat()), "/proc/stat on Linux");
    }
}
