package dev.gatun.spark;

import dev.gatun.arrow.ArenaReader;
import dev.gatun.arrow.ArrowExporter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.ipc.ArrowReader;
import scala.collection.AbstractIterator;
import scala.collection.Iterator;

/**
 * The record batches PySpark's {@code createDataFrame(pandas_df | pyarrow_table)} sends over Gatun
 * (through the session's Arrow arena, as a {@code dev.gatun.arrow.ArenaReader}), in place of the
 * temp file that {@code PythonSQLUtils.readArrowStreamFromFile} reads.
 *
 * <p>{@link #batches} turns them into what {@code readArrowStreamFromFile} returns: one encapsulated
 * Arrow IPC record-batch message per batch, in order, which PySpark then hands to
 * {@code PythonSQLUtils.toDataFrame} as usual (Spark's own schema handling, one batch per
 * partition). Spark keeps those batches on the heap for the DataFrame's life, so each one is
 * copied out of the shared memory into a {@code byte[]} as soon as it arrives (the message as
 * pyarrow wrote it, {@code ArenaReader.nextBatchMessage}; any other reader's batches are encoded),
 * and its span goes back to the arena before the next one is asked for.
 */
public final class ArrowBatchInbox {
    private static final AtomicLong BATCHES = new AtomicLong();

    private ArrowBatchInbox() {
    }

    /** Reads all of {@code reader}'s batches and closes it; returns them as IPC messages, in order. */
    public static Iterator<byte[]> batches(ArrowReader reader) throws IOException {
        List<byte[]> out;
        try (reader) {
            if (reader instanceof ArenaReader arena) {
                // The spans hold the messages pyarrow wrote: copied out as they are, as Spark would
                // have read them from the temp file, without a decode and re-encode per batch.
                out = new ArrayList<>();
                for (byte[] m = arena.nextBatchMessage(); m != null; m = arena.nextBatchMessage()) {
                    out.add(m);
                }
            } else {
                out = ArrowExporter.encodeBatches(reader);
            }
        }
        BATCHES.addAndGet(out.size());
        return asScala(out.iterator());
    }

    /**
     * A Scala iterator over {@code it}: what {@code CollectionConverters.asScala} gives, written out
     * because Scala 2.13 (Spark 4) and 2.12 (Spark 3.5) keep that converter in different classes.
     */
    static <T> Iterator<T> asScala(java.util.Iterator<T> it) {
        return new AbstractIterator<T>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public T next() {
                return it.next();
            }
        };
    }

    /** How many batches this JVM has received this way (lets a test check that this path was taken). */
    public static long received() {
        return BATCHES.get();
    }
}
