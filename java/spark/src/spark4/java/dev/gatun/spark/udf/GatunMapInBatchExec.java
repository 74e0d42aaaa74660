package dev.gatun.spark.udf;

import java.io.Serializable;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.spark.ContextAwareIterator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.python.ChainedPythonFunctions;
import org.apache.spark.api.python.PythonEvalType$;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.PythonUDF;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection$;
import org.apache.spark.sql.catalyst.plans.physical.Partitioning;
import org.apache.spark.sql.errors.QueryExecutionErrors$;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.metric.SQLMetric;
import org.apache.spark.sql.execution.python.ArrowPythonRunner$;
import org.apache.spark.sql.execution.python.ColumnarArrowPythonWithNamedArgumentRunner;
import org.apache.spark.sql.execution.python.EvalPythonExec;
import org.apache.spark.sql.execution.python.MapInBatchExec;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataType$;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils$;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.util.TaskCompletionListener;
import scala.Option;
import scala.Tuple2;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Map;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Spark's mapInArrow / mapInPandas ({@code MapInArrowExec}, {@code MapInPandasExec}) over a
 * columnar child (a cached relation, a Parquet scan), without the row path.
 *
 * <p>Stock Spark 4 feeds these operators rows: the child's batches go through a ColumnarToRow,
 * each row is wrapped in a one-field row, and ArrowWriter writes it value by value into the Arrow
 * batch sent to Python (bench/results/udf_breakdown.md: most of an identity mapInArrow's task
 * time). Here the child's batches are copied column by column into the same Arrow layout
 * ({@link ColumnarArrowEncoder#createWrapped}), cut where Spark cuts them
 * ({@link SizedArrowBatches}), and handed to Spark's own columnar Python runner, whose direct
 * path serializes Arrow vectors as they are. What comes back is handled as stock does: the
 * struct's children flattened into rows, and checked against the declared type when
 * {@code spark.sql.execution.arrow.pyspark.validateSchema.enabled} says so.
 *
 * <p>The node keeps the operator it replaces, for what that one computed on the driver: the
 * function, the output attributes, the eval type, the SQL metrics (shown under this node) and
 * the job's artifact and session ids. Installed by {@link GatunSparkExtensions}.
 */
public final class GatunMapInBatchExec extends GatunUnaryExec {
    private static final long serialVersionUID = 1L;

    /** The operator replaced: a MapInBatchExec (MapInArrowExec or MapInPandasExec). */
    private final SparkPlan original;

    GatunMapInBatchExec(SparkPlan original, SparkPlan columnarChild) {
        super(columnarChild);
        if (!(original instanceof MapInBatchExec)) {
            throw new IllegalArgumentException("not a map-in-batch operator: " + original.nodeName());
        }
        this.original = original;
    }

    /**
     * Arrow batches sent to Python by this node's tasks in this JVM (in local mode the driver is
     * the executor): what tests and benchmarks check to know the path was taken.
     */
    public static long sentBatches() {
        return SizedArrowBatches.sent();
    }

    @Override
    public Seq<Attribute> output() {
        return original.output();
    }

    @Override
    public AttributeSet producedAttributes() {
        return original.producedAttributes();
    }

    @Override
    public Partitioning outputPartitioning() {
        return child().outputPartitioning();
    }

    @Override
    public Map<String, SQLMetric> metrics() {
        return original.metrics();
    }

    @Override
    public String nodeName() {
        return "Gatun" + original.nodeName();
    }

    @Override
    public String simpleString(int maxFields) {
        return "Gatun" + original.simpleString(maxFields);
    }

    @Override
    public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
        return new GatunMapInBatchExec(original, newChildren.head());
    }

    @Override
    public RDD<InternalRow> doExecute() {
        MapInBatchExec op = (MapInBatchExec) original;
        PythonUDF udf = (PythonUDF) op.func();
        SQLConf conf = conf();
        Task task = new Task(
                CollectionConverters.asScala(List.of(new Tuple2<ChainedPythonFunctions, Object>(
                        new ChainedPythonFunctions(CollectionConverters.asScala(List.of(udf.func())).toList()),
                        udf.resultId().id()))).toList(),
                op.pythonEvalType(), child().schema(), udf.dataType(), output(), conf.sessionLocalTimeZone(),
                conf.arrowUseLargeVarTypes(), ArrowPythonRunner$.MODULE$.getPythonRunnerConfMap(conf),
                op.pythonMetrics(), op.org$apache$spark$sql$execution$python$MapInBatchExec$$jobArtifactUUID(),
                op.org$apache$spark$sql$execution$python$MapInBatchExec$$sessionUUID(), conf.arrowMaxRecordsPerBatch(),
                conf.arrowMaxBytesPerBatch(), conf.pysparkArrowValidateSchema());
        return child().executeColumnar().mapPartitions(task, false, ClassTag$.MODULE$.apply(InternalRow.class));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GatunMapInBatchExec g && original.equals(g.original) && child().equals(g.child());
    }

    @Override
    public int hashCode() {
        return 31 * original.hashCode() + child().hashCode();
    }

    /**
     * What runs in each task, shipped without the plan: the child's batches in, the function's
     * rows out. Everything here was read on the driver, as stock's evaluator factory reads it.
     */
    private static final class Task
            extends AbstractFunction1<scala.collection.Iterator<ColumnarBatch>, scala.collection.Iterator<InternalRow>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Seq<Tuple2<ChainedPythonFunctions, Object>> functions;
        private final int evalType;
        private final StructType inputSchema;
        private final DataType outputType;
        private final Seq<Attribute> output;
        private final String timeZone;
        private final boolean largeVarTypes;
        private final Map<String, String> runnerConf;
        private final Map<String, SQLMetric> metrics;
        private final Option<String> jobArtifactUUID;
        private final Option<String> sessionUUID;
        private final int maxRecords;
        private final long maxBytes;
        private final boolean validateSchema;

        Task(Seq<Tuple2<ChainedPythonFunctions, Object>> functions, int evalType, StructType inputSchema, DataType outputType,
                Seq<Attribute> output, String timeZone, boolean largeVarTypes, Map<String, String> runnerConf,
                Map<String, SQLMetric> metrics, Option<String> jobArtifactUUID, Option<String> sessionUUID, int maxRecords,
                long maxBytes, boolean validateSchema) {
            this.functions = functions;
            this.evalType = evalType;
            this.inputSchema = inputSchema;
            this.outputType = outputType;
            this.output = output;
            this.timeZone = timeZone;
            this.largeVarTypes = largeVarTypes;
            this.runnerConf = runnerConf;
            this.metrics = metrics;
            this.jobArtifactUUID = jobArtifactUUID;
            this.sessionUUID = sessionUUID;
            this.maxRecords = maxRecords;
            this.maxBytes = maxBytes;
            this.validateSchema = validateSchema;
        }

        @Override
        public scala.collection.Iterator<InternalRow> apply(scala.collection.Iterator<ColumnarBatch> batches) {
            TaskContext task = TaskContext.get();
            // The runner holds no Arrow memory until compute: its writer root is made lazily.
            EvalPythonExec.ArgumentMetadata[][] arguments = {{new EvalPythonExec.ArgumentMetadata(0, Option.empty(), false)}};
            ColumnarArrowPythonWithNamedArgumentRunner runner = new ColumnarArrowPythonWithNamedArgumentRunner(functions,
                    evalType, arguments, ColumnarArrowEncoder.wrappedSchema(inputSchema), timeZone, largeVarTypes, runnerConf,
                    metrics, jobArtifactUUID, sessionUUID, new int[] {0});
            BufferAllocator allocator = ArrowUtils$.MODULE$.rootAllocator().newChildAllocator(
                    "gatun-map-input-" + task.taskAttemptId(), 0, Long.MAX_VALUE);
            ColumnarArrowEncoder encoder;
            try {
                encoder = ColumnarArrowEncoder.createWrapped(inputSchema, timeZone, largeVarTypes, allocator);
            } catch (RuntimeException e) {
                allocator.close();
                throw e;
            }
            // Registered before the runner's own listeners (compute adds them), so it runs after
            // them: Spark calls listeners last-registered first, and in pipelined mode stops its
            // writer thread before any of them. By then nothing reads the vectors.
            //
            // It also frees the runner's writer root and allocator: Spark does only when its
            // writer reaches the end of the input, and a task can end first (cancelled while its
            // function is stuck, its worker killed with input still queued for the socket), which
            // would leave them, and whatever the row-by-row fallback allocated in them, in the root
            // allocator for good. Closing them again after Spark did is harmless.
            task.addTaskCompletionListener((TaskCompletionListener) ctx -> {
                try {
                    AutoCloseables.close(runner.root(), runner.allocator(), encoder, allocator);
                } catch (Exception e) {
                    throw Task.<RuntimeException>rethrow(e);
                }
            });
            SizedArrowBatches input = new SizedArrowBatches(
                    CollectionConverters.asJava(new ContextAwareIterator<>(task, batches)), encoder, maxRecords, maxBytes);
            scala.collection.Iterator<ColumnarBatch> results = runner.compute(CollectionConverters.asScala(input),
                    task.partitionId(), task);
            @SuppressWarnings({"unchecked", "rawtypes"})
            UnsafeProjection project = UnsafeProjection$.MODULE$.create((Seq) output, output);
            int fields = output.size();
            return results.flatMap(new AbstractFunction1<ColumnarBatch, scala.collection.IterableOnce<InternalRow>>() {
                @Override
                public scala.collection.IterableOnce<InternalRow> apply(ColumnarBatch batch) {
                    return CollectionConverters.asScala(flatten(batch, fields)).map(project);
                }
            });
        }

        /** The rows of the struct column the Python function's batches come back as. */
        private java.util.Iterator<InternalRow> flatten(ColumnarBatch batch, int fields) {
            if (validateSchema) {
                DataType actual = batch.column(0).dataType();
                if (!DataType$.MODULE$.equalsIgnoreCompatibleNullability(actual, outputType)) {
                    throw Task.<RuntimeException>rethrow(QueryExecutionErrors$.MODULE$.arrowDataTypeMismatchError(
                            PythonEvalType$.MODULE$.toString(evalType), seq(outputType), seq(actual)));
                }
            }
            ArrowColumnVector struct = (ArrowColumnVector) batch.column(0);
            ColumnVector[] columns = new ColumnVector[fields];
            for (int i = 0; i < fields; i++) {
                columns[i] = struct.getChild(i);
            }
            ColumnarBatch flat = new ColumnarBatch(columns);
            flat.setNumRows(batch.numRows());
            return flat.rowIterator();
        }

        // Spark's error is a SparkException typed as Throwable in Scala, and a listener may not
        // declare a checked exception: each thrown as it is.
        @SuppressWarnings("unchecked")
        private static <T extends Throwable> T rethrow(Throwable t) throws T {
            throw (T) t;
        }

        private static Seq<DataType> seq(DataType t) {
            return CollectionConverters.asScala(List.of(t)).toList();
        }
    }
}
