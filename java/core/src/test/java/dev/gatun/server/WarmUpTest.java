package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WarmUpTest {
    @Test
    void warmUpRunsEveryRequestEvenUnderAnAllowlistThatAdmitsNothing() throws Exception {
        // A machine without counters: the gate is always open, whatever else runs on this one.
        IdleCores open = new IdleCores(() -> null, nanos -> { }, System::nanoTime);
        try (GatunServer server = GatunServer.builder().allowlist(Allowlist.of(List.of())).warmUp(3_000)
                .warmUpIdle(open).build().start()) {
            int made = server.warmUp().get(60, TimeUnit.SECONDS);
            assertTrue(made >= 3_000, "made " + made);
            // Its session ends with it: nothing stays registered.
            for (int i = 0; i < 200 && !server.sessions().isEmpty(); i++) {
                Thread.sleep(10);
            }
            assertTrue(server.sessions().isEmpty());
            // The list still refuses everything else to real clients.
            try (LocalClient client = LocalClient.open(server.connectionInfo()); LocalChannel ch = client.channel()) {
                assertEquals(ErrorCode.NOT_ALLOWED, ch.resolveClass("java.lang.Math").code());
            }
        }
    }

    @Test
    void noWarmUpByDefault() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start()) {
            assertEquals(0, server.warmUp().get());
            assertTrue(server.sessions().isEmpty());
        }
    }

    /**
     * A machine whose idle core comes and goes at the test's word: every look at the counters sees
     * 200 ticks pass on 2 CPUs, 100 of them idle while {@code idle} is set and none otherwise.
     */
    private static IdleCores machine(AtomicBoolean idle, AtomicInteger looks, AtomicLong clock, long tickNanos) {
        long[] c = {0, 0};
        return new IdleCores(() -> {
            looks.incrementAndGet();
            synchronized (c) {
                c[0] += 200;
                c[1] += idle.get() ? 100 : 0;
                return "cpu  " + (c[0] - c[1]) + " 0 0 " + c[1] + " 0 0 0 0\ncpu0 0 0 0 0 0\ncpu1 0 0 0 0 0\n";
            }
        }, nanos -> {
            clock.addAndGet(tickNanos);
            Thread.sleep(1);
        }, clock::get);
    }

    @Test
    void waitsWhileEveryCoreIsBusyAndRunsOnceOneIsIdle() throws Exception {
        AtomicBoolean idle = new AtomicBoolean(false);
        AtomicInteger looks = new AtomicInteger();
        IdleCores gate = machine(idle, looks, new AtomicLong(), IdleCores.WINDOW_NANOS);
        try (GatunServer server = GatunServer.builder().warmUp(3_000).warmUpIdle(gate).build().start()) {
            CompletableFuture<Integer> done = server.warmUp();
            while (looks.get() < 20) {
                Thread.onSpinWait();
            }
            assertFalse(done.isDone(), "warm-up ran on busy cores");
            assertTrue(server.sessions().isEmpty(), "a waiting warm-up holds no session");
            idle.set(true);
            assertTrue(done.get(60, TimeUnit.SECONDS) >= 3_000);
        }
    }

    @Test
    void waitsWhileAClientsRequestRunsOnIdleCores() throws Exception {
        AtomicBoolean idle = new AtomicBoolean(false);
        AtomicInteger looks = new AtomicInteger();
        IdleCores gate = machine(idle, looks, new AtomicLong(), IdleCores.WINDOW_NANOS);
        try (GatunServer server = GatunServer.builder().warmUp(3_000).warmUpIdle(gate).build().start();
             LocalClient client = LocalClient.open(server.connectionInfo());
             LocalChannel ch = client.channel()) {
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ch.onCallback((c, id, method, args) -> {
                inCallback.countDown();
                release.await();
                return "from the test";
            });
            ClientValues.ClassRef objects = ch.cls("java.util.Objects");
            CompletableFuture<LocalChannel.Reply> request = CompletableFuture.supplyAsync(() -> {
                try {
                    return ch.call(objects, "requireNonNullElseGet", null,
                            new ClientValues.CallbackRef(1, List.of("java.util.function.Supplier")));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertTrue(inCallback.await(30, TimeUnit.SECONDS), "the client's request never reached its callback");
            CompletableFuture<Integer> done = server.warmUp();
            idle.set(true); // idle cores from now on: only the running request holds the warm-up back
            int seen = looks.get();
            while (looks.get() < seen + 20) {
                Thread.onSpinWait();
            }
            assertFalse(done.isDone(), "the warm-up ran beside a client's request");
            assertEquals(1, server.sessions().size(), "a waiting warm-up holds no session");
            release.countDown();
            assertEquals(FrameType.RETURN, request.get(30, TimeUnit.SECONDS).type());
            assertTrue(done.get(60, TimeUnit.SECONDS) >= 3_000, "the warm-up ran once the client was quiet");
        }
    }

    @Test
    void givesUpWhenTheCoresStayBusy() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        // Each window moves the gate's clock a minute: the 5-minute limit passes in a few looks.
        IdleCores gate = machine(new AtomicBoolean(false), looks, new AtomicLong(), TimeUnit.MINUTES.toNanos(1));
        try (GatunServer server = GatunServer.builder().warmUp(3_000).warmUpIdle(gate).build().start()) {
            assertEquals(0, server.warmUp().get(60, TimeUnit.SECONDS));
            // Two looks per one-second slice: about ten in all, not thousands.
            assertTrue(looks.get() <= 12, "looks " + looks.get());
            assertTrue(server.sessions().isEmpty());
        }
    }
}
