package dev.gatun.spark.udf;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.execution.ColumnarRule;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.catalyst.expressions.PythonUDF;
import org.apache.spark.sql.execution.python.ArrowEvalPythonExec;
import org.apache.spark.sql.execution.python.MapInBatchExec;
import org.apache.spark.sql.internal.SQLConf;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code spark.sql.extensions=dev.gatun.spark.udf.GatunSparkExtensions}: puts a
 * {@link GatunArrowInputExec} under every {@code ArrowEvalPythonExec} (pandas_udf, Arrow-optimized
 * udf) that takes columnar input, so its non-Arrow batches reach the Python worker through Spark's
 * direct Arrow path, and a {@link GatunArrowOutputExec} between the evaluator and the parent that
 * takes its rows, which frees each input batch once its rows are consumed; and replaces every
 * mapInArrow / mapInPandas over a columnar child with a {@link GatunMapInBatchExec}, which sends
 * the child's batches as Arrow without turning them into rows.
 * {@code spark.gatun.udf.arrowInput.enabled=false} (a session setting, read at planning) turns
 * both off; Spark's {@code spark.sql.execution.arrow.pythonUDF.columnarInput.enabled=false} turns
 * off the first, under which its node has nothing to feed.
 */
public final class GatunSparkExtensions extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {
    public static final String ENABLED = "spark.gatun.udf.arrowInput.enabled";

    /** Spark's columnar Arrow Python runner, which GatunMapInBatchExec feeds, is there (4.2+). */
    private static final boolean COLUMNAR_RUNNER = present(
            "org.apache.spark.sql.execution.python.ColumnarArrowPythonWithNamedArgumentRunner");

    private static boolean present(String className) {
        try {
            Class.forName(className, false, GatunSparkExtensions.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        extensions.injectColumnar(session -> new ColumnarRule() {
            @Override
            public Rule<SparkPlan> postColumnarTransitions() {
                return new ArrowInputRule();
            }
        });
        return BoxedUnit.UNIT;
    }

    /**
     * After Spark's transitions: by then an ArrowEvalPythonExec that takes columnar input has its
     * columnar child directly below it (it reports {@code supportsColumnar} only then), and no rule
     * that would insert a transition runs after this one.
     */
    static final class ArrowInputRule extends Rule<SparkPlan> {
        @Override
        public SparkPlan apply(SparkPlan plan) {
            if (!Boolean.parseBoolean(SQLConf.get().getConfString(ENABLED, "true"))) {
                return plan;
            }
            return rewrite(plan);
        }

        private static SparkPlan rewrite(SparkPlan plan) {
            List<SparkPlan> children = CollectionConverters.asJava(plan.children());
            List<SparkPlan> rewritten = new ArrayList<>(children.size());
            boolean changed = false;
            for (SparkPlan child : children) {
                SparkPlan r = rewrite(child);
                changed |= r != child;
                rewritten.add(r);
            }
            SparkPlan out = changed ? plan.withNewChildren(CollectionConverters.asScala(rewritten).toList()) : plan;
            if (out instanceof MapInBatchExec map) {
                SparkPlan columnar = columnarInput(map);
                if (columnar != null) {
                    return new GatunMapInBatchExec(out, columnar);
                }
            }
            if (out instanceof ArrowEvalPythonExec eval && eval.supportsColumnar()
                    && !(eval.child() instanceof GatunArrowInputExec)) {
                return withChild(eval, new GatunArrowInputExec(eval.child()));
            }
            // Bottom-up, an evaluator below has its input node by now. A parent that takes its rows
            // (not its batches) gets them through the output node, which frees the input as it goes.
            if (!out.supportsColumnar() && !(out instanceof ColumnarToRowExec)) {
                List<SparkPlan> kids = CollectionConverters.asJava(out.children());
                List<SparkPlan> withOutput = new ArrayList<>(kids.size());
                boolean paired = false;
                for (SparkPlan kid : kids) {
                    if (kid instanceof ArrowEvalPythonExec eval && eval.child() instanceof GatunArrowInputExec input) {
                        withOutput.add(new GatunArrowOutputExec(eval, input.pair()));
                        paired = true;
                    } else {
                        withOutput.add(kid);
                    }
                }
                if (paired) {
                    return out.withNewChildren(CollectionConverters.asScala(withOutput).toList());
                }
            }
            return out;
        }

        /**
         * The columnar plan under a map-in-batch operator the node can replace, or null: its rows
         * come from a columnar child through a ColumnarToRow, or from a child that can give either
         * and was asked for rows (a cached relation's scan); it is not a barrier stage and has no
         * resource profile (both change how stock builds its RDD); and this Spark has the
         * columnar runner (4.2 and later).
         */
        private static SparkPlan columnarInput(MapInBatchExec map) {
            if (!COLUMNAR_RUNNER || map.isBarrier() || !map.profile().isEmpty() || !(map.func() instanceof PythonUDF)) {
                return null;
            }
            SparkPlan child = map.child();
            if (child instanceof ColumnarToRowExec c2r) {
                child = c2r.child();
            }
            return child.supportsColumnar() ? child : null;
        }

        private static SparkPlan withChild(SparkPlan plan, SparkPlan child) {
            return plan.withNewChildren(CollectionConverters.asScala(List.<SparkPlan>of(child)).toList());
        }
    }
}
