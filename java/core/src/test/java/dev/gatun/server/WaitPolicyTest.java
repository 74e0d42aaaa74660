package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules of protocol §2.2.1, driven through the policy on a clock of the test's own, so that
 * they hold whatever the machine's load: every clock read moves it 100 ns, and a "preempted"
 * arrival moves it by a scheduler slice.
 */
class WaitPolicyTest {
    private static final long READ_NANOS = 100;
    private static final long SLICE_NANOS = 3_000_000;

    /** A clock that advances by {@link #READ_NANOS} on every read. */
    static final class FakeClock implements LongSupplier {
        long now = 1_000_000_000L;

        @Override
        public long getAsLong() {
            now += READ_NANOS;
            return now;
        }

        void advance(long nanos) {
            now += nanos;
        }
    }

    private final FakeClock clock = new FakeClock();
    private final AdaptiveSpinWait policy = new AdaptiveSpinWait(2, clock);

    private static final BooleanSupplier NEVER = () -> false;

    private static BooleanSupplier notLooked() {
        return () -> {
            throw new AssertionError("the policy must park without looking");
        };
    }

    /** Arrives on the n-th look. */
    private static BooleanSupplier onLook(int n) {
        int[] looks = {0};
        return () -> ++looks[0] >= n;
    }

    /** Loses the core for a slice on its first look, as a preempted spinner does; never arrives. */
    private BooleanSupplier preempted() {
        boolean[] done = {false};
        return () -> {
            if (!done[0]) {
                done[0] = true;
                clock.advance(SLICE_NANOS);
            }
            return false;
        };
    }

    @Test
    void aSpinThatCatchesTheFrameKeepsTheFullBudget() {
        assertEquals(AdaptiveSpinWait.MAX_SPIN_NANOS, policy.budget());
        assertTrue(policy.spin(onLook(100)));
        assertEquals(AdaptiveSpinWait.MAX_SPIN_NANOS, policy.budget());
    }

    @Test
    void aProbeCatchesAnAnswerThatTookLongerThanTheNormalWindow() {
        aSpinThatLosesItsCoreStopsSpinningAtOnce();
        clock.advance(AdaptiveSpinWait.MIN_PROBE_NANOS);
        long[] start = {-1};
        assertTrue(policy.spin(() -> {
            if (start[0] < 0) {
                start[0] = clock.now;
            }
            clock.advance(500); // 500 ns a look: 32 looks between clock reads stay under the gap
            return clock.now - start[0] >= 120_000; // a woken peer's answer, after 120 µs
        }), "the probe spins long enough to catch a peer that had to be woken");
        assertEquals(AdaptiveSpinWait.MAX_SPIN_NANOS, policy.budget());
    }

    @Test
    void spinsThatRunOutHalveTheBudgetToZero() {
        long expected = AdaptiveSpinWait.MAX_SPIN_NANOS;
        int waits = 0;
        while (policy.budget() > 0) {
            assertFalse(policy.spin(NEVER));
            expected /= 2;
            assertEquals(expected < AdaptiveSpinWait.MIN_SPIN_NANOS ? 0 : expected, policy.budget());
            waits++;
        }
        assertEquals(6, waits, "50 µs halves below 1 µs after six waits");
        assertFalse(policy.spin(notLooked()), "then it parks at once");
        clock.advance(AdaptiveSpinWait.MIN_PROBE_NANOS);
        long before = clock.now;
        assertFalse(policy.spin(NEVER), "after the back-off, one probe");
        assertTrue(clock.now - before >= AdaptiveSpinWait.PROBE_SPIN_NANOS, "a probe spins the probe spin");
    }

    @Test
    void aSpinThatLosesItsCoreStopsSpinningAtOnce() {
        long before = clock.now;
        assertFalse(policy.spin(preempted()));
        assertEquals(0, policy.budget());
        assertTrue(clock.now - before < SLICE_NANOS + 10_000, "the spin ended on the first jump it saw");
    }

