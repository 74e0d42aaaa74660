package dev.gatun.server;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Makes the JIT compile the server's request path before real clients need it.
 *
 * <p>Why: the path runs interpreted or at C1 for its first ~14,000 requests (20–80 µs each against
 * ~2 µs compiled), and a PySpark job of a few thousand calls would never leave that phase, least of
 * all in a Spark driver whose compiler threads are busy with Spark. So right after start the server
 * connects to itself through a {@link LocalClient} — the real socket, region, decoder, invoker and
 * registry — and makes {@code requests} requests of every kind real traffic has. It runs on one
 * daemon thread in its own session, which it ends when done; a server closed meanwhile just ends it.
 */
final class WarmUp implements Runnable {
    private static final System.Logger LOG = System.getLogger(WarmUp.class.getName());
    /** Requests per round of {@link #round}. */
    private static final int REQUESTS_PER_ROUND = 16;

    private final GatunServer server;
    private final int requests;
    /** Completes with the number of requests made, or exceptionally with why the warm-up stopped. */
    final CompletableFuture<Integer> done = new CompletableFuture<>();

    WarmUp(GatunServer server, int requests) {
        this.server = server;
        this.requests = requests;
    }

    @Override
    public void run() {
        long start = System.nanoTime();
        int made = 0;
        try (LocalClient client = LocalClient.open(server.connectionInfo());
             LocalChannel ch = client.channel()) {
            ch.onCallback((c, id, method, args) -> (Integer) args[0] + 1);
            ClientValues.ClassRef target = ch.cls(WarmUpTarget.class.getName());
            ClientValues.CallbackRef step = new ClientValues.CallbackRef(1, List.of(WarmUpTarget.Step.class.getName()));
            byte[] bytes = new byte[256];
            while (made < requests && !server.isClosed()) {
                round(ch, target, step, bytes, made);
                made += REQUESTS_PER_ROUND;
            }
        } catch (IOException | RuntimeException e) {
            if (!server.isClosed()) {
                LOG.log(System.Logger.Level.WARNING, "warm-up stopped after " + made + " requests", e);
            }
            done.completeExceptionally(e);
            return;
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("warm-up: %,d requests in %d ms", requests, ms));
        done.complete(made);
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
