package dev.gatun.arrow;

import java.io.IOException;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.validate.ValidateVectorBufferVisitor;

/**
 * The JVM end of {@code client.send_arrow_buffers(...)}: an {@link ArrowReader} whose batches the
 * client writes into the arena on demand and whose vectors view that shared memory in place.
 *
 * <p>Each {@link #loadNextBatch()} first clears the root, so the previous batch's span goes back
 * to the arena (unless Java code still holds its buffers, e.g. after a transfer: then when those
 * are released), and then asks the {@link BatchSource} for the next batch. A stream of any length
 * therefore needs about two batches of arena space. Not thread-safe, like every ArrowReader.
 */
public final class ArenaReader extends ArrowReader {
    /** The span reserved for each batch is this fraction of the arena (see spec/arrow.md §3). */
    static final int RESERVE_FRACTION = 4;

    private final ArrowArena arena;
    private final Schema schema;
    private final BatchSource source;
    private long bytesRead;
    private boolean ended;
    private boolean closed;

    private ArenaReader(ArrowArena arena, Schema schema, BatchSource source) {
        super(arena.allocator());
        this.arena = arena;
        this.schema = schema;
        this.source = source;
    }

    /** A reader of the batches {@code source} hands over, with the schema of that IPC message. */
    public static ArenaReader open(ArrowArena arena, byte[] schemaMessage, BatchSource source) throws IOException {
        if (arena == null || schemaMessage == null || source == null) {
            throw new IllegalArgumentException("ArenaReader.open needs an arena, a schema message and a source");
        }
        arena.checkRoot("ArenaReader.open");
        return new ArenaReader(arena, IpcMessages.readSchema(schemaMessage), source);
    }

    /**
     * A reader of the batches the client's {@code source} hands over under {@code key}: the form a
     * client uses for its transfers, one callback per session (see {@link KeyedBatchSource}).
     */
    public static ArenaReader open(ArrowArena arena, byte[] schemaMessage, KeyedBatchSource source, long key)
            throws IOException {
        if (source == null) {
            throw new IllegalArgumentException("ArenaReader.open needs an arena, a schema message and a source");
        }
        return open(arena, schemaMessage, KeyedBatchSource.of(source, key));
    }

    @Override
    public VectorSchemaRoot getVectorSchemaRoot() throws IOException {
        checkOpen();
        return super.getVectorSchemaRoot();
    }

    @Override
    public boolean loadNextBatch() throws IOException {
        checkOpen();
        prepareLoadNextBatch();
        getVectorSchemaRoot().clear();
        ArrowBuf msg = nextPayload();
        if (msg == null) {
            return false;
        }
        try {
            ArrowRecordBatch batch = IpcMessages.readBatch(msg);
            bytesRead += msg.capacity();
            loadRecordBatch(batch);
        } finally {
            msg.getReferenceManager().release();
        }
        checkBuffers(getVectorSchemaRoot());
        return true;
    }

    /**
     * The next record batch as its encapsulated IPC message, copied out of the arena as the client
     * wrote it (one copy; the body is neither decoded nor loaded into vectors); null at the end. For
     * Java code that keeps the messages rather than vectors, as Spark's {@code createDataFrame} does.
     * The bytes are the client's, unchecked beyond the metadata: their reader validates them as it
     * would any IPC stream. The reader's vectors are not touched.
     */
    public byte[] nextBatchMessage() throws IOException {
        checkOpen();
        ArrowBuf msg = nextPayload();
        if (msg == null) {
            return null;
        }
        try {
            byte[] message = IpcMessages.copyBatchMessage(msg);
            bytesRead += msg.capacity();
            return message;
        } finally {
            msg.getReferenceManager().release();
        }
    }

    /** Asks the source for the next batch; its payload (a span, or bytes), or null at the end. */
    private ArrowBuf nextPayload() throws IOException {
        if (ended) {
            return null;
        }
        // A span for the batch, reserved here so that the client needs no allocation call of its
        // own (one round trip per batch); the client uses it if the batch fits.
        long reserved = arena.allocate(arena.size() / RESERVE_FRACTION);
        Object next;
        try {
            next = source.next(reserved, reserved < 0 ? 0 : arena.size() / RESERVE_FRACTION);
        } catch (RuntimeException e) {
            arena.abandon(reserved);
            throw e;
        }
        if (!(next instanceof Number n && n.longValue() == reserved)) {
            arena.abandon(reserved);
        }
        if (next == null) {
            ended = true;
            return null;
        }
        if (next instanceof Number n) {
            long offset = n.longValue();
            long[] payload = arena.takeWritten(offset);
            return new SpanReferenceManager(arena, offset, payload[1]).payload(arena.address() + payload[0]);
        }
        if (next instanceof byte[] bytes) {
            ArrowBuf copy = arena.allocator().buffer(bytes.length);
            copy.setBytes(0, bytes);
            return copy.slice(0, bytes.length);
        }
        throw new IllegalArgumentException("the batch source returned a " + next.getClass().getName()
                + "; expected a span offset (long), IPC message bytes or null");
    }

    /**
     * Lengths, buffer sizes and last offsets come from the client: check them against the buffers
     * before any Java code reads the vectors, so that no read goes beyond a span. (Arrow's
     * ValueVectorUtility.validate would also do this, but its type check rejects every MapVector.)
     */
    private static void checkBuffers(VectorSchemaRoot root) {
        ValidateVectorBufferVisitor visitor = new ValidateVectorBufferVisitor();
        for (FieldVector v : root.getFieldVectors()) {
            if (v.getValueCount() != root.getRowCount()) {
                throw new IllegalArgumentException("column " + v.getName() + " has " + v.getValueCount()
                        + " values in a batch of " + root.getRowCount() + " rows");
            }
            v.accept(visitor, null);
        }
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    protected void closeReadSource() {
        if (closed) {
            return;
        }
        closed = true;
        if (ended) {
            return; // the source said so itself; spare the client a callback
        }
        try {
            source.close();
        } catch (RuntimeException e) {
            // The client may be gone (session ended); the reader is closed on this side regardless.
        }
    }

    @Override
    protected Schema readSchema() {
        return schema;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this Arrow reader is closed");
        }
    }
}
