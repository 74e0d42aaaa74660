package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: flags, the info file, exit on stdin EOF, SHUTDOWN. */
class GatunServerMainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(java.io.InputStream stdin, String... args) {
        return GatunServerMain.run(args, stdin, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void badFlagsExitWith2AndSayWhy(@TempDir Path dir) {
        assertEquals(2, run(System.in, "--bogus"));
        assertTrue(err().contains("unknown option: --bogus") && err().contains("usage:"), err());
        assertEquals(2, run(System.in, "--region-bytes", "12"));
        assertTrue(err().contains("--region-bytes") && err().contains("65536"), err());
        assertEquals(2, run(System.in, "--max-message-bytes", "lots"));
        assertTrue(err().contains("not a number"), err());
        assertEquals(2, run(System.in, "--allowlist", "@" + dir.resolve("nope.txt")));
        assertTrue(err().contains("cannot read allowlist file") && err().contains("nope.txt"), err());
        assertEquals(2, run(System.in, "--warm-up", "-5"));
        assertTrue(err().contains("--warm-up: warm-up requests must be 0 or more, not -5"), err());
        assertEquals(2, run(System.in, "--warm-up=many"));
        assertTrue(err().contains("--warm-up: not a number: many"), err());
        assertEquals(2, run(System.in, "--info-file"));
        assertTrue(err().contains("--info-file needs a value"), err());
        assertEquals(0, run(System.in, "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--exit-on-stdin-eof"));
    }

    @Test
    void writesTheInfoFileAndExitsWhenStdinCloses(@TempDir Path dir) throws Exception {
        Path info = dir.resolve("gatun.json");
        PipedOutputStream parent = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(parent);
        AtomicInteger status = new AtomicInteger(-1);
        Thread main = new Thread(() -> status.set(run(stdin, "--info-file", info.toString(), "--exit-on-stdin-eof",
                "--socket-dir", dir.resolve("sock").toString(), "--allowlist", "default,dev.gatun.fixtures.*")));
        main.start();
        for (int i = 0; i < 500 && !Files.exists(info); i++) {
            Thread.sleep(10);
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(info)));
        JsonObject json = JsonParser.parseString(Files.readString(info)).getAsJsonObject();
        assertEquals(1, json.get("protocol").getAsInt());
        assertEquals(dir.resolve("sock/gatun.sock").toString(), json.get("socket").getAsString());
        assertEquals(64, json.get("token").getAsString().length());
        assertEquals(ProcessHandle.current().pid(), json.get("pid").getAsLong());
        ConnectionInfo ci = new ConnectionInfo(1, Path.of(json.get("socket").getAsString()),
                json.get("token").getAsString(), 0);
        try (LocalClient client = LocalClient.open(ci); LocalChannel ch = client.channel()) {
            assertEquals("nested", ch.call(ch.newObject(ch.cls("dev.gatun.fixtures.Overloads$Nested")).ref(), "hello").value());
        }
        parent.close(); // the parent process is gone
        main.join(10_000);
        assertEquals(0, status.get());
        assertTrue(Files.notExists(dir.resolve("sock/gatun.sock")));
    }

    @Test
    void shutdownOnlyWhenAllowed() throws Exception {
        try (GatunServer refusing = GatunServer.builder().build().start();
                LocalClient client = LocalClient.open(refusing.connectionInfo())) {
            client.control(3, 0);
            // The control connection is read in order: an unknown type after the SHUTDOWN ends the
            // session, so by the time the server closes the connection it has handled the SHUTDOWN.
            client.control(0x7F, 0);
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            assertEquals(-1, client.control.read(one));
            assertTrue(!refusing.isClosed());
        }
        GatunServer allowing = GatunServer.builder().allowShutdown(true).build().start();
        try (LocalClient client = LocalClient.open(allowing.connectionInfo())) {
            client.control(3, 0);
            allowing.awaitClose();
            assertTrue(allowing.isClosed());
            assertTrue(Files.notExists(allowing.socketPath()));
        }
    }

    @Test
    void socketDirectories(@TempDir Path dir) throws Exception {
        Path wide = Files.createDirectory(dir.resolve("wide"));
        Files.setPosixFilePermissions(wide, PosixFilePermissions.fromString("rwxr-xr-x"));
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> GatunServer.builder().socketDir(wide).build().start());
        assertTrue(e.getMessage().contains("0700"), e.getMessage());
        Path mine = Files.createDirectory(dir.resolve("mine"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (GatunServer first = GatunServer.builder().socketDir(mine).build().start()) {
            e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> GatunServer.builder().socketDir(mine).build().start());
            assertTrue(e.getMessage().contains("already listening"), e.getMessage());
            assertTrue(Files.exists(first.socketPath()));
        }
        Files.createFile(mine.resolve("gatun.sock")); // left behind by a dead server
        try (GatunServer second = GatunServer.builder().socketDir(mine).build().start();
                LocalClient client = LocalClient.open(second.connectionInfo())) {
            assertEquals(64, second.connectionInfo().token().length());
        }
    }
}
