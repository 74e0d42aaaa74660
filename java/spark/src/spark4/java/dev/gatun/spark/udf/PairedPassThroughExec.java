package dev.gatun.spark.udf;

import java.util.List;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.SortOrder;
import org.apache.spark.sql.catalyst.plans.physical.Partitioning;
import org.apache.spark.sql.execution.SparkPlan;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What {@link GatunArrowInputExec} and {@link GatunArrowOutputExec} share as plan nodes: one child
 * whose rows they pass on (same output, partitioning and ordering, so that nothing above thinks it
 * needs another exchange or sort), and the pair id that ties the two of one evaluator together.
 */
abstract class PairedPassThroughExec extends SparkPlan {
    private static final long serialVersionUID = 1L;

    private final SparkPlan child;
    private final Seq<SparkPlan> children;
    private final long pair;

    PairedPassThroughExec(SparkPlan child, long pair) {
        this.child = child;
        this.children = CollectionConverters.asScala(List.of(child)).toList();
        this.pair = pair;
    }

    public SparkPlan child() {
        return child;
    }

    /** What ties an input node to the output node that frees its batches. */
    long pair() {
        return pair;
    }

    @Override
    public Seq<Attribute> output() {
        return child.output();
    }

    @Override
    public Seq<SparkPlan> children() {
        return children;
    }

    @Override
    public Partitioning outputPartitioning() {
        return child.outputPartitioning();
    }

    @Override
    public Seq<SortOrder> outputOrdering() {
        return child.outputOrdering();
    }

    /**
     * Catalyst copies a node through its constructor when canonicalizing (and in a few rewrites)
     * by matching the product's elements to a public constructor; the product here is the child
     * alone, without the pair, so the node makes the copy itself.
     */
    @Override
    public SparkPlan makeCopy(Object[] newArgs) {
        SparkPlan copy = withNewChildrenInternal(
                CollectionConverters.asScala(List.of((SparkPlan) newArgs[0])).toIndexedSeq());
        copy.copyTagsFrom(this);
        return copy;
    }

    @Override
    public int productArity() {
        return 1;
    }

    @Override
    public Object productElement(int n) {
        if (n == 0) {
            return child;
        }
        throw new IndexOutOfBoundsException(n);
    }

    @Override
    public boolean canEqual(Object that) {
        return that != null && that.getClass() == getClass();
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && pair == ((PairedPassThroughExec) o).pair
                && child.equals(((PairedPassThroughExec) o).child);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * getClass().hashCode() + Long.hashCode(pair)) + child.hashCode();
    }
}
