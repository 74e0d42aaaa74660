package dev.gatun.spark.udf;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;

/**
 * A partition's columnar batches re-cut into the Arrow batches Spark's map-in-batch runners send
 * (mapInArrow, mapInPandas): each row wrapped in a struct, and a batch ending where Spark's
 * {@code BatchedPythonArrowInput} ends one, after {@code maxRecordsPerBatch} rows or at the first
 * row count whose ArrowWriter size reaches {@code maxBytesPerBatch}, whichever comes first. The
 * Python function sees the same batches as under stock, so a function whose output depends on
 * where batches end (a per-batch count, a running total) gives stock's result.
 *
 * <p>Every batch handed out is the encoder's one root, refilled: the runner serializes a batch
 * before it asks for the next ({@code ColumnarArrowPythonInput.writeArrowDirect}), and it never
 * keeps one; the root's buffers are released once the source is exhausted. Source batches are read as they come; each may be reused by its producer once the
 * next is asked for, and by then its rows have been copied.
 */
final class SizedArrowBatches implements Iterator<ColumnarBatch> {
    private static final AtomicLong SENT = new AtomicLong();

    private final Iterator<ColumnarBatch> source;
    private final ColumnarArrowEncoder encoder;
    private final int maxRecords;
    private final long maxBytes;
    private final ColumnarBatch out;

    private ColumnarBatch current;
    private int position; // the next row of current to send

    /**
     * @param maxRecords Spark's {@code arrowMaxRecordsPerBatch}; 0 or less: no limit, as in Spark
     * @param maxBytes Spark's {@code arrowMaxBytesPerBatch}; {@code Integer.MAX_VALUE}: no limit
     */
    SizedArrowBatches(Iterator<ColumnarBatch> source, ColumnarArrowEncoder encoder, int maxRecords, long maxBytes) {
        this.source = source;
        this.encoder = encoder;
        this.maxRecords = maxRecords > 0 ? maxRecords : Integer.MAX_VALUE;
        this.maxBytes = maxBytes;
        this.out = new ColumnarBatch(new ColumnVector[] {new ArrowColumnVector(encoder.root().getVector(0))});
    }

    /** Batches handed out in this JVM (in local mode the driver is the executor). */
    static long sent() {
        return SENT.get();
    }

    @Override
    public boolean hasNext() {
        if (more()) {
            return true;
        }
        // Asked by the runner, which asks for the next batch only after it has written the last
        // one: the buffers go back while the task reads the results, as stock's runner closes its
        // writer's allocator at the end of the input.
        encoder.release();
        return false;
    }

    /** Whether a source row is left to send (moving on to the next non-empty source batch). */
    private boolean more() {
        while (current == null || position == current.numRows()) {
            if (!source.hasNext()) {
                current = null;
                return false;
            }
            current = source.next();
            position = 0;
        }
        return true;
    }

    @Override
    public ColumnarBatch next() {
        if (!more()) {
            throw new NoSuchElementException();
        }
        encoder.begin();
        while (encoder.rows() < maxRecords && more()) {
            int before = encoder.rows();
            int n = Math.min(maxRecords - before, current.numRows() - position);
            encoder.append(current, position, n);
            int end = cutWithin(before);
            position += end - before;
            if (end < before + n || bytesReached(end)) {
                break;
            }
        }
        encoder.finish();
        out.setNumRows(encoder.rows());
        SENT.incrementAndGet();
        return out;
    }

    /**
     * Where the batch ends among the rows just appended (after {@code before}): Spark writes a
     * row only while the rows before it are under the byte limit, so the batch ends at the first
     * row count k that reaches it; the rows past k are dropped again and sent next time.
     */
    private int cutWithin(int before) {
        int rows = encoder.rows();
        if (!bytesReached(rows)) {
            return rows;
        }
        // The size only grows with k: the first k in [max(before, 1), rows] that reaches it.
        int lo = Math.max(before, 1);
        int hi = rows;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (bytesReached(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        encoder.truncate(lo);
        return lo;
    }

    private boolean bytesReached(int k) {
        return maxBytes != Integer.MAX_VALUE && k > 0 && encoder.sizeInBytes(k) >= maxBytes;
    }
}
