package dev.gatun.spark.udf;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils$;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.util.TaskCompletionListener;
import scala.collection.immutable.IndexedSeq;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * A columnar plan node under an {@code ArrowEvalPythonExec} whose child produces non-Arrow
 * columnar batches (a cached relation, a Parquet scan): it re-emits every batch as Arrow-backed
 * ({@link ArrowColumnVector}s over vectors filled by {@link ColumnarArrowEncoder}), so that Spark's
 * columnar Python input ({@code spark.sql.execution.arrow.pythonUDF.columnarInput.enabled}) takes
 * its direct path ({@code ColumnarArrowPythonInput.writeArrowDirect}: the vectors are unloaded as
 * they are) instead of turning the batch into rows and the rows back into Arrow with ArrowWriter.
 * A batch that is already all Arrow passes through untouched.
 *
 * <p>Every batch gets vectors of its own: Spark's columnar evaluator queues each input batch's
 * columns until the Python output for it comes back, to join them, and the runner may write several
 * batches ahead of reading; reusing one set of vectors would overwrite columns still queued. A
 * batch's vectors are freed once its rows have been consumed: {@link GatunArrowOutputExec} above
 * the ArrowEvalPythonExec counts the rows its parent takes (the evaluator's output rows are its
 * input rows, in order) and frees each batch when the parent asks for the row after its last.
 * Whatever is left is freed when the task ends. Installed, with its pair, by
 * {@link GatunSparkExtensions}.
 */
public final class GatunArrowInputExec extends PairedPassThroughExec {
    private static final long serialVersionUID = 1L;

    private static final AtomicLong ENCODED_BATCHES = new AtomicLong();

    private static final AtomicLong RELEASED_BATCHES = new AtomicLong();
    private static final AtomicLong PEAK_TASK_BYTES = new AtomicLong();
    private static final AtomicLong NEXT_PAIR = new AtomicLong();

    /**
     * Each running task's live encoded batches, oldest first, by "task attempt id:pair id": filled
     * by this node's partition iterator, emptied by its {@link GatunArrowOutputExec} and at task end.
     */
    private static final ConcurrentHashMap<String, ConcurrentLinkedDeque<Live>> LIVE = new ConcurrentHashMap<>();

    /** A batch handed out: its row count, and what frees it (nothing for a batch that came as Arrow). */
    record Live(int rows, Runnable free) {
    }

    public GatunArrowInputExec(SparkPlan child) {
        this(child, NEXT_PAIR.incrementAndGet());
    }

    GatunArrowInputExec(SparkPlan child, long pair) {
        super(child, pair);
    }

    /**
     * The most Arrow memory one task's encoded batches held at once, over the tasks ended since the
     * last {@link #resetPeakTaskBytes} in this JVM (what benchmarks set against stock's task memory).
     */
    public static long peakTaskBytes() {
        return PEAK_TASK_BYTES.get();
    }

    public static void resetPeakTaskBytes() {
        PEAK_TASK_BYTES.set(0);
    }

    /** Batches freed as soon as their output was consumed (not at task end), in this JVM. */
    public static long releasedBatches() {
        return RELEASED_BATCHES.get();
    }

    private static String liveKey(long taskAttemptId, long pair) {
        return taskAttemptId + ":" + pair;
    }

    /**
     * This task's live batches of the pair, oldest first, or null before its input iterator has
     * started (for {@link GatunArrowOutputExec}, which looks them up once).
     */
    static ConcurrentLinkedDeque<Live> liveBatches(long taskAttemptId, long pair) {
        return LIVE.get(liveKey(taskAttemptId, pair));
    }

    /**
     * Frees the oldest live batch, whose rows are consumed. Whoever takes an entry off the list
     * frees it, this or the task's end, so each is freed once.
     */
    static void releaseOldest(ConcurrentLinkedDeque<Live> live) {
        Live oldest = live.poll();
        if (oldest != null) {
            oldest.free().run();
            RELEASED_BATCHES.incrementAndGet();
        }
    }

    /**
     * Batches this node has encoded in this JVM (in local mode the driver is the executor): what
     * tests and benchmarks check to know the path was taken.
     */
    public static long encodedBatches() {
        return ENCODED_BATCHES.get();
    }

