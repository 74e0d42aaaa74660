package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Arrow arenas made through the server (a client's static call of ArrowArena.create) end with the
 * session that made them: a client that goes away, or a server that stops, leaves no file behind.
 * In this package for the server's own test client.
 */
class ArenaLifetimeTest {
    /** An arena the client never maps: its file stays until someone closes the arena. */
    static Path makeArena(LocalChannel ch) throws Exception {
        ClientValues.Ref arena = ch.call(ch.cls("dev.gatun.arrow.ArrowArena"), "create", 1L << 20).ref();
        Path file = Path.of((String) ch.call(arena, "path").value());
        assertTrue(Files.exists(file), file.toString());
        assertTrue(file.getParent().getFileName().toString().startsWith("gatun-arrow-" + ProcessHandle.current().pid() + "-"),
                file.toString());
        return file;
    }

    @Test
    void aSessionsArenasGoWithIt() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start()) {
            LocalClient c = LocalClient.open(server.connectionInfo());
            LocalChannel ch = c.channel();
            Path file = makeArena(ch);
            ch.close();
            c.close(); // the client goes away
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!server.sessions().isEmpty() && System.nanoTime() < deadline) {
                LockSupport.parkNanos(1_000_000); // the session ends on the control thread
            }
            assertEquals(0, server.sessions().size());
            assertFalse(Files.exists(file), file + " outlived its session");
            assertFalse(Files.exists(file.getParent()));
        }
    }

    @Test
    void aStoppingServerRemovesItsSessionsArenas() throws Exception {
        GatunServer server = GatunServer.builder().build().start();
        LocalClient c = LocalClient.open(server.connectionInfo());
        LocalChannel ch = c.channel();
        Path file = makeArena(ch);
        server.close();
        assertFalse(Files.exists(file), file + " outlived its server");
        ch.close();
        c.close();
    }

    @Test
    void anArenaTheClientClosedIsNoLongerHeldBySession() throws Exception {
        try (GatunServer server = GatunServer.builder().build().start();
                LocalClient c = LocalClient.open(server.connectionInfo());
                LocalChannel ch = c.channel()) {
            ClientValues.Ref arena = ch.call(ch.cls("dev.gatun.arrow.ArrowArena"), "create", 1L << 20).ref();
            Path file = Path.of((String) ch.call(arena, "path").value());
            assertEquals(FrameType.RETURN, ch.call(arena, "close").type());
            assertFalse(Files.exists(file));
            assertEquals(FrameType.RETURN, ch.call(arena, "size").type()); // still a live object, just closed
        }
    }
}
