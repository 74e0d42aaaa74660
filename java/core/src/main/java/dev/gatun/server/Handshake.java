package dev.gatun.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/** The hand-shake's bytes (protocol §1.2): HELLO in, WELCOME or a refusal out, MAPPED in. */
final class Handshake {
    private static final System.Logger LOG = System.getLogger(Handshake.class.getName());
    static final long TIMEOUT_MILLIS = 10_000;
    private static final byte[] MAGIC = {'G', 'A', 'T', 'N'};
    static final int KIND_SESSION = 1;
    static final int KIND_CHANNEL = 2;
    private static final int MAPPED = 0x01;
    /** The longest HELLO (a channel's). */
    private static final int MAX_HELLO_BYTES = 56;

    /** WELCOME statuses. */
    static final int OK = 0;
    static final int AUTH_FAILED = 1;
    static final int UNSUPPORTED_VERSION = 2;
    static final int MALFORMED = 3;
    static final int UNKNOWN_SESSION = 4;
    static final int LIMIT_REACHED = 5;

    /** What a refused client may still send before it reads the refusal and closes (its hello is 56 bytes). */
    private static final int MAX_DRAIN_BYTES = 64 * 1024;

    private Handshake() {
    }

    /**
     * What the first bytes of a HELLO say: {@code needed > 0}, read that many bytes and ask again;
     * else a refusal ({@code status} and {@code message}) or OK with the kind and, for a channel, the
     * session id in hex.
     */
    record Hello(int status, String message, int kind, int needed, String session) {
    }

    /**
     * Judges {@code b[0, n)}, the first bytes of a HELLO. Pure (no I/O), so that it can be fuzzed; it
     * never asks for more than 56 bytes and never reads past what it asked for. The token is compared
     * in constant time.
     */
    static Hello judgeHello(byte[] b, int n, byte[] token) {
        if (n < 8) {
            return new Hello(OK, null, 0, 8, null);
        }
        if (!MessageDigest.isEqual(MAGIC, Arrays.copyOf(b, 4))) {
            return new Hello(MALFORMED, "malformed hello: bad magic", 0, 0, null);
        }
        int version = (b[4] & 0xFF) | (b[5] & 0xFF) << 8;
        if (version != GatunServer.PROTOCOL_VERSION) {
            return new Hello(UNSUPPORTED_VERSION, "unsupported protocol version " + version
                    + "; this server speaks version " + GatunServer.PROTOCOL_VERSION, 0, 0, null);
        }
        int kind = b[6] & 0xFF;
        if (kind != KIND_SESSION && kind != KIND_CHANNEL) {
            return new Hello(MALFORMED, "malformed hello: unknown kind " + kind, 0, 0, null);
        }
        if (n < 40) {
            return new Hello(OK, null, kind, 40, null);
        }
        if (!MessageDigest.isEqual(token, Arrays.copyOfRange(b, 8, 40))) {
            return new Hello(AUTH_FAILED, "authentication failed", kind, 0, null);
        }
        if (kind == KIND_SESSION) {
            return new Hello(OK, null, kind, 0, null);
        }
        if (n < MAX_HELLO_BYTES) {
            return new Hello(OK, null, kind, MAX_HELLO_BYTES, null);
        }
        return new Hello(OK, null, kind, 0, HexFormat.of().formatHex(b, 40, MAX_HELLO_BYTES));
    }

    /** Reads a HELLO as far as {@link #judgeHello} needs; a connection that ends early is MALFORMED. */
    static Hello readHello(SocketChannel connection, byte[] token) throws IOException {
        ByteBuffer hello = ByteBuffer.allocate(MAX_HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        Hello h = new Hello(OK, null, 0, 8, null);
        while (h.needed() > 0) {
            if (!readFully(connection, hello, h.needed())) {
                return new Hello(MALFORMED, "malformed hello: too short", 0, 0, null);
            }
            h = judgeHello(hello.array(), h.needed(), token);
        }
        return h;
    }

    /** A session's WELCOME: OK, its id, the largest message. */
    static void welcomeSession(SocketChannel connection, byte[] sessionId, long maxMessageBytes) throws IOException {
        ByteBuffer welcome = ByteBuffer.allocate(1 + 16 + 8).order(ByteOrder.LITTLE_ENDIAN);
        welcome.put((byte) OK).put(sessionId).putLong(maxMessageBytes);
        writeAll(connection, welcome);
    }

    /**
     * A channel's WELCOME (OK, its id, the region's size and path), then waits for MAPPED; false if
     * the client sent anything else or went away (the connection is then closed).
     */
    static boolean welcomeChannel(SocketChannel connection, int id, long regionBytes, String regionPath)
            throws IOException {
        byte[] path = regionPath.getBytes(StandardCharsets.UTF_8);
        ByteBuffer welcome = ByteBuffer.allocate(1 + 4 + 8 + 4 + path.length).order(ByteOrder.LITTLE_ENDIAN);
        welcome.put((byte) OK).putInt(id).putLong(regionBytes).putInt(path.length).put(path);
        writeAll(connection, welcome);
        ByteBuffer mapped = ByteBuffer.allocate(1);
        if (!readFully(connection, mapped, 1) || mapped.get(0) != MAPPED) {
            closeQuietly(connection);
            return false;
        }
        return true;
    }

    /** Sends a refusal (status, message) and closes the connection without resetting it. */
    static void refuse(SocketChannel c, int status, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(3 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) status).putShort((short) text.length).put(text).flip();
        try {
            while (b.hasRemaining()) {
                c.write(b);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "sending refusal", e);
        }
        drainAndClose(c);
    }

    /**
     * Closing a Unix socket with unread bytes resets the connection: the client then reads
     * ECONNRESET instead of EOF after the refusal, or fails with EPIPE writing the rest of its hello
     * before it reads the refusal at all. So: EOF to the client first, then read and drop what it
     * still sends until it closes. Bounded in bytes here and in time by the hand-shake timeout,
     * which closes the connection under this read.
     */
    private static void drainAndClose(SocketChannel c) {
        try {
            c.shutdownOutput();
            ByteBuffer sink = ByteBuffer.allocate(512);
            for (int drained = 0; drained < MAX_DRAIN_BYTES; drained += sink.position()) {
                sink.clear();
                if (c.read(sink) < 0) {
                    break;
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "draining a refused connection: " + e);
        }
        closeQuietly(c);
    }

    /** Reads until {@code b} holds {@code upTo} bytes; false at EOF. */
    static boolean readFully(SocketChannel c, ByteBuffer b, int upTo) throws IOException {
        b.limit(upTo);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static void writeAll(SocketChannel c, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing connection", e);
        }
    }
}
