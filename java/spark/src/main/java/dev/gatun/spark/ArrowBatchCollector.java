package dev.gatun.spark;

import dev.gatun.arrow.ArrowArena;
import dev.gatun.arrow.ArrowExporter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.channels.Channels;
import java.util.ArrayDeque;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.QueryExecution$;
import org.apache.spark.sql.execution.SQLExecution$;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.util.ThreadUtils;
import scala.Function0;
import scala.Function2;
import scala.Option;
import scala.collection.Iterator;
import scala.concurrent.Promise;
import scala.concurrent.Promise$;
import scala.concurrent.duration.Duration;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * A DataFrame collected as Arrow IPC messages for PySpark's {@code toPandas()} and {@code toArrow()}
 * over Gatun, in place of {@code Dataset.collectAsArrowToPython}, which serves the same data on a
 * local socket.
 *
 * <p>It runs the same Spark job the same way (Spark 4.3's {@code collectAsArrowToPython}): the
 * action is named {@code collectAsArrowToPython} for SQL execution tracking and query execution
 * listeners, internal errors are wrapped as Spark wraps them, the batches come from
 * {@code Dataset.toArrowBatchRdd} (session time zone, {@code maxRecordsPerBatch}, large var types,
 * struct handling mode), and the job runs on a thread of its own started from the caller's thread,
 * so it inherits the caller's local properties (job group, call site) as Spark's serving thread
 * does. Spark writes batches to Python in arrival order and sends their order at the end; here
 * they are handed out already in that order: partition by partition, each partition's batches in
 * their order, empty partitions skipped.
 *
 * <p>Use: {@link #start}, then {@link #exporter} (the batches go to Python through the session's
 * Arrow arena: Python reads them with {@code client.get_arrow_data}), then {@link #result}, which
 * throws what the job threw, wrapped as Spark's {@code getResult()} wraps it, so PySpark's
 * {@code unwrap_spark_exception()} sees the same exception.
 *
 * <p>One thing differs from Spark's job, for speed: a task that runs in the driver's own JVM (local
 * mode: the executor lives in the driver) hands its partition's batches to the collector directly
 * and returns nothing, instead of returning them as its task result, which Spark serializes, stores
 * in the block manager and deserializes again on the driver (copies of the whole result that
 * take about as long as encoding it). A task in another JVM (any cluster, {@code local-cluster})
 * finds no collector there and returns its batches as Spark's does. A partition delivered twice (a
 * re-run task) is taken once.
 */
public final class ArrowBatchCollector {
    /** The action name Spark uses for this job (SQL tab, QueryExecutionListener callbacks). */
    static final String ACTION = "collectAsArrowToPython";

    private static final AtomicLong STARTED = new AtomicLong();
    /** Collectors whose job is running in this JVM, by id: where a task in this JVM delivers. */
    private static final ConcurrentHashMap<Long, ArrowBatchCollector> RUNNING = new ConcurrentHashMap<>();
    private static final AtomicLong DELIVERED_IN_JVM = new AtomicLong();

    private final long id = STARTED.incrementAndGet();
    /** {@code spark.driver.maxResultSize}, which Spark applies to task results: applied here to what tasks hand over directly. */
    private final long maxResultBytes;
    private long deliveredBytes;

    private final Promise<BoxedUnit> outcome = Promise$.MODULE$.apply();
    private final ArrayDeque<byte[]> ready = new ArrayDeque<>();
    private boolean finished;
    private byte[][][] pending;
    private int nextPartition;

    private ArrowBatchCollector(long maxResultBytes) {
        this.maxResultBytes = maxResultBytes;
    }

    /**
     * Starts collecting {@code dataFrame} on a new thread and returns at once. {@code dataFrame} is
     * PySpark's {@code DataFrame._jdf}: a {@code Dataset<Row>} of the Spark line this jar is built
     * for ({@code org.apache.spark.sql.classic.Dataset} on Spark 4, {@code org.apache.spark.sql.Dataset}
     * on Spark 3.5; {@link SparkLine} knows which).
     */
    public static ArrowBatchCollector start(Object dataFrame) {
        QueryExecution qe = SparkLine.queryExecution(dataFrame);
        SQLConf conf = qe.sparkSession().sessionState().conf();
        String timeZoneId = conf.sessionLocalTimeZone();
        boolean errorOnDuplicatedFieldNames = "legacy".equals(conf.pandasStructHandlingMode());
        boolean largeVarTypes = conf.arrowUseLargeVarTypes();
        ArrowBatchCollector collector = new ArrowBatchCollector(
                qe.sparkSession().sparkContext().getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g"));
        Thread t = new Thread(() -> collector.run(dataFrame, timeZoneId, errorOnDuplicatedFieldNames, largeVarTypes),
                "gatun-serve-Arrow");
        t.setDaemon(true);
        t.start();
        return collector;
    }

    /** How many collections this JVM has started (lets a test check that this path was taken). */
    public static long started() {
        return STARTED.get();
    }

    /** How many partitions tasks in this JVM have handed over directly (lets a test see which way they came). */
    public static long deliveredInJvm() {
        return DELIVERED_IN_JVM.get();
    }

    /**
     * The collected batches as an exporter into {@code arena}, which copies Spark's IPC messages
     * into spans as they are, in order, as Python pulls them; each pull waits for the job to
     * produce the next batch. Null if the job ended before it had a schema ({@link #result} tells
     * why). After a failure the exporter ends early, as the batches stop on Spark's socket.
     */
    public ArrowExporter exporter(ArrowArena arena) throws IOException {
        byte[] schemaMessage = nextMessage();
        if (schemaMessage == null) {
            return null;
        }
        Schema schema = MessageSerializer.deserializeSchema(
                new ReadChannel(Channels.newChannel(new ByteArrayInputStream(schemaMessage))));
        java.util.Iterator<byte[]> batches = new java.util.Iterator<>() {
            private byte[] next;

            @Override
            public boolean hasNext() {
                if (next == null) {
                    next = nextMessage();
                }
                return next != null;
            }

            @Override
            public byte[] next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                byte[] b = next;
                next = null;
                return b;
            }
        };
        return ArrowExporter.fromIpcBatches(arena, schema, batches);
    }

    /**
     * The next message in order (first the schema, then the record batches, each an encapsulated
     * Arrow IPC message), waiting for it if the job has not produced it yet; null once the job has
     * ended (successfully or not: {@link #result} tells which).
     */
    private byte[] nextMessage() {
        synchronized (this) {
            try {
                while (ready.isEmpty() && !finished) {
                    wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the next Arrow batch", e);
            }
            return ready.poll();
        }
    }

    /** Waits for the job to end; throws its failure as Spark's {@code SocketAuthServer.getResult()} does. */
    public void result() throws SparkException {
        ThreadUtils.awaitResult(outcome.future(), Duration.Inf());
    }

    private void run(Object df, String timeZoneId, boolean errorOnDuplicatedFieldNames, boolean largeVarTypes) {
        RUNNING.put(id, this);
        try {
            QueryExecution qe = SparkLine.queryExecution(df);
            Function0<Object> action = () -> {
                SparkPlan plan = qe.executedPlan();
                plan.resetMetrics();
                collect(df, plan, timeZoneId, errorOnDuplicatedFieldNames, largeVarTypes);
                return BoxedUnit.UNIT;
            };
            Function0<Object> internalErrors = () -> QueryExecution$.MODULE$.withInternalError(
                    "The \"" + ACTION + "\" action failed.", action);
            // Spark 4.1+ runs the action inside QueryExecution.withQueryExecutionId; Spark 3.5's and
            // 4.0's Dataset.withAction have no such step: the action runs directly (SparkLine).
            SQLExecution$.MODULE$.withNewExecutionId(qe, Option.apply(ACTION),
                    SparkLine.inQueryExecutionId(qe, internalErrors));
            outcome.success(BoxedUnit.UNIT);
        } catch (Throwable t) {
            outcome.failure(t);
        } finally {
            RUNNING.remove(id);
            synchronized (this) {
                finished = true;
                if (!outcome.future().value().get().isSuccess()) {
                    ready.clear(); // the caller raises the failure: what is left is of no use
                }
                pending = null;
                notifyAll();
            }
        }
    }

    private void collect(Object df, SparkPlan plan, String timeZoneId, boolean errorOnDuplicatedFieldNames,
            boolean largeVarTypes) {
        // Spark's own writer encodes the schema message exactly as it would on the socket.
        ByteArrayOutputStream schema = new ByteArrayOutputStream();
        SparkLine.writeArrowSchema(SparkLine.schema(df), schema, timeZoneId, errorOnDuplicatedFieldNames, largeVarTypes);
        publish(schema.toByteArray());
        RDD<byte[]> batches = SparkLine.toArrowBatchRdd(df, plan);
        synchronized (this) {
            pending = new byte[batches.partitions().length][][];
        }
        ClassTag<byte[][]> tag = ClassTag$.MODULE$.apply(byte[][].class);
        Function2<Object, byte[][], BoxedUnit> handler = (index, partitionBatches) -> {
            if (partitionBatches != null) { // null: the task delivered them itself
                arrived((Integer) index, partitionBatches);
            }
            return BoxedUnit.UNIT;
        };
        SparkLine.queryExecution(df).sparkSession().sparkContext().runJob(batches, new PartitionToArray(id), handler, tag);
    }

    private synchronized void publish(byte[] message) {
        ready.add(message);
        notifyAll();
    }

    /** A task in this JVM hands over its partition's batches, within {@code spark.driver.maxResultSize}. */
    private void deliver(int partition, byte[][] partitionBatches) {
        long size = 0;
        for (byte[] b : partitionBatches) {
            size += b.length;
        }
        synchronized (this) {
            if (!expects(partition)) {
                return; // counted once, when it first came
            }
            deliveredBytes += size;
            if (maxResultBytes > 0 && deliveredBytes > maxResultBytes) {
                // Fails the task, and so the job, as Spark fails it for task results over the limit.
                throw new IllegalStateException("Total size of the Arrow batches collected so far (" + deliveredBytes
                        + " bytes) is bigger than spark.driver.maxResultSize (" + maxResultBytes + " bytes)");
            }
            arrived(partition, partitionBatches);
        }
        DELIVERED_IN_JVM.incrementAndGet();
    }

    /** False once the job is over, or when this partition came already (a re-run task). Under the lock. */
    private boolean expects(int partition) {
        return pending != null && partition >= nextPartition && pending[partition] == null;
    }

    /**
     * Runs as each partition's batches arrive, in any order: on Spark's scheduler thread with a task
     * result, or on the task's own thread when it ran in this JVM.
     */
    private synchronized void arrived(int partition, byte[][] partitionBatches) {
        if (!expects(partition)) {
            return;
        }
        pending[partition] = partitionBatches;
        while (nextPartition < pending.length && pending[nextPartition] != null) {
            for (byte[] b : pending[nextPartition]) {
                ready.add(b);
            }
            pending[nextPartition] = null;
            nextPartition++;
        }
        notifyAll();
    }

    /**
     * The per-partition task: the partition's Arrow batches as an array (as Spark's job does), handed
     * straight to the collector when it is in this JVM (then the task's result is null).
     */
    private static final class PartitionToArray extends AbstractFunction1<Iterator<byte[]>, byte[][]>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final long collectorId;

        PartitionToArray(long collectorId) {
            this.collectorId = collectorId;
        }

        @Override
        public byte[][] apply(Iterator<byte[]> it) {
            byte[][] batches = (byte[][]) it.toArray(ClassTag$.MODULE$.apply(byte[].class));
            ArrowBatchCollector local = RUNNING.get(collectorId);
            if (local == null) {
                return batches;
            }
            local.deliver(TaskContext.getPartitionId(), batches);
            return null;
        }
    }
}