    @Test
    void anInterruptsPauseIsNotALostCore() {
        // Idle VMs stop a running thread for up to ~100 µs (bench/results/clock_gaps.md).
        boolean[] paused = {false};
        assertTrue(policy.spin(() -> {
            if (!paused[0]) {
                paused[0] = true;
                clock.advance(100_000);
                return false;
            }
            return true;
        }));
        assertEquals(AdaptiveSpinWait.MAX_SPIN_NANOS, policy.budget(), "it keeps spinning");
    }

    @Test
    void aFrameFoundAfterLosingTheCoreStillStopsTheSpinning() {
        boolean[] preempted = {false};
        assertTrue(policy.spin(() -> {
            if (!preempted[0]) {
                preempted[0] = true;
                clock.advance(SLICE_NANOS); // descheduled; the peer published meanwhile
                return false;
            }
            return true;
        }), "the frame is there: take it");
        assertEquals(0, policy.budget(), "but that spin cost a slice: park next time");
    }

    @Test
    void aProbeAfterTheBackOffThatPaysRestoresSpinning() {
        assertFalse(policy.spin(preempted()));
        assertFalse(policy.spin(notLooked()), "no probe inside the back-off");
        clock.advance(AdaptiveSpinWait.MIN_PROBE_NANOS);
        assertTrue(policy.spin(onLook(10)), "the probe spins and catches the frame");
        assertEquals(AdaptiveSpinWait.MAX_SPIN_NANOS, policy.budget());
        assertEquals(AdaptiveSpinWait.MIN_PROBE_NANOS, policy.probeBackoff());
    }

    @Test
    void failedProbesDoubleTheBackOffUpToItsMaximum() {
        assertFalse(policy.spin(preempted()));
        long backoff = AdaptiveSpinWait.MIN_PROBE_NANOS;
        for (int i = 0; i < 14; i++) {
            clock.advance(backoff);
            assertFalse(policy.spin(i % 2 == 0 ? NEVER : preempted()), "the probe finds nothing");
            backoff = Math.min(AdaptiveSpinWait.MAX_PROBE_NANOS, backoff * 2);
            assertEquals(backoff, policy.probeBackoff());
            assertEquals(0, policy.budget());
            assertFalse(policy.spin(notLooked()), "the next probe waits for the longer back-off");
        }
        assertEquals(AdaptiveSpinWait.MAX_PROBE_NANOS, policy.probeBackoff());
    }

    @Test
    void oneCpuNeverSpins() {
        AdaptiveSpinWait one = new AdaptiveSpinWait(1, clock);
        assertFalse(one.spin(notLooked()));
        clock.advance(AdaptiveSpinWait.MAX_PROBE_NANOS);
        assertFalse(one.spin(notLooked()), "not even a probe");
    }

    @Test
    void fixedPoliciesSpinTheirTimeOrNotAtAll() {
        assertFalse(new FixedSpinWait(0, clock).spin(notLooked()));
        FixedSpinWait spin = new FixedSpinWait(100_000, clock);
        assertEquals("spin:100", spin.name());
        assertTrue(spin.spin(onLook(50)));
        long start = clock.now;
        assertFalse(spin.spin(NEVER));
        assertTrue(clock.now - start >= 100_000, "spun its whole 100 µs");
        assertEquals("park", WaitPolicy.factory("park").get().name());
        assertEquals("adaptive", WaitPolicy.factory(null).get().name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "fast", "spin:", "spin:-1", "spin:x", "spin:1000001", "PARK"})
    void badNamesAreRefusedWithTheNamesThatWork(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WaitPolicy.factory(name));
        assertTrue(e.getMessage().contains("adaptive") || e.getMessage().contains("spin:MICROS"), e.getMessage());
    }

    @Test
    void theServerTakesThePolicyByName() throws Exception {
        assertEquals("adaptive", GatunServer.builder().build().waitPolicy());
        assertEquals("park", GatunServer.builder().waitPolicy("park").build().waitPolicy());
        assertThrows(IllegalArgumentException.class, () -> GatunServer.builder().waitPolicy("nope"));
        GatunServerMain.Options o = GatunServerMain.parse(new String[] {"--wait-policy", "spin:20"});
        assertEquals("spin:20", o.waitPolicy);
        assertThrows(GatunServerMain.UsageException.class,
                () -> GatunServerMain.parse(new String[] {"--wait-policy=bogus"}));
    }
}
