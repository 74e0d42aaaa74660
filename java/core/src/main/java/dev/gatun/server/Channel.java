package dev.gatun.server;

import java.io.Closeable;
import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * One end of a channel: the shared-memory region plus the Unix socket that carries doorbells
 * (protocol §2, §3.1). Used by the server and, with the other side's words, by test clients.
 *
 * <p>Turns strictly alternate, so one thread at a time uses a channel and none of the state here
 * needs a lock. The thread must not be interrupted while it waits: an interrupt during a blocking
 * socket read closes the socket.
 */
final class Channel implements Closeable {
    private static final byte DOORBELL = 0x01;

    private final ShmRegion region;
    private final SocketChannel socket;
    private final int mySeq;
    private final int peerSeq;
    private final int myParked;
    private final int peerParked;
    private final long maxMessageBytes;
    /** The data area for headers and chunk copies; its limit is always its capacity. */
    private final ByteBuffer area;
    /** The data area as the reader sees it: position and limit frame the current payload. */
    private final ByteBuffer readView;
    private final FrameReader reader = new FrameReader();
    private final FrameWriter writer;
    private final ByteBuffer bell = ByteBuffer.allocateDirect(1);
    private final WaitPolicy waitPolicy;
    private final BooleanSupplier peerMoved = this::peerMoved;
    /** Both sequence words start at 0 in a new region; never read them here, the peer may have sent already. */
    private long sent;
    private long seen;
    /** A frame that arrived where a CONTINUE was expected (an ERROR answer); the next receive returns it. */
    private boolean pending;

    Channel(ShmRegion region, SocketChannel socket, boolean serverSide, long maxMessageBytes, WaitPolicy waitPolicy) {
        this.region = region;
        this.waitPolicy = waitPolicy;
        this.socket = socket;
        this.mySeq = serverSide ? ShmRegion.SERVER_SEQ : ShmRegion.CLIENT_SEQ;
        this.peerSeq = serverSide ? ShmRegion.CLIENT_SEQ : ShmRegion.SERVER_SEQ;
        this.myParked = serverSide ? ShmRegion.SERVER_PARKED : ShmRegion.CLIENT_PARKED;
        this.peerParked = serverSide ? ShmRegion.CLIENT_PARKED : ShmRegion.SERVER_PARKED;
        this.maxMessageBytes = maxMessageBytes;
        this.area = region.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.readView = region.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.writer = new FrameWriter(region.data().duplicate().order(ByteOrder.LITTLE_ENDIAN), maxMessageBytes);
        // A new region starts at zero; the client may publish its first frame before this
        // constructor runs, so the peer's word must not be sampled here.
        this.sent = 0;
        this.seen = 0;
    }

    /** Starts the next outgoing message; its payload is written through the returned writer. */
    FrameWriter begin(int type) {
        return writer.begin(type);
    }

    FrameReader reader() {
        return reader;
    }

    /**
     * Waits for the peer's next message and positions {@link #reader()} on its payload.
     * Chunked messages are assembled here, answering each chunk but the last with CONTINUE.
     *
     * @return the message's frame type
     * @throws GatunException LIMIT when the message is over the limit: the caller answers with that
     *     ERROR instead of CONTINUE, and the peer stops sending chunks
     */
    int receive() throws IOException {
        if (pending) {
            pending = false;
        } else {
            awaitFrame();
        }
        int length = area.getInt(0);
        int type = area.get(4) & 0xFF;
        int flags = area.get(5) & 0xFF;
        long total = area.getLong(8);
        checkHeader(length, total);
        if (total > maxMessageBytes) {
            throw GatunException.limit("a " + FrameType.name(type) + " message", total, maxMessageBytes);
        }
        if ((flags & FrameType.FLAG_MORE) == 0) {
            if (total != length) {
                throw GatunException.protocol("frame length " + length + " differs from its total " + total);
            }
            reader.reset(readView, FrameType.HEADER_BYTES, FrameType.HEADER_BYTES + length);
            return type;
        }
        ByteBuffer whole = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        while (true) {
            if (length > whole.remaining()) {
                throw GatunException.protocol("chunks carry more than the message total " + total);
            }
            whole.put(whole.position(), area, FrameType.HEADER_BYTES, length);
            whole.position(whole.position() + length);
            if ((flags & FrameType.FLAG_MORE) == 0) {
                break;
            }
            begin(FrameType.CONTINUE);
            send();
            awaitFrame();
            length = area.getInt(0);
            flags = area.get(5) & 0xFF;
            checkHeader(length, total);
            if ((area.get(4) & 0xFF) != type || area.getLong(8) != total) {
                throw GatunException.protocol("a chunk changed the type or total of its message");
            }
        }
        if (whole.hasRemaining()) {
            throw GatunException.protocol("chunks carry " + whole.position() + " bytes of a " + total + "-byte message");
        }
        reader.reset(whole, 0, (int) total);
        return type;
    }