    @Override
    public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
        return new GatunArrowInputExec(newChildren.head(), pair());
    }

    @Override
    public boolean supportsColumnar() {
        return true;
    }

    @Override
    public RDD<InternalRow> doExecute() {
        throw new IllegalStateException(nodeName() + " produces columnar batches only");
    }

    @Override
    public RDD<ColumnarBatch> doExecuteColumnar() {
        StructType schema = schema();
        // The runner's own settings (ArrowEvalPythonExec passes these two to it), read here on the
        // driver: the vectors' fields must be what its root declares for writeArrowDirect to take them.
        String timeZone = conf().sessionLocalTimeZone();
        boolean largeVarTypes = conf().arrowUseLargeVarTypes();
        return child().executeColumnar().mapPartitions(new EncodePartition(schema, timeZone, largeVarTypes, pair()), true,
                ClassTag$.MODULE$.apply(ColumnarBatch.class));
    }

    /** The per-partition function Spark ships to the tasks: serializable, and without the plan node. */
    private static final class EncodePartition
            extends AbstractFunction1<scala.collection.Iterator<ColumnarBatch>, scala.collection.Iterator<ColumnarBatch>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final StructType schema;
        private final String timeZone;
        private final boolean largeVarTypes;
        private final long pair;

        EncodePartition(StructType schema, String timeZone, boolean largeVarTypes, long pair) {
            this.schema = schema;
            this.timeZone = timeZone;
            this.largeVarTypes = largeVarTypes;
            this.pair = pair;
        }

        @Override
        public scala.collection.Iterator<ColumnarBatch> apply(scala.collection.Iterator<ColumnarBatch> batches) {
            return CollectionConverters.asScala(encodeAll(CollectionConverters.asJava(batches), schema, timeZone, largeVarTypes,
                    pair));
        }
    }

    private static Iterator<ColumnarBatch> encodeAll(Iterator<ColumnarBatch> batches, StructType schema, String timeZone,
            boolean largeVarTypes, long pair) {
        Schema arrowSchema = ColumnarArrowEncoder.sparkArrowSchema(schema, timeZone, largeVarTypes);
        TaskContext task = TaskContext.get();
        BufferAllocator allocator = ArrowUtils$.MODULE$.rootAllocator().newChildAllocator(
                "gatun-arrow-input-" + (task == null ? "driver" : task.taskAttemptId()), 0, Long.MAX_VALUE);
        // One entry per batch handed out, oldest first: the batch's release (nothing to free for a
        // batch that came as Arrow), so that the output side's count stays in step.
        ConcurrentLinkedDeque<Live> live = new ConcurrentLinkedDeque<>();
        String key = task == null ? null : liveKey(task.taskAttemptId(), pair);
        if (key != null) {
            LIVE.put(key, live);
        }
        Runnable release = () -> {
            if (key != null) {
                LIVE.remove(key, live);
            }
            for (Live b = live.poll(); b != null; b = live.poll()) {
                b.free().run();
            }
            PEAK_TASK_BYTES.accumulateAndGet(allocator.getPeakMemoryAllocation(), Math::max);
            allocator.close();
        };
        if (task != null) {
            task.addTaskCompletionListener((TaskCompletionListener) ctx -> release.run());
        }
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean more = batches.hasNext();
                if (!more && task == null) {
                    release.run();
                }
                return more;
            }

            @Override
            public ColumnarBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                ColumnarBatch batch = batches.next();
                if (allArrow(batch)) {
                    live.add(new Live(batch.numRows(), () -> { }));
                    return batch;
                }
                ColumnarArrowEncoder encoder = ColumnarArrowEncoder.create(schema, arrowSchema, allocator);
                live.add(new Live(batch.numRows(), encoder::close));
                VectorSchemaRoot root = encoder.encode(batch);
                List<FieldVector> vectors = root.getFieldVectors();
                ColumnVector[] columns = new ColumnVector[vectors.size()];
                for (int i = 0; i < columns.length; i++) {
                    columns[i] = new ArrowColumnVector(vectors.get(i));
                }
                ENCODED_BATCHES.incrementAndGet();
                return new ColumnarBatch(columns, batch.numRows());
            }
        };
    }

    private static boolean allArrow(ColumnarBatch batch) {
        for (int i = 0; i < batch.numCols(); i++) {
            if (!(batch.column(i) instanceof ArrowColumnVector)) {
                return false;
            }
        }
        return true;
    }
}
