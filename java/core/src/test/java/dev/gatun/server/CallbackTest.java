package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatun.server.ClientValues.CallbackRef;
import dev.gatun.server.ClientValues.ClassRef;
import dev.gatun.server.ClientValues.Ref;
import dev.gatun.server.LocalChannel.CallbackFailure;
import dev.gatun.server.LocalChannel.Reply;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Callbacks (protocol §5): nested on the calling channel, and from other JVM threads. */
class CallbackTest {
    static final CallbackRef SUPPLIER = new CallbackRef(1, List.of("java.util.function.Supplier"));
    static GatunServer server;
    LocalClient client;
    LocalChannel ch;

    @BeforeAll
    static void startServer() throws IOException {
        server = GatunServer.builder().regionBytes(64 * 1024).build().start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void connect() throws IOException {
        client = LocalClient.open(server.connectionInfo());
        ch = client.channel();
    }

    @AfterEach
    void disconnect() throws IOException {
        ch.close();
        client.close();
    }

    private Reply orElseGet(LocalChannel c, Object supplier) throws IOException {
        return c.call(c.cls("java.util.Objects"), "requireNonNullElseGet", null, supplier);
    }

    @Test
    void nestedCallbackWithNestedRequests() throws IOException {
        ch.onCallback((c, id, method, args) -> {
            assertEquals(1, id);
            assertEquals("get", method);
            assertEquals(0, args.length);
            return "max=" + c.call(c.cls("java.lang.Math"), "max", 4, 9).value(); // a request inside the callback
        });
        assertEquals("max=9", orElseGet(ch, SUPPLIER).value());
    }

    @Test
    void deepNesting() throws IOException {
        AtomicInteger depth = new AtomicInteger();
        ch.onCallback((c, id, method, args) -> {
            if (depth.incrementAndGet() < 20) {
                return orElseGet(c, SUPPLIER).value(); // Java calls back again, inside the callback
            }
            return "bottom";
        });
        assertEquals("bottom", orElseGet(ch, SUPPLIER).value());
        assertEquals(20, depth.get());
    }

    @Test
    void callbackArgumentsAndReturnConversion() throws IOException {
        ch.onCallback((c, id, method, args) -> {
            assertEquals("applyAsLong", method);
            return ((Long) args[0]).intValue() * 2; // an INT where Java wants a long
        });
        CallbackRef op = new CallbackRef(2, List.of("java.util.function.LongUnaryOperator"));
        Ref stream = ch.call(ch.cls("java.util.stream.LongStream"), "of", 1L, 2L, 3L).ref();
        Ref mapped = ch.call(stream, "map", op).ref();
        assertEquals(12L, ch.call(mapped, "sum").value());
    }

    @Test
    void objectMethodsStayInTheJvm() throws IOException {
        ch.onCallback((c, id, method, args) -> {
            throw new AssertionError("Object methods must not call back: " + method);
        });
        Object text = ch.call(ch.cls("java.util.Objects"), "toString", SUPPLIER).value();
        assertTrue(text.toString().startsWith("GatunCallback[id=1"), text.toString());
        assertEquals(true, ch.call(ch.cls("java.util.Objects"), "equals", SUPPLIER, SUPPLIER).value());
    }

    @Test
    void callbackErrorsBecomeJavaExceptions() throws IOException {
        ch.onCallback((c, id, method, args) -> {
            throw new CallbackFailure(0, "ValueError", "bad value\nTraceback ...");
        });
        Reply r = orElseGet(ch, SUPPLIER);
        assertEquals(FrameType.THROW, r.type());
        assertEquals("dev.gatun.server.CallbackException", r.className());
        assertEquals("ValueError: bad value\nTraceback ...", r.message());
    }

    @Test
    void aJavaThrowableComesBackAsItself() throws IOException {
        Ref boom = ch.newObject(ch.cls("java.lang.IllegalStateException"), "boom").ref();
        ch.onCallback((c, id, method, args) -> {
            throw new CallbackFailure(boom.handle(), "JavaError", "wrapped");
        });
        Reply r = orElseGet(ch, SUPPLIER);
        assertEquals("java.lang.IllegalStateException", r.className());
        assertEquals("boom", r.message());
        assertEquals(true, ch.call(boom, "equals", new Ref(r.throwable())).value());
    }

    @Test
    void callbacksFromOtherThreadsUseACallbackChannel() throws Exception {
        LocalChannel callbacks = client.channel();
        AtomicReference<String> seenOn = new AtomicReference<>();
        callbacks.onCallback((c, id, method, args) -> {
            seenOn.set(c == callbacks ? "callback channel" : "other");
            return "from " + c.call(c.cls("java.lang.String"), "valueOf", 42).value();
        });
        Thread serving = new Thread(callbacks::serveCallbacks, "client-callbacks");
        serving.start();
        try {
            ClassRef futures = ch.cls("java.util.concurrent.CompletableFuture");
            for (int i = 0; i < 3; i++) { // the callback channel is idle again after each callback
                Ref future = ch.call(futures, "supplyAsync", SUPPLIER).ref();
                assertEquals("from 42", ch.call(future, "get").value());
                assertEquals("callback channel", seenOn.get());
            }
        } finally {
            callbacks.close();
            serving.join(5000);
        }
    }

    @Test
    void noCallbackChannelAfterTheSessionEnds() throws Exception {
        LocalClient other = LocalClient.open(server.connectionInfo());
        LocalChannel c = other.channel();
        Ref future = c.call(c.cls("java.util.concurrent.CompletableFuture"), "supplyAsync", SUPPLIER).ref();
        Session session = server.sessions().stream()
                .filter(s -> s.idHex().equals(java.util.HexFormat.of().formatHex(other.sessionId))).findFirst().orElseThrow();
        Object javaFuture = session.registry().get(future.handle());
        other.close(); // the foreign thread waits for a callback channel: the session's end must wake it
        java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class,
                () -> ((java.util.concurrent.CompletableFuture<?>) javaFuture).get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(CallbackException.class, e.getCause().getClass());
        c.close();
    }
}
