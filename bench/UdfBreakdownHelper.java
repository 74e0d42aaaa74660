import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import dev.gatun.spark.udf.ColumnarArrowEncoder;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.classic.Dataset;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec;
import org.apache.spark.sql.execution.arrow.ArrowConverters$;
import org.apache.spark.sql.execution.columnar.InMemoryTableScanExec;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils$;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.storage.StorageLevel;
import scala.jdk.javaapi.CollectionConverters;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * The JVM half of bench/udf_breakdown.py: the parts of a Python UDF's data path that live in the
 * executor JVM, each run alone as a Spark job over the same cached rows (Spark's own converters,
 * `ArrowConverters`, which use the `ArrowWriter` and vector loading the Arrow Python runners use),
 * and a raw socket transfer of a given number of bytes, as the runners' streams move them.
 *
 * <p>Compiled by the bench script against PySpark's jars, with Gatun's {@link ColumnarArrowEncoder}
 * (its source, for the columnar encoding part), and put on the driver's class path (in `local`
 * mode the driver JVM is the executor). Called from Python through the bridge.
 */
public final class UdfBreakdownHelper {
    private UdfBreakdownHelper() {}

    /** The rows of {@code df} as Arrow IPC record-batch messages, {@code maxRecords} rows each. */
    public static JavaRDD<byte[]> encoded(Dataset<?> df, long maxRecords, String timeZone) {
        StructType schema = df.schema();
        JavaRDD<InternalRow> rows = df.queryExecution().toRdd().toJavaRDD();
        return rows.mapPartitions((Iterator<InternalRow> it) -> CollectionConverters.asJava(
                ArrowConverters$.MODULE$.toBatchIterator(CollectionConverters.asScala(it), schema, maxRecords,
                        timeZone, true, false, TaskContext.get())));
    }

    /** The scan alone: the rows of {@code df} as the Python runners get them, counted. */
    public static long scanCount(Dataset<?> df) {
        return df.queryExecution().toRdd().count();
    }

    /** Row -> Arrow encoding alone: a job that encodes every row and keeps only the byte count. */
    public static long encodeBytes(Dataset<?> df, long maxRecords, String timeZone) {
        return encoded(df, maxRecords, timeZone).map(b -> (long) b.length).fold(0L, Long::sum);
    }

    /**
     * The cached relation's batches as its vectorized reader hands them out
     * ({@code InMemoryTableScanExec.executeColumnar}: Spark's on-heap column vectors, the batches
     * the Arrow Python runners' columnar input gets from a cached DataFrame).
     */
    private static JavaRDD<ColumnarBatch> cachedBatches(Dataset<?> df) {
        InMemoryTableScanExec scan = findCacheScan(df.queryExecution().executedPlan());
        if (scan == null || !scan.supportsColumnar()) {
            throw new IllegalStateException("no columnar cache scan in " + df.queryExecution().executedPlan());
        }
        return scan.executeColumnar().toJavaRDD();
    }

    private static InMemoryTableScanExec findCacheScan(SparkPlan plan) {
        if (plan instanceof InMemoryTableScanExec scan) {
            return scan;
        }
        if (plan instanceof AdaptiveSparkPlanExec adaptive) {
            return findCacheScan(adaptive.executedPlan());
        }
        for (SparkPlan child : CollectionConverters.asJava(plan.children())) {
            InMemoryTableScanExec found = findCacheScan(child);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /** The columnar scan alone: the cached batches, their rows counted (the floor of {@link #encodeColumnarBytes}). */
    public static long scanColumnar(Dataset<?> df) {
        return cachedBatches(df).map(b -> (long) b.numRows()).fold(0L, Long::sum);
    }

    /**
     * Columnar -> Arrow encoding alone: every cached batch copied into Arrow vectors by
     * {@link ColumnarArrowEncoder} (bulk per column, no rows) and serialized as {@link #encoded}'s
     * batches are (a record-batch message in a byte array); returns the bytes, which equal
     * {@link #encodeBytes}'s when the cache's batches have maxRecordsPerBatch rows.
     */
    public static long encodeColumnarBytes(Dataset<?> df, String timeZone) {
        StructType schema = df.schema();
        return cachedBatches(df).mapPartitions((Iterator<ColumnarBatch> it) -> {
            long bytes = 0;
            BufferAllocator allocator = ArrowUtils$.MODULE$.rootAllocator().newChildAllocator(
                    "gatun-encode-columnar", 0, Long.MAX_VALUE);
            try (ColumnarArrowEncoder encoder = ColumnarArrowEncoder.create(schema, timeZone, false, allocator)) {
                while (it.hasNext()) {
                    VectorSchemaRoot root = encoder.encode(it.next());
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    try (ArrowRecordBatch batch = new VectorUnloader(root).getRecordBatch()) {
                        MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), batch);
                    }
                    bytes += out.toByteArray().length;
                }
            } finally {
                allocator.close();
            }
            return Collections.singletonList(bytes).iterator();
        }).fold(0L, Long::sum);
    }

