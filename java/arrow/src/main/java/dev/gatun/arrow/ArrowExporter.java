package dev.gatun.arrow;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The JVM end of {@code client.get_arrow_data(...)}: writes record batches as Arrow IPC messages
 * into arena spans that the client then reads in place (spec/arrow.md §4).
 *
 * <p>The client pulls: {@link #next()} writes the next batch and lends its span, or says that the
 * arena has no room for it now ({@link #NO_ROOM}; the batch stays pending), after which the client
 * either frees arena space and asks again, or gives the exporter a further arena to write into
 * ({@link #continueIn}), or takes the batch as bytes ({@link #nextBytes()}).
 */
public final class ArrowExporter implements AutoCloseable {
    /** {@link #next()}: no more batches. */
    public static final long END = -1;
    /** {@link #next()}: the pending batch does not fit in the arena now. */
    public static final long NO_ROOM = -2;

    /** One IPC message waiting to be written. */
    private interface Pending extends AutoCloseable {
        /** An upper bound of the encoded size. */
        long maxSize();

        /** Encodes the message into {@code out}; returns the bytes written. */
        long writeTo(WritableByteChannel out) throws IOException;

        @Override
        void close();
    }

    /** Produces the messages of a stream, then null. */
    private interface Messages {
        Pending next() throws IOException;
    }

    /** Where the next batch goes: the arena it was opened on, or an extension it continued into. */
    private ArrowArena arena;
    private final Schema schema;
    private final Messages messages;
    private Pending pending;
    private boolean ended;
    private boolean closed;

    private ArrowExporter(ArrowArena arena, Schema schema, Messages messages) {
        for (Field f : schema.getFields()) {
            if (f.getDictionary() != null) {
                throw new IllegalArgumentException("field " + f.getName()
                        + " is dictionary-encoded; decode it first (not supported on the shared-memory path)");
            }
        }
        this.arena = arena;
        this.schema = schema;
        this.messages = messages;
    }

    /**
     * An exporter of an {@link ArrowReader}'s remaining batches or of a {@link VectorSchemaRoot}'s
     * current content (one batch). The reader or root stays the caller's: it is not closed. An
     * ArrowExporter of this arena (e.g. from {@link #fromIpcBatches}) is returned as it is.
     */
    public static ArrowExporter open(ArrowArena arena, Object data) throws IOException {
        if (arena == null) {
            throw new IllegalArgumentException("ArrowExporter.open needs an arena");
        }
        arena.checkRoot("ArrowExporter.open");
        if (data instanceof ArrowExporter exporter) {
            if (!exporter.arena.sameFamily(arena)) {
                throw new IllegalArgumentException("this ArrowExporter writes into another arena");
            }
            return exporter;
        }
        if (data instanceof ArrowReader reader) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            VectorUnloader unloader = new VectorUnloader(root);
            return new ArrowExporter(arena, root.getSchema(),
                    () -> reader.loadNextBatch() ? batch(unloader.getRecordBatch()) : null);
        }
        if (data instanceof VectorSchemaRoot root) {
            boolean[] done = {false};
            return new ArrowExporter(arena, root.getSchema(), () -> {
                if (done[0]) {
                    return null;
                }
                done[0] = true;
                return batch(new VectorUnloader(root).getRecordBatch());
            });
        }
        throw new IllegalArgumentException("expected an org.apache.arrow.vector.ipc.ArrowReader, a "
                + "VectorSchemaRoot or an ArrowExporter, got " + (data == null ? "null" : data.getClass().getName()));
    }

    /**
     * The reader's remaining batches, each as one IPC message on the heap: the form Spark holds
     * collected Arrow results in, and {@link #fromIpcBatches} exports.
     */
    public static List<byte[]> encodeBatches(ArrowReader reader) throws IOException {
        List<byte[]> out = new ArrayList<>();
        VectorUnloader unloader = new VectorUnloader(reader.getVectorSchemaRoot());
        while (reader.loadNextBatch()) {
            try (ArrowRecordBatch batch = unloader.getRecordBatch()) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(
                        (int) Math.min(batch.computeBodyLength() + 1024, Integer.MAX_VALUE - 8));
                MessageSerializer.serialize(new WriteChannel(Channels.newChannel(bytes)), batch);
                out.add(bytes.toByteArray());
            }
        }
        return out;
    }

    /**
     * An exporter of record batches that are already Arrow IPC messages (e.g. what Spark's
     * {@code ArrowConverters} produce): each {@code byte[]} is copied into the arena as it is,
     * without being decoded. {@code schema} is the stream's schema.
     */
    public static ArrowExporter fromIpcBatches(ArrowArena arena, Schema schema, Iterator<byte[]> batches) {
        if (arena == null || schema == null || batches == null) {
            throw new IllegalArgumentException("ArrowExporter.fromIpcBatches needs an arena, a schema and batches");
        }
        arena.checkRoot("ArrowExporter.fromIpcBatches");
        return new ArrowExporter(arena, schema, () -> batches.hasNext() ? bytes(batches.next()) : null);
    }

    /** The stream's schema as one IPC message. */
    public byte[] schema() throws IOException {
        return IpcMessages.writeSchema(schema);
    }

    /**
     * Writes the next batch into a span and lends it to the client: returns the span offset, or
     * {@link #END}, or {@link #NO_ROOM} (the batch stays pending for the next call): no span is
     * free, or the file system refused the write (a full tmpfs, where the arena's pages do not
     * exist yet), and the client takes {@link #nextBytes} or a new arena instead.
     */
    public long next() throws IOException {
        if (!advance()) {
            return END;
        }
        long max = pending.maxSize();
        long offset = arena.exportSpan(max);
        if (offset < 0) {
            return NO_ROOM;
        }
        try {
            arena.lend(offset, pending.writeTo(arena.spanWriter(offset, max)));
        } catch (IOException e) {
            arena.free(offset);
            return NO_ROOM;
        } catch (RuntimeException e) {
            arena.free(offset);
            throw e;
        }
        pending.close();
        pending = null;
        return offset;
    }

    /**
     * The arena space the pending batch needs (span header included), loading it if none is
     * pending; 0 at the end. What an arena given to {@link #continueIn} must at least hold.
     */
    public long pendingSize() throws IOException {
        if (!advance()) {
            return 0;
        }
        return (ArrowArena.SPAN_HEADER + pending.maxSize() + 63) & ~63L;
    }

    /**
     * Writes the following batches into {@code next}: an extension made by {@link ArrowArena#extend}
     * from this exporter's arena family and mapped by the client, a retired one its root kept whose
     * spans the client all returned (it is reused, spec/arrow.md §4.1; else
     * {@link IllegalStateException}), or that family's root again. An extension this exporter
     * leaves is retired (the JVM closes its file or keeps it for reuse; the client keeps its views).
     */
    public void continueIn(ArrowArena next) throws IOException {
        if (closed) {
            throw new IllegalStateException("this Arrow exporter is closed");
        }
        if (next == null) {
            throw new IllegalArgumentException("ArrowExporter.continueIn needs an arena");
        }
        if (!arena.sameFamily(next)) {
            throw new IllegalArgumentException("this Arrow arena is not of this exporter's session"
                    + " (continueIn takes an arena made by extend() from the exporter's arena)");
        }
        next.claim(this);
        if (next != arena) {
            leave();
            arena = next;
        }
    }

    /** Retires the current arena if it is an extension: this exporter writes nothing more there. */
    private void leave() throws IOException {
        if (!arena.isRoot()) {
            arena.retire(this);
        }
    }

    /** The next batch as IPC message bytes (the way around a full arena), or null at the end. */
    public byte[] nextBytes() throws IOException {
        if (!advance()) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(pending.maxSize(), Integer.MAX_VALUE - 8));
        pending.writeTo(Channels.newChannel(out));
        pending.close();
        pending = null;
        return out.toByteArray();
    }

    /** Drops a pending batch and retires an extension it wrote into. The source reader or root is not closed. */
    @Override
    public void close() {
        if (pending != null) {
            pending.close();
            pending = null;
        }
        if (!closed) {
            closed = true;
            try {
                leave();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private boolean advance() throws IOException {
        if (closed) {
            throw new IllegalStateException("this Arrow exporter is closed");
        }
        if (pending == null && !ended) {
            pending = messages.next();
            ended = pending == null;
            if (ended) {
                leave();
            }
        }
        return pending != null;
    }

    private static Pending batch(ArrowRecordBatch batch) {
        return new Pending() {
            @Override
            public long maxSize() {
                // Prefix (8), metadata, its padding to 8, body (already padded per buffer).
                return 16 + MessageSerializer.serializeMetadata(batch).remaining() + batch.computeBodyLength();
            }

            @Override
            public long writeTo(WritableByteChannel out) throws IOException {
                WriteChannel ch = new WriteChannel(out);
                MessageSerializer.serialize(ch, batch);
                return ch.getCurrentPosition();
            }

            @Override
            public void close() {
                batch.close();
            }
        };
    }

    private static Pending bytes(byte[] message) {
        return new Pending() {
            @Override
            public long maxSize() {
                return message.length;
            }

            @Override
            public long writeTo(WritableByteChannel out) throws IOException {
                ByteBuffer src = ByteBuffer.wrap(message);
                while (src.hasRemaining()) {
                    out.write(src);
                }
                return message.length;
            }

            @Override
            public void close() {
            }
        };
    }
}
