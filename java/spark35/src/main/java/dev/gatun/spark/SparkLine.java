package dev.gatun.spark;

import java.io.OutputStream;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.arrow.ArrowBatchStreamWriter;
import org.apache.spark.sql.types.StructType;
import scala.Function0;

/**
 * What differs between the Spark lines, on Spark 3.5 (Scala 2.12): gatun-spark35's one class of
 * its own, with the members of gatun-spark's (java/spark/src/spark4); the rest of its source is
 * gatun-spark's, compiled against Spark 3.5. Checked against Spark 3.5.9's jars: the DataFrame is
 * {@code org.apache.spark.sql.Dataset} (no {@code classic} package), {@code ArrowBatchStreamWriter}
 * takes no large-var-types option, {@code Dataset.withAction} runs its action directly, and there
 * is no structured logging.
 */
final class SparkLine {
    /** No session extension for Python UDFs on Spark 3.5: it has no columnar input for Arrow UDFs. */
    static final String UDF_EXTENSIONS = null;

    private SparkLine() {
    }

    /** Spark 3.5 has no structured logging: nothing to turn off. */
    static void disableStructuredLogging() {
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

    /** The schema message Spark 3.5's collectAsArrowToPython writes first (its writer has no {@code largeVarTypes}). */
    static void writeArrowSchema(StructType schema, OutputStream out, String timeZoneId,
            boolean errorOnDuplicatedFieldNames, boolean largeVarTypes) {
        new ArrowBatchStreamWriter(schema, out, timeZoneId, errorOnDuplicatedFieldNames);
    }

    /** Spark 3.5's {@code Dataset.withAction} runs the action directly inside its execution id. */
    static Function0<Object> inQueryExecutionId(QueryExecution qe, Function0<Object> body) {
        return body;
    }
}
