package dev.gatun.spark.udf;

import java.util.List;
import org.apache.spark.sql.execution.SparkPlan;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What Gatun's plan nodes share as Catalyst trees: one child, which is their whole product (what
 * tree transformations see), and the copies Catalyst makes. Whatever else a node holds (a pair id,
 * the operator it replaces) stays out of the product and is carried over by
 * {@code withNewChildrenInternal}.
 */
abstract class GatunUnaryExec extends SparkPlan {
    private static final long serialVersionUID = 1L;

    private final SparkPlan child;
    private final Seq<SparkPlan> children;

    GatunUnaryExec(SparkPlan child) {
        this.child = child;
        this.children = CollectionConverters.asScala(List.of(child)).toList();
    }

    public SparkPlan child() {
        return child;
    }

    @Override
    public Seq<SparkPlan> children() {
        return children;
    }

    /**
     * Catalyst copies a node through its constructor when canonicalizing (and in a few rewrites)
     * by matching the product's elements to a public constructor; the product here is the child
     * alone, so the node makes the copy itself.
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
}
