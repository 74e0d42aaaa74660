package dev.gatun.spark.udf;

import java.io.Serializable;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.SparkPlan;
import scala.collection.immutable.IndexedSeq;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * The pair of a {@link GatunArrowInputExec}, right above its {@code ArrowEvalPythonExec}: it passes
 * the evaluator's rows on unchanged and frees each input batch once its parent has taken that
 * batch's rows. The evaluator's output rows are its input rows, in order (each joined with the
 * UDFs' results), and a parent is done with a row when it asks for the next (rows are reused; by
 * Spark's contract whoever keeps one copies it). So when the parent asks for the row after a
 * batch's last, the batch is no longer read, and the input held in Arrow memory is what the runner
 * has in flight, not the whole partition.
 */
public final class GatunArrowOutputExec extends PairedPassThroughExec {
    private static final long serialVersionUID = 1L;

    GatunArrowOutputExec(SparkPlan child, long pair) {
        super(child, pair);
    }

    @Override
    public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
        return new GatunArrowOutputExec(newChildren.head(), pair());
    }

    @Override
    public RDD<InternalRow> doExecute() {
        return child().execute().mapPartitions(new ReleasePartition(pair()), true,
                ClassTag$.MODULE$.apply(InternalRow.class));
    }

    /** The per-partition function Spark ships to the tasks: serializable, and without the plan node. */
    private static final class ReleasePartition
            extends AbstractFunction1<scala.collection.Iterator<InternalRow>, scala.collection.Iterator<InternalRow>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final long pair;

        ReleasePartition(long pair) {
            this.pair = pair;
        }

        @Override
        public scala.collection.Iterator<InternalRow> apply(scala.collection.Iterator<InternalRow> rows) {
            TaskContext task = TaskContext.get();
            if (task == null) {
                return rows;
            }
            long taskAttemptId = task.taskAttemptId();
            return CollectionConverters.asScala(new java.util.Iterator<InternalRow>() {
                private int left; // rows of the batch at the head of the live list not handed out yet
                private boolean holding; // that batch's rows are being handed out
                private ConcurrentLinkedDeque<GatunArrowInputExec.Live> live; // looked up once

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public InternalRow next() {
                    if (!rows.hasNext()) {
                        throw new NoSuchElementException();
                    }
                    // First the row: producing it may pull the batch it comes from onto the list.
                    InternalRow row = rows.next();
                    if (live == null) {
                        live = GatunArrowInputExec.liveBatches(taskAttemptId, pair);
                    }
                    while (left == 0 && live != null) {
                        if (holding) {
                            GatunArrowInputExec.releaseOldest(live);
                            holding = false;
                        }
                        GatunArrowInputExec.Live head = live.peek();
                        if (head == null) {
                            break; // nothing to follow; the task's end frees what is left
                        }
                        holding = true;
                        left = head.rows();
                    }
                    if (left > 0) {
                        left--;
                    }
                    return row;
                }
            });
        }
    }
}
