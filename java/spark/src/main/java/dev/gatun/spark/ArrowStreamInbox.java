package dev.gatun.spark;

import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.execution.arrow.ArrowConverters$;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/**
 * An Arrow IPC stream sent by PySpark's {@code createDataFrame(pandas_df | pyarrow_table)} over
 * Gatun, in place of the temp file that {@code PythonSQLUtils.readArrowStreamFromFile} reads.
 *
 * <p>Python writes the stream (the exact bytes PySpark would write to the file) in pieces with
 * {@link #write}; {@link #batches} then splits it into record-batch messages with Spark's own
 * reader ({@code ArrowConverters.getBatchesFromStream}, the one behind
 * {@code readArrowStreamFromFile}), so the result is what Spark gets from the file, errors
 * included, and goes to {@code PythonSQLUtils.toDataFrame} the same way.
 */
public final class ArrowStreamInbox {
    private static final AtomicLong OPENED = new AtomicLong();

    private final List<byte[]> pieces = new ArrayList<>();
    private boolean consumed;

    /** An empty inbox. */
    public ArrowStreamInbox() {
        OPENED.incrementAndGet();
    }

    /** How many inboxes this JVM has opened (lets a test check that this path was taken). */
    public static long opened() {
        return OPENED.get();
    }

    /** Appends the next piece of the stream. */
    public synchronized void write(byte[] piece) {
        if (consumed) {
            throw new IllegalStateException("this Arrow stream has already been read");
        }
        pieces.add(piece);
    }

    /**
     * The stream's record batches, each as one serialized Arrow IPC message, in stream order.
     * Can be called once: the pieces are released as they are read.
     */
    public synchronized Iterator<byte[]> batches() {
        if (consumed) {
            throw new IllegalStateException("this Arrow stream has already been read");
        }
        consumed = true;
        byte[][] batches = (byte[][]) ArrowConverters$.MODULE$
                .getBatchesFromStream(Channels.newChannel(new PiecesInputStream(pieces)))
                .toArray(ClassTag$.MODULE$.apply(byte[].class));
        return CollectionConverters.asScala(Arrays.asList(batches).iterator());
    }

    /** Reads the pieces in order, dropping each one once read so the stream is not held twice. */
    private static final class PiecesInputStream extends InputStream {
        private final List<byte[]> pieces;
        private int index;
        private int offset;

        PiecesInputStream(List<byte[]> pieces) {
            this.pieces = pieces;
        }

        private byte[] current() {
            while (index < pieces.size()) {
                byte[] piece = pieces.get(index);
                if (offset < piece.length) {
                    return piece;
                }
                pieces.set(index++, null);
                offset = 0;
            }
            return null;
        }

        @Override
        public int read() {
            byte[] piece = current();
            return piece == null ? -1 : piece[offset++] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            byte[] piece = current();
            if (piece == null) {
                return -1;
            }
            int n = Math.min(len, piece.length - offset);
            System.arraycopy(piece, offset, b, off, n);
            offset += n;
            return n;
        }
    }
}
