package dev.gatun.spark.udf;

import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.SortOrder;
import org.apache.spark.sql.catalyst.plans.physical.Partitioning;
import org.apache.spark.sql.execution.SparkPlan;
import scala.collection.immutable.Seq;

/**
 * What {@link GatunArrowInputExec} and {@link GatunArrowOutputExec} share as plan nodes: one child
 * whose rows they pass on (same output, partitioning and ordering, so that nothing above thinks it
 * needs another exchange or sort), and the pair id that ties the two of one evaluator together.
 */
abstract class PairedPassThroughExec extends GatunUnaryExec {
    private static final long serialVersionUID = 1L;

    private final long pair;

    PairedPassThroughExec(SparkPlan child, long pair) {
        super(child);
        this.pair = pair;
    }

    /** What ties an input node to the output node that frees its batches. */
    long pair() {
        return pair;
    }

    @Override
    public Seq<Attribute> output() {
        return child().output();
    }

    @Override
    public Partitioning outputPartitioning() {
        return child().outputPartitioning();
    }

    @Override
    public Seq<SortOrder> outputOrdering() {
        return child().outputOrdering();
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && pair == ((PairedPassThroughExec) o).pair
                && child().equals(((PairedPassThroughExec) o).child());
    }

    @Override
    public int hashCode() {
        return 31 * (31 * getClass().hashCode() + Long.hashCode(pair)) + child().hashCode();
    }
}
