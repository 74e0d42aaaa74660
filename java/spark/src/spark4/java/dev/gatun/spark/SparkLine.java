package dev.gatun.spark;

import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.classic.Dataset;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.arrow.ArrowBatchStreamWriter;
import org.apache.spark.sql.types.StructType;
import scala.Function0;

/**
 * What differs between the Spark lines the driver jar is built for, on Spark 4 (Scala 2.13): this
 * class is gatun-spark's (java/spark/src/spark4); gatun-spark35 has its own (java/spark35), with the
 * same members. The rest of the module's source is shared and compiled once per line. The
 * DataFrame is {@code org.apache.spark.sql.classic.Dataset} here.
 */
final class SparkLine {
    /** {@code QueryExecution.withQueryExecutionId(SparkSession, Function0)}, or null on Spark 4.0. */
    private static final Method WITH_QUERY_EXECUTION_ID = findWithQueryExecutionId();

    /**
     * The session extension the Gatun driver installs for Python UDFs' input (issue 16): Spark 4.3's
     * columnar input for Arrow UDFs exists on this line only.
     */
    static final String UDF_EXTENSIONS = dev.gatun.spark.udf.GatunSparkExtensions.class.getName();

    private SparkLine() {
    }

    /** Spark 4's structured (JSON) logging off, as PySpark's stock driver has it. */
    static void disableStructuredLogging() {
        org.apache.spark.internal.Logging$.MODULE$.disableStructuredLogging();
    }

    /** PySpark's {@code DataFrame._jdf} as this line's Dataset. */
    private static Dataset<?> dataset(Object dataFrame) {
        if (dataFrame instanceof Dataset<?> df) {
            return df;
        }
        throw new IllegalArgumentException("not a " + Dataset.class.getName() + ": "
                + (dataFrame == null ? "null" : dataFrame.getClass().getName()));
    }

    static QueryExecution queryExecution(Object dataFrame) {
        return dataset(dataFrame).queryExecution();
    }

    static StructType schema(Object dataFrame) {
        return dataset(dataFrame).schema();
    }

    /** {@code Dataset.toArrowBatchRdd(plan)}: each partition's Arrow IPC batches. */
    static RDD<byte[]> toArrowBatchRdd(Object dataFrame, SparkPlan plan) {
        return dataset(dataFrame).toArrowBatchRdd(plan);
    }

    /** The schema message {@code ArrowBatchStreamWriter} writes first, as collectAsArrowToPython's does. */
    static void writeArrowSchema(StructType schema, OutputStream out, String timeZoneId,
            boolean errorOnDuplicatedFieldNames, boolean largeVarTypes) {
        new ArrowBatchStreamWriter(schema, out, timeZoneId, errorOnDuplicatedFieldNames, largeVarTypes);
    }

    /**
     * {@code body} as {@code Dataset.withAction} runs it inside its execution id: Spark 4.1+ within
     * {@code QueryExecution.withQueryExecutionId}; Spark 4.0 has no such step (nor method).
     */
    static Function0<Object> inQueryExecutionId(QueryExecution qe, Function0<Object> body) {
        if (WITH_QUERY_EXECUTION_ID == null) {
            return body;
        }
        return () -> {
            try {
                return WITH_QUERY_EXECUTION_ID.invoke(qe, qe.sparkSession(), body);
            } catch (InvocationTargetException e) {
                throw SparkLine.<RuntimeException>rethrow(e.getCause());  // as the direct call would
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private static Method findWithQueryExecutionId() {
        try {
            return QueryExecution.class.getMethod("withQueryExecutionId", SparkSession.class, Function0.class);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    /** Throws {@code t} as it is, checked or not (Scala code throws checked exceptions undeclared). */
    @SuppressWarnings("unchecked")
    private static <T extends Throwable> RuntimeException rethrow(Throwable t) throws T {
        throw (T) t;
    }
}
