package dev.gatun.server;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * A minimal Java client of the protocol (§1): the real hand-shake over the real socket, and channels
 * that map the real region. The server's {@link WarmUp} drives its own request path through it, and
 * the tests use it to speak the wire protocol without Python.
 */
final class LocalClient implements AutoCloseable {
    /** A WELCOME with a non-zero status. */
    record Refusal(int status, String message) {
    }

    final SocketChannel control;
    final byte[] sessionId;
    final long maxMessageBytes;
    private final Path socket;
    private final byte[] token;

    private LocalClient(Path socket, byte[] token, SocketChannel control, byte[] sessionId, long maxMessageBytes) {
        this.socket = socket;
        this.token = token;
        this.control = control;
        this.sessionId = sessionId;
        this.maxMessageBytes = maxMessageBytes;
    }

    static byte[] hello(int kind, byte[] token, byte[] session) {
        ByteBuffer b = ByteBuffer.allocate(kind == 2 ? 56 : 40).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {'G', 'A', 'T', 'N'}).putShort((short) 1).put((byte) kind).put((byte) 0).put(token);
        if (kind == 2) {
            b.put(session);
        }
        return b.array();
    }

    static SocketChannel connect(Path socket, byte[] hello) throws IOException {
        SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        ByteBuffer b = ByteBuffer.wrap(hello);
        while (b.hasRemaining()) {
            c.write(b);
        }
        return c;
    }

    static ByteBuffer read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("EOF after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }

    /** Reads a refusal (status, then u16 length + message); null if the status is OK. */
    static Refusal status(SocketChannel c) throws IOException {
        int status = read(c, 1).get() & 0xFF;
        if (status == 0) {
            return null;
        }
        int n = read(c, 2).getShort() & 0xFFFF;
        return new Refusal(status, StandardCharsets.UTF_8.decode(read(c, n)).toString());
    }

    static LocalClient open(ConnectionInfo info) throws IOException {
        byte[] token = HexFormat.of().parseHex(info.token());
        SocketChannel c = connect(info.socket(), hello(1, token, null));
        Refusal r = status(c);
        if (r != null) {
            c.close();
            throw new IOException("refused: " + r);
        }
        ByteBuffer b = read(c, 24);
        byte[] id = new byte[16];
        b.get(id);
        return new LocalClient(info.socket(), token, c, id, b.getLong());
    }

    LocalChannel channel() throws IOException {
        return channel(maxMessageBytes);
    }

    /** A channel whose own sends are limited to {@code limit} rather than the server's maximum. */
    LocalChannel channel(long limit) throws IOException {
        SocketChannel c = connect(socket, hello(2, token, sessionId));
        Refusal r = status(c);
        if (r != null) {
            c.close();
            throw new IOException("refused: " + r);
        }
        ByteBuffer b = read(c, 16);
        int id = b.getInt();
        long size = b.getLong();
        int n = b.getInt();
        Path file = Path.of(StandardCharsets.UTF_8.decode(read(c, n)).toString());
        ShmRegion region = ShmRegion.open(file);
        if (region.size() != size) {
            throw new IOException("region size " + region.size() + " != " + size);
        }
        c.write(ByteBuffer.wrap(new byte[] {1}));
        return new LocalChannel(id, file, new Channel(region, c, false, limit, WaitPolicy.factory(WaitPolicy.DEFAULT).get()));
    }

    void control(int type, int channelId) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).put((byte) type);
        if (type == 1) {
            b.putInt(channelId);
        }
        b.flip();
        while (b.hasRemaining()) {
            control.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        control.close();
    }
}
