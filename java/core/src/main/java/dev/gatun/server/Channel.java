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
    /** Where the bytes of chunked messages being received are counted (the session); null: nowhere. */
    private Budget budget;
    /** The bytes of the last assembled message, counted in {@link #budget} until the next receive. */
    private long held;

    /** A bound on the bytes of chunked messages that several channels hold at once (§4.3). */
    interface Budget {
        /** Counts {@code bytes} more; false (counting nothing) if that would go over the bound. */
        boolean reserve(long bytes);

        void release(long bytes);

        /** The bound and what is counted now, for the refusal's message. */
        String describe();
    }

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
    void budget(Budget b) {
        this.budget = b;
    }

    int receive() throws IOException {
        releaseHeld();
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
        // Counted against the session before any byte is kept, so that the refusal is the answer to
        // the first chunk, as §4.3 asks; the memory itself is taken as the chunks arrive, not for
        // the claimed total up front (a client could claim 2 GB and send one chunk).
        if (budget != null && !budget.reserve(total)) {
            throw new GatunException(ErrorCode.LIMIT, "a " + FrameType.name(type) + " message of " + total
                    + " bytes would go over what one session may be receiving at once: " + budget.describe());
        }
        held = total;
        boolean assembled = false;
        try {
            ByteBuffer whole = grow(null, Math.min(total, Math.max(length, INITIAL_ASSEMBLY_BYTES)), total);
            while (true) {
                if (length > total - whole.position()) {
                    throw GatunException.protocol("chunks carry more than the message total " + total);
                }
                if (length > whole.remaining()) {
                    whole = grow(whole, Math.min(total, Math.max(whole.position() + (long) length,
                            2L * whole.capacity())), total);
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
            if (whole.position() != total) {
                throw GatunException.protocol("chunks carry " + whole.position() + " bytes of a " + total + "-byte message");
            }
            reader.reset(whole, 0, (int) total);
            assembled = true;
            return type;
        } finally {
            if (!assembled) {
                releaseHeld();
            }
        }
    }

    /** The first allocation for a chunked message; it doubles from there as chunks arrive. */
    static final int INITIAL_ASSEMBLY_BYTES = 1 << 20;

    /**
     * A buffer of {@code capacity} bytes holding what {@code old} holds. Running out of heap is the
     * client's message being too large for this server now: LIMIT, answered instead of CONTINUE
     * (the sender stops there, §3.1), not an OutOfMemoryError that ends the channel's thread.
     */
    private static ByteBuffer grow(ByteBuffer old, long capacity, long total) {
        ByteBuffer b;
        try {
            b = ByteBuffer.allocate((int) capacity).order(ByteOrder.LITTLE_ENDIAN);
        } catch (OutOfMemoryError e) {
            throw new GatunException(ErrorCode.LIMIT, "the server has no memory for a message of " + total
                    + " bytes now (its heap is full at " + (old == null ? 0 : old.position()) + " bytes of it)");
        }
        if (old != null) {
            b.put(0, old, 0, old.position());
            b.position(old.position());
        }
        return b;
    }

    /** Gives the last assembled message's bytes back to the budget; the reader lets go of them. */
    private void releaseHeld() {
        if (held > 0) {
            if (budget != null) {
                budget.release(held);
            }
            held = 0;
            reader.reset(readView, 0, 0);
        }
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

    /**
     * Publishes the data area as one frame with exactly this header, whatever it claims: test
     * clients use it to act as a careless or hostile client would.
     */
    void sendRaw(int type, int flags, int length, long total) throws IOException {
        writeHeader(area, type, flags, length, total);
        publish();
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
        if (!peerMoved() && !waitPolicy.spin(peerMoved)) {
            park();
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

    /** Gives back what the channel's last message counted; called by the channel's own thread at its end. */
    void releaseBudget() {
        releaseHeld();
    }
}