    private void checkHeader(int length, long total) {
        if (length < 0 || length > area.capacity() - FrameType.HEADER_BYTES || total < length) {
            throw GatunException.protocol("bad frame header: length " + length + ", total " + total);
        }
    }

    /** Sends the message built since {@link #begin}, in chunks when it outgrew the data area. */
    void send() throws IOException {
        int type = writer.type();
        int total = writer.payloadLength();
        if (!writer.spilled()) {
            writeHeader(area, type, 0, total, total);
            publish();
            return;
        }
        ByteBuffer src = writer.buffer();
        int chunk = area.capacity() - FrameType.HEADER_BYTES;
        for (int offset = 0; ; ) {
            int n = Math.min(chunk, total - offset);
            boolean more = offset + n < total;
            area.put(FrameType.HEADER_BYTES, src, FrameType.HEADER_BYTES + offset, n);
            writeHeader(area, type, more ? FrameType.FLAG_MORE : 0, n, total);
            publish();
            offset += n;
            if (!more) {
                return;
            }
            awaitFrame();
            int answer = area.get(4) & 0xFF;
            if (answer == FrameType.ERROR) {
                pending = true; // the receiver refused the message (LIMIT): that is its answer
                return;
            }
            if (answer != FrameType.CONTINUE || area.getInt(0) != 0) {
                throw GatunException.protocol("expected CONTINUE after a chunk, got " + FrameType.name(answer));
            }
        }
    }

    /** The 16-byte frame header (§3) at offset 0 of {@code b}. */
    static void writeHeader(ByteBuffer b, int type, int flags, int length, long total) {
        b.putInt(0, length);
        b.put(4, (byte) type);
        b.put(5, (byte) flags);
        b.putShort(6, (short) 0);
        b.putLong(8, total);
    }

    /** §2.1/§2.2: publish the frame, then ring the doorbell if and only if the peer parked. */
    private void publish() throws IOException {
        region.setSeqRelease(mySeq, ++sent);
        VarHandle.fullFence();
        if (region.getParkedVolatile(peerParked) == 1 && region.casParked(peerParked, 1, 0)) {
            bell.clear();
            bell.put(0, DOORBELL);
            try {
                while (bell.hasRemaining()) {
                    socket.write(bell);
                }
            } catch (ClosedChannelException e) {
                throw new ChannelClosedException("the channel was closed");
            }
        }
    }

    private boolean peerMoved() {
        return region.getSeqAcquire(peerSeq) != seen;
    }

    /** §2.2: spin as the wait policy says, then park on the socket. */
    private void awaitFrame() throws IOException {
        if (!peerMoved()) {
            long start = System.nanoTime();
            if (!waitPolicy.spin(peerMoved)) {
                park();
                waitPolicy.parked(System.nanoTime() - start);
            }
        }
        if (!socket.isOpen()) {
            // Closed while we spun or before we parked (the session ended): the frame seen in the
            // region must not be served.
            throw new ChannelClosedException("the channel was closed");
        }
        seen = region.getSeqAcquire(peerSeq);
    }

    private void park() throws IOException {
        while (true) {
            region.setParkedVolatile(myParked, 1);
            VarHandle.fullFence();
            if (peerMoved() && region.casParked(myParked, 1, 0)) {
                return; // the frame came in between: no byte is coming
            }
            // The peer has not sent yet, or it won the CAS and a doorbell byte is on its way.
            bell.clear();
            try {
                if (socket.read(bell) < 0) {
                    throw new ChannelClosedException("the peer closed the channel");
                }
            } catch (ClosedChannelException e) {
                throw new ChannelClosedException("the channel was closed");
            }
            if (peerMoved()) {
                return;
            }
            // A late doorbell of an earlier turn (§2.2): the peer stalled between publishing and
            // reading our parked word, which by then announced this wait. Announce it again.
        }
    }

    boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