    /** Batches GatunArrowInputExec has encoded in this JVM so far (a job with the extension on must add some). */
    public static long arrowInputBatches() {
        return dev.gatun.spark.udf.GatunArrowInputExec.encodedBatches();
    }

    /** Arrow batches GatunMapInBatchExec (mapInArrow / mapInPandas with the extension) has sent in this JVM. */
    public static long mapInBatchSent() {
        return dev.gatun.spark.udf.GatunMapInBatchExec.sentBatches();
    }

    // ---- What the JVM holds for a job's tasks beyond the cache, sampled every millisecond (the same
    // method for stock and the extension): Arrow memory from Spark's root allocator, which every
    // Arrow Python runner's allocator (stock's ArrowWriter roots, the batches read back) and Gatun's
    // encoders draw from; and Spark's execution memory, where stock's row path queues the rows it
    // has sent to Python until their results come back (HybridRowQueue pages) ----

    private static volatile Thread memorySampler;
    private static final java.util.concurrent.atomic.AtomicLong ARROW_PEAK = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong EXECUTION_PEAK = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong BOTH_PEAK = new java.util.concurrent.atomic.AtomicLong();

    public static synchronized void startMemoryPeaks() {
        stopMemoryPeaks();
        BufferAllocator root = org.apache.spark.sql.util.ArrowUtils$.MODULE$.rootAllocator();
        org.apache.spark.memory.MemoryManager memory = org.apache.spark.SparkEnv.get().memoryManager();
        ARROW_PEAK.set(0);
        EXECUTION_PEAK.set(0);
        BOTH_PEAK.set(0);
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                long arrow = root.getAllocatedMemory();
                long execution = memory.executionMemoryUsed();
                ARROW_PEAK.accumulateAndGet(arrow, Math::max);
                EXECUTION_PEAK.accumulateAndGet(execution, Math::max);
                BOTH_PEAK.accumulateAndGet(arrow + execution, Math::max);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "udf-bench-memory-peaks");
        t.setDaemon(true);
        t.start();
        memorySampler = t;
    }

    /**
     * The most Arrow memory, execution memory, and both together, the JVM held at a sample since
     * {@link #startMemoryPeaks}.
     */
    public static synchronized long[] stopMemoryPeaks() {
        Thread t = memorySampler;
        if (t != null) {
            t.interrupt();
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            memorySampler = null;
        }
        return new long[] {ARROW_PEAK.get(), EXECUTION_PEAK.get(), BOTH_PEAK.get()};
    }

    // ---- The Arrow memory one task's GatunArrowInputExec batches held (the sampler above sees the
    // whole JVM; this is per task) ----

    public static void resetArrowInputPeak() {
        dev.gatun.spark.udf.GatunArrowInputExec.resetPeakTaskBytes();
    }

    /** The largest Arrow memory one task's encoded input batches held, over the tasks ended since
     * {@link #resetArrowInputPeak}. */
    public static long arrowInputPeak() {
        return dev.gatun.spark.udf.GatunArrowInputExec.peakTaskBytes();
    }

    /** The encoded batches, cached in memory (for {@link #decodeSum}); returns the RDD after a count. */
    public static JavaRDD<byte[]> cacheEncoded(Dataset<?> df, long maxRecords, String timeZone) {
        JavaRDD<byte[]> rdd = encoded(df, maxRecords, timeZone).persist(StorageLevel.MEMORY_ONLY());
        rdd.count();
        return rdd;
    }

    /** Bytes held by cached batches (a job that only touches them: the floor of {@link #decodeSum}). */
    public static long touchBytes(JavaRDD<byte[]> batches) {
        return batches.map(b -> (long) b.length).fold(0L, Long::sum);
    }

    /**
     * Arrow -> rows decoding alone: loads every cached batch into vectors, iterates its rows as
     * Spark does after a Python runner (a columnar batch's row iterator) and sums the double column
     * {@code column} (the same downstream work as the benchmarked jobs' sum).
     */
    public static double decodeSum(JavaRDD<byte[]> batches, StructType schema, String timeZone, int column) {
        return batches.mapPartitions((Iterator<byte[]> it) -> {
            Iterator<InternalRow> rows = CollectionConverters.asJava(ArrowConverters$.MODULE$.fromBatchIterator(
                    CollectionConverters.asScala(it), schema, timeZone, true, false, TaskContext.get()));
            double sum = 0;
            while (rows.hasNext()) {
                InternalRow r = rows.next();
                if (!r.isNullAt(column)) {
                    sum += r.getDouble(column);
                }
            }
            return Collections.singletonList(sum).iterator();
        }).fold(0.0, Double::sum);
    }

    /**
     * Raw socket transfer: connects to {@code port} on the loopback, writes {@code bytes} bytes in
     * {@code chunk}-sized writes through a {@code bufferSize} BufferedOutputStream (the runners'
     * stream, spark.buffer.size), then reads {@code bytes} bytes back through a buffered input
     * stream, as the runner reads the worker's output. Returns {wall seconds writing, thread CPU
     * seconds writing, wall seconds reading, thread CPU seconds reading}.
     */
    public static double[] socketRoundTrip(int port, long bytes, int chunk, int bufferSize) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        byte[] data = new byte[chunk];
        for (int i = 0; i < chunk; i++) {
            data[i] = (byte) i;
        }
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setTcpNoDelay(true);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), bufferSize);
            InputStream in = new BufferedInputStream(s.getInputStream(), bufferSize);
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            for (long left = bytes; left > 0; left -= chunk) {
                out.write(data, 0, (int) Math.min(chunk, left));
            }
            out.flush();
            long t1 = System.nanoTime();
            long c1 = mx.getCurrentThreadCpuTime();
            long got = 0;
            while (got < bytes) {
                int n = in.read(data, 0, (int) Math.min(chunk, bytes - got));
                if (n < 0) {
                    throw new IllegalStateException("peer closed after " + got + " of " + bytes + " bytes");
                }
                got += n;
            }
            long t2 = System.nanoTime();
            long c2 = mx.getCurrentThreadCpuTime();
            return new double[] {(t1 - t0) / 1e9, (c1 - c0) / 1e9, (t2 - t1) / 1e9, (c2 - c1) / 1e9};
        }
    }

    /** CPU seconds of this JVM process so far (for per-job CPU accounting from Python). */
    public static double processCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() / 1e9;
        }
        return -1;
    }

    // ---- In-job attribution of the executor task threads' time (Java Flight Recorder samples) ----

    private static Recording recording;

    /** Starts sampling every thread's Java stack (running: jdk.ExecutionSample; in native code,
     * e.g. blocked on the socket: jdk.NativeMethodSample) every {@code periodMillis}. */
    public static synchronized void startSampling(int periodMillis) {
        recording = new Recording();
        recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(periodMillis));
        recording.enable("jdk.NativeMethodSample").withPeriod(Duration.ofMillis(periodMillis));
        recording.start();
    }

    /** The categories, in the order they are tried: a sample goes to the first whose marker is on
     * its stack (markers are prefixes of "class.method" of any frame). */
    private static final String[][] CATEGORIES = {
        {"socket", "sun.nio.ch.", "java.net.Socket", "sun.nio.ch.NioSocketImpl", "java.io.FileDescriptor"},
        {"encode: Arrow IPC write", "org.apache.arrow.vector.ipc.ArrowWriter", "org.apache.arrow.vector.ipc.ArrowStreamWriter",
            "org.apache.arrow.vector.ipc.WriteChannel", "org.apache.arrow.vector.ipc.message.MessageSerializer.serialize",
            "org.apache.arrow.vector.ipc.message.MessageSerializer.write", "org.apache.arrow.vector.VectorUnloader"},
        {"encode: ArrowWriter (rows -> vectors)", "org.apache.spark.sql.execution.arrow.ArrowWriter",
            "org.apache.spark.sql.execution.arrow.ArrowFieldWriter", "org.apache.spark.sql.execution.arrow.DoubleWriter",
            "org.apache.spark.sql.execution.arrow.LongWriter", "org.apache.spark.sql.execution.arrow.StructWriter"},
        {"decode: Arrow IPC read", "org.apache.arrow.vector.ipc.ArrowStreamReader", "org.apache.arrow.vector.ipc.ArrowReader",
            "org.apache.arrow.vector.ipc.ReadChannel", "org.apache.arrow.vector.ipc.message.MessageSerializer.deserialize",
            "org.apache.arrow.vector.ipc.message.MessageChannelReader", "org.apache.arrow.vector.VectorLoader"},
        {"decode: vectors -> rows", "org.apache.spark.sql.vectorized.ArrowColumnVector",
            "org.apache.spark.sql.vectorized.ColumnarBatchRow", "org.apache.spark.sql.vectorized.ColumnarBatch",
            "org.apache.spark.sql.vectorized.ColumnarRow"},
        {"runner: input row queue", "org.apache.spark.sql.execution.python.HybridRowQueue",
            "org.apache.spark.sql.execution.python.InMemoryRowQueue", "org.apache.spark.sql.execution.python.DiskRowQueue"},
        {"runner: other Python runner code", "org.apache.spark.sql.execution.python.", "org.apache.spark.api.python."},
        {"cache scan", "org.apache.spark.sql.execution.columnar.", "org.apache.spark.sql.execution.ColumnarToRow",
            "org.apache.spark.sql.execution.vectorized."},
        {"generated code (projections, aggregation)", "org.apache.spark.sql.catalyst.expressions.GeneratedClass",
            "org.apache.spark.sql.catalyst.expressions.UnsafeProjection", "org.apache.spark.sql.catalyst.expressions.JoinedRow",
            "org.apache.spark.sql.execution.aggregate."},
        {"Arrow memory", "org.apache.arrow.memory."},
    };

    /**
     * Stops sampling and sums the samples of Spark's task threads ("Executor task ...": JFR may keep the name a thread had when it was first seen, "idle")
     * by category: {"running: CATEGORY" or "in native: CATEGORY" -> sample count}, plus "period_ms".
     */
    public static synchronized Map<String, Long> stopSampling(int periodMillis) throws Exception {
        Path file = java.nio.file.Files.createTempFile("gatun-udf-", ".jfr");
        try {
            recording.stop();
            recording.dump(file);
            recording.close();
            Map<String, Long> out = new LinkedHashMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                String type = e.getEventType().getName();
                boolean running = type.equals("jdk.ExecutionSample");
                if (!running && !type.equals("jdk.NativeMethodSample")) {
                    continue;
                }
                RecordedThread t = e.getThread("sampledThread");
                if (t == null || t.getJavaName() == null || !t.getJavaName().startsWith("Executor task ")) {
                    out.merge("other threads (not counted): " + (running ? "running" : "in native"), 1L, Long::sum);
                    if (System.getProperty("gatun.udfbench.debug") != null) {
                        out.merge("thread " + (t == null ? "?" : t.getJavaName()), 1L, Long::sum);
                    }
                    continue;
                }
                String cat = category(e.getStackTrace());
                String key = (running ? "running: " : "in native: ") + cat;
                out.merge(key, 1L, Long::sum);
                if (running && cat.startsWith("runner: other")) {
                    out.merge("leaf of runner: other: " + leaf(e.getStackTrace()), 1L, Long::sum);
                }
            }
            out.put("period_ms", (long) periodMillis);
            return out;
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    private static String leaf(RecordedStackTrace stack) {
        if (stack == null || stack.getFrames().isEmpty()) {
            return "?";
        }
        RecordedFrame f = stack.getFrames().get(0);
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    private static String category(RecordedStackTrace stack) {
        if (stack == null) {
            return "no stack";
        }
        List<String> frames = new java.util.ArrayList<>();
        for (RecordedFrame f : stack.getFrames()) {
            frames.add(f.getMethod().getType().getName() + "." + f.getMethod().getName());
        }
        for (String[] c : CATEGORIES) {
            for (String frame : frames) {
                for (int i = 1; i < c.length; i++) {
                    if (frame.startsWith(c[i])) {
                        return c[0];
                    }
                }
            }
        }
        return "other: " + (frames.isEmpty() ? "?" : frames.get(0));
    }
}
