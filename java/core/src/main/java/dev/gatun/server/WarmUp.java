package dev.gatun.server;

import java.io.IOException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Makes the JIT compile the server's request path before real clients need it.
 *
 * <p>Why: the path runs interpreted or at C1 for its first ~14,000 requests (20–80 µs each against
 * ~2 µs compiled), and a PySpark job of a few thousand calls would never leave that phase, least of
 * all in a Spark driver whose compiler threads are busy with Spark. So right after start the server
 * connects to itself through a {@link LocalClient} — the real socket, region, decoder, invoker and
 * registry — and makes {@code requests} requests of every kind real traffic has. It runs on one
 * daemon thread in its own session, which it ends when done; a server closed meanwhile just ends it.
 *
 * <p>It runs only on CPU nobody else wants, and never beside a client's request: in bursts of
 * {@link #BURST_NANOS}, each after {@link IdleCores} has seen an idle core over a window in which
 * no client request ran or started ({@link GatunServer#clientActivity}). A Spark driver starting up
 * runs its clients' requests nearly without a gap, and its load comes and goes faster than the
 * idle-core window can predict: gated on idle cores alone, the warm-up still used 0.33 CPU-seconds
 * (and the JVM's garbage collectors more) during one such start-up on a loaded machine (2026-12-07). When no
 * burst could run for {@link #MAX_WAIT_NANOS} in all, it gives up: by then real requests have
 * warmed the path, and the CPU was better spent on the work that kept the cores busy.
 */
final class WarmUp implements Runnable {
    private static final System.Logger LOG = System.getLogger(WarmUp.class.getName());
    /** Requests per round of {@link #round}. */
    private static final int REQUESTS_PER_ROUND = 16;

    /** How long the warm-up runs after each look that found an idle core. */
    static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** How long in all it waits for idle cores before it gives up. */
    static final long MAX_WAIT_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** How long one wait lasts before the warm-up checks whether the server has closed. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final GatunServer server;
    private final int requests;
    private final IdleCores idle;
    /** Completes with the number of requests made, or exceptionally with why the warm-up stopped. */
    final CompletableFuture<Integer> done = new CompletableFuture<>();

    WarmUp(GatunServer server, int requests, IdleCores idle) {
        this.server = server;
        this.requests = requests;
        this.idle = idle;
    }

    @Override
    public void run() {
        long start = System.nanoTime();
        long waited = 0;
        int made = 0;
        LocalClient client = null;
        LocalChannel ch = null;
        String own = null; // its own session, once open, which clientActivity leaves out
        try {
            ClientValues.ClassRef target = null;
            ClientValues.CallbackRef step = new ClientValues.CallbackRef(1, List.of(WarmUpTarget.Step.class.getName()));
            byte[] bytes = new byte[256];
            while (made < requests && !server.isClosed()) {
                long before = idle.now();
                long served = server.clientActivity(own);
                boolean free = idle.awaitIdleCore(Math.min(WAIT_SLICE_NANOS, MAX_WAIT_NANOS - waited))
                        && served >= 0 && server.clientActivity(own) == served;
                waited += idle.now() - before;
                if (!free) {
                    if (waited >= MAX_WAIT_NANOS) {
                        LOG.log(System.Logger.Level.DEBUG, () -> "warm-up: no idle core for "
                                + TimeUnit.NANOSECONDS.toSeconds(MAX_WAIT_NANOS) + " s; stopped");
                        break;
                    }
                    continue;
                }
                if (ch == null) {
                    client = LocalClient.open(server.connectionInfo());
                    own = HexFormat.of().formatHex(client.sessionId);
                    ch = client.channel();
                    ch.onCallback((c, id, method, args) -> (Integer) args[0] + 1);
                    target = ch.cls(WarmUpTarget.class.getName());
                }
                long burstEnd = System.nanoTime() + BURST_NANOS;
                do {
                    round(ch, target, step, bytes, made);
                    made += REQUESTS_PER_ROUND;
                } while (made < requests && System.nanoTime() < burstEnd && !server.isClosed());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done.completeExceptionally(e);
            return;
        } catch (IOException | RuntimeException e) {
            if (!server.isClosed()) {
                LOG.log(System.Logger.Level.WARNING, "warm-up stopped after " + made + " requests", e);
            }
            done.completeExceptionally(e);
            return;
        } finally {
            closeQuietly(ch);
            closeQuietly(client);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        int total = made;
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("warm-up: %,d requests in %d ms", total, ms));
        done.complete(made);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // the session ends with the server anyway
        }
    }

    private static void round(LocalChannel ch, ClientValues.ClassRef target, ClientValues.CallbackRef step,
                              byte[] bytes, int i) throws IOException {
        ClientValues.Ref a = expect(ch.newObject(target, "a")).ref();
        ClientValues.Ref b = expect(ch.call(target, "named", "b" + (i & 7))).ref();
        expect(ch.call(target, "add", i, 1));
        expect(ch.call(target, "add", (long) i, 2L));
        expect(ch.call(target, "add", 0.5, (double) i));
        expect(ch.call(target, "count", "x", "y"));
        expect(ch.call(a, "name"));
        ClientValues.Ref c = expect(ch.call(a, "child", "c")).ref();
        expect(ch.call(a, "bump"));
        expect(ch.call(a, "same", b));
        expect(ch.call(b, "size", List.of(1, "two", 3.0)));
        expect(ch.call(b, "size", Map.of("k", 1)));
        expect(ch.call(b, "length", bytes));
        expect(ch.getField(a, "count"));
        expect(ch.call(c, "twice", step, i));
        expect(ch.release(a.handle(), b.handle(), c.handle()));
    }

    private static LocalChannel.Reply expect(LocalChannel.Reply reply) {
        if (reply.type() != FrameType.RETURN) {
            throw new IllegalStateException("warm-up request refused: " + reply);
        }
        return reply;
    }
}
