package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatun.server.LocalChannel.Reply;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** The holes of issue 13, each against a real server and a real client over real shared memory. */
class HardeningTest {

    /** Counts the lookups RESOLVE_CLASS makes for names under {@code probe.}; parks in those under {@code slow.} until interrupted. */
    static final class ProbeLoader extends ClassLoader {
        final AtomicInteger lookups = new AtomicInteger();
        final CountDownLatch slowEntered = new CountDownLatch(1);

        ProbeLoader() {
            super(HardeningTest.class.getClassLoader());
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (name.startsWith("probe.")) {
                lookups.incrementAndGet();
                throw new ClassNotFoundException(name);
            }
            if (name.startsWith("slow.")) {
                slowEntered.countDown();
                while (!Thread.currentThread().isInterrupted()) {
                    LockSupport.park(this); // an interrupt unparks and stays set
                }
                throw new ClassNotFoundException(name);
            }
            return super.loadClass(name, resolve);
        }
    }

    @Test
    void resolveClassRefusesNamesOverTheBound() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            for (int parts : new int[] {8_000, 40_000}) {
                long start = System.nanoTime();
                Reply r = ch.resolveClass("a" + ".a".repeat(parts - 1));
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertEquals(ErrorCode.BAD_ARGUMENT, r.code(), String.valueOf(r));
                assertTrue(r.message().contains("maximum of " + ClassLookup.MAX_CLASS_NAME_BYTES), r.message());
                System.out.println("RESOLVE_CLASS of " + parts + " parts: refused in " + millis + " ms");
            }
            String longest = "a" + ".a".repeat((ClassLookup.MAX_CLASS_NAME_BYTES - 1) / 2);
            assertNull(ch.resolveClass(longest).value()); // at the bound: looked up, not refused
            assertEquals("java.util.Map$Entry", ch.cls("java.util.Map.Entry").name());
        }
    }

    @Test
    void resolveClassMakesABoundedNumberOfLookups() throws Exception {
        ProbeLoader loader = new ProbeLoader();
        try (GatunServer server = GatunServer.builder().classLoader(loader).build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            String name = "probe" + ".a".repeat(500); // 1,005 bytes: under the bound
            long start = System.nanoTime();
            assertNull(ch.resolveClass(name).value());
            System.out.println("RESOLVE_CLASS of 501 parts (1,005 bytes): " + loader.lookups.get() + " lookups in "
                    + (System.nanoTime() - start) / 1_000_000 + " ms");
            assertEquals(ClassLookup.MAX_NESTING_TRIES + 1, loader.lookups.get());
        }
    }

    @Test
    void cancelReachesResolveClass() throws Exception {
        ProbeLoader loader = new ProbeLoader();
        try (GatunServer server = GatunServer.builder().classLoader(loader).build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            Thread canceller = new Thread(() -> {
                try {
                    loader.slowEntered.await();
                    c.control(1, ch.id);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            canceller.start();
            Reply r = ch.resolveClass("slow.a.b.c.d");
            canceller.join();
            assertEquals(FrameType.THROW, r.type(), String.valueOf(r));
            assertEquals("java.lang.InterruptedException", r.className());
            assertEquals(2, ch.call(ch.cls("java.lang.Math"), "max", 1, 2).value()); // the channel goes on
        }
    }

    @Test
    void aKilledClientsRunningCallIsInterrupted() throws Exception {
        try (GatunServer server = GatunServer.builder().allowlist(Allowlist.parse("default,dev.gatun.fixtures.**"))
                .build().start()) {
            LocalClient c = LocalClient.open(server.connectionInfo());
            LocalChannel ch = c.channel();
            Thread caller = new Thread(() -> {
                try {
                    ch.call(ch.cls("dev.gatun.fixtures.Blocking"), "sleepTenMinutes");
                } catch (java.io.IOException e) {
                    // expected: the client's sockets close under it
                }
            });
            caller.start();
            assertTrue(dev.gatun.fixtures.Blocking.STARTED.await(30, TimeUnit.SECONDS));
            Thread runner = dev.gatun.fixtures.Blocking.runner;
            // What the kernel does when the client process dies: every socket of it closes.
            c.close();
            ch.close();
            runner.join(30_000);
            assertTrue(!runner.isAlive(), "the channel thread is still running the dead client's call");
            caller.join(30_000);
        }
    }

    @Test
    void aRefusedClientReadsTheReasonThenEndOfFile() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start()) {
            byte[] token = java.util.HexFormat.of().parseHex(server.connectionInfo().token());
            byte[] hello = LocalClient.hello(2, token, new byte[16]);
            hello[4] = 9; // version 9: refused after the first 8 bytes, 48 left unread
            try (java.nio.channels.SocketChannel s = LocalClient.connect(server.socketPath(), hello)) {
                LocalClient.Refusal r = LocalClient.status(s);
                assertEquals(Handshake.UNSUPPORTED_VERSION, r.status());
                assertTrue(r.message().contains("version 9"), r.message());
                // EOF, not "Connection reset by peer".
                assertEquals(-1, s.read(java.nio.ByteBuffer.allocate(1)));
            }
        }
    }

    /** A first chunk claiming {@code total}, with {@code length} bytes of payload, sent as is. */
    static void firstChunk(LocalChannel ch, int type, int length, long total) throws java.io.IOException {
        ch.channel.sendRaw(type, FrameType.FLAG_MORE, length, total);
    }

    @Test
    void theClaimedTotalIsNotAllocatedUpFront() throws Exception {
        try (ChildServer server = ChildServer.start(List.of("-Xmx64m"));
                LocalClient c = LocalClient.open(server.info)) {
            try (LocalChannel liar = c.channel()) {
                firstChunk(liar, FrameType.CALL, 1000, 2_000_000_000L); // 2 GB claimed, 1,000 bytes sent
                assertEquals(FrameType.CONTINUE, liar.channel.receive()); // not an OutOfMemoryError
            }
            try (LocalChannel ch = c.channel()) {
                assertEquals(2, ch.call(ch.cls("java.lang.Math"), "max", 1, 2).value());
            }
            assertTrue(server.process.isAlive());
        }
    }

    @Test
    void runningOutOfHeapMidMessageIsALimitErrorAndTheChannelGoesOn() throws Exception {
        try (ChildServer server = ChildServer.start(List.of("-Xmx64m"));
                LocalClient c = LocalClient.open(server.info);
                LocalChannel ch = c.channel()) {
            ClientValues.ClassRef sb = ch.cls("java.lang.StringBuilder");
            Reply r = ch.newObject(sb, "y".repeat(100_000_000)); // 100 MB into a 64 MB heap
            assertEquals(ErrorCode.LIMIT, r.code(), String.valueOf(r));
            assertTrue(r.message().contains("no memory"), r.message());
            assertEquals(3, ch.call(ch.newObject(sb, "abc").ref(), "length").value());
        }
    }

    @Test
    void aSessionMayReceiveOnlySoMuchAtOnce() throws Exception {
        try (GatunServer server = GatunServer.builder().regionBytes(64 * 1024).maxSessionBytes(1_000_000).build().start();
                LocalClient c = LocalClient.open(server.connectionInfo())) {
            LocalChannel first = c.channel();
            firstChunk(first, FrameType.CALL, 1000, 800_000);
            assertEquals(FrameType.CONTINUE, first.channel.receive());
            try (LocalChannel second = c.channel()) {
                ClientValues.ClassRef sb = second.cls("java.lang.StringBuilder");
                Reply r = second.newObject(sb, "y".repeat(300_000));
                assertEquals(ErrorCode.LIMIT, r.code(), String.valueOf(r));
                assertTrue(r.message().contains("--max-session-bytes"), r.message());
                Session session = server.sessions().iterator().next();
                first.close(); // its half message is dropped, and what it counted with it
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (session.channelCount() > 1 && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(1_000_000);
                }
                assertEquals(FrameType.RETURN, second.newObject(sb, "y".repeat(300_000)).type());
            }
        }
    }

    /**
     * Nests {@code levels} callbacks (Optional.of(n).map(callback).get(), the callback doing the same
     * with n - 1) from a client thread with room for it; returns the top-level reply.
     */
    static Reply nest(LocalChannel ch, int levels) throws Exception {
        ClientValues.ClassRef optional = ch.cls("java.util.Optional");
        ClientValues.CallbackRef function = new ClientValues.CallbackRef(1, List.of("java.util.function.Function"));
        ch.onCallback((c, id, method, args) -> {
            int n = (Integer) args[0];
            if (n == 0) {
                return "bottom";
            }
            Reply r = c.call(c.call(optional, "of", n - 1).ref(), "map", function);
            if (r.type() != FrameType.RETURN) { // hand the Java exception back up as itself
                throw new LocalChannel.CallbackFailure(r.throwable(), "Nested", "");
            }
            return c.call(r.ref(), "get").value();
        });
        Reply[] top = new Reply[1];
        Exception[] failure = new Exception[1];
        Thread deep = new Thread(null, () -> {
            try {
                Reply mapped = ch.call(ch.call(optional, "of", levels).ref(), "map", function);
                top[0] = mapped.type() == FrameType.RETURN ? ch.call(mapped.ref(), "get") : mapped;
            } catch (Exception e) {
                failure[0] = e;
            }
        }, "deep-client", 512L * 1024 * 1024);
        deep.start();
        deep.join();
        if (failure[0] != null) {
            throw failure[0];
        }
        return top[0];
    }

    @Test
    void callbacksNestDeeperThanAOneMegabyteStackAllowed() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            assertEquals("bottom", nest(ch, 3_000).value()); // a 1 MB channel thread overflowed at 200-400
        }
    }

    @Test
    void beyondTheDepthLimitACallbackIsRefusedAndTheChannelGoesOn() throws Exception {
        try (GatunServer server = GatunServer.builder().connectionStackBytes(1024 * 1024).build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            int max = server.maxCallbackDepth();
            assertEquals(64, max);
            assertEquals("bottom", nest(ch, max - 1).value());
            Reply r = nest(ch, 5_000);
            assertEquals(FrameType.THROW, r.type(), String.valueOf(r));
            assertTrue(r.stack().contains("callbacks nested " + max + " deep"), r.stack());
            assertEquals(2, ch.call(ch.cls("java.lang.Math"), "max", 1, 2).value());
        }
    }

    static List<java.nio.file.Path> shmDirsOf(long pid) throws java.io.IOException {
        try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.list(java.nio.file.Path.of("/dev/shm"))) {
            return all.filter(d -> d.getFileName().toString().matches("gatun-(arrow-)?" + pid + "-.+")).toList();
        }
    }

    @Test
    void aServerSweepsWhatKilledProcessesLeftInDevShm() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isWritable(java.nio.file.Path.of("/dev/shm")));
        long dead;
        try (ChildServer child = ChildServer.start(List.of())) {
            dead = child.info.pid();
            assertEquals(1, shmDirsOf(dead).size(), "the child's region directory");
            child.process.destroyForcibly().waitFor(); // SIGKILL: it cannot clean up
        }
        // What a killed process's unmapped Arrow arena leaves, and a directory of a live process.
        java.nio.file.Path arena = java.nio.file.Files.createDirectory(java.nio.file.Path.of("/dev/shm",
                "gatun-arrow-" + dead + "-1"));
        java.nio.file.Files.writeString(arena.resolve("arena"), "x");
        java.nio.file.Path live = java.nio.file.Files.createDirectory(java.nio.file.Path.of("/dev/shm",
                "gatun-arrow-" + ProcessHandle.current().pid() + "-test"));
        try {
            assertEquals(2, shmDirsOf(dead).size());
            try (GatunServer server = GatunServer.builder().build().start()) {
                assertEquals(List.of(), shmDirsOf(dead));
                assertTrue(java.nio.file.Files.exists(live));
            }
        } finally {
            java.nio.file.Files.deleteIfExists(live);
        }
    }
}
