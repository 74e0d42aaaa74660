package dev.gatun.arrow;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A root arena's spares: the retired extensions of its family whose files it keeps open for an
 * exporter to rewrite (spec/arrow.md §4.1), bounded by the bytes written into them. Rewriting pages
 * that exist costs a fraction of making fresh ones; the budget caps the shared memory that costs.
 * Not thread-safe; the root's monitor guards it.
 */
final class SpareList {
    /** The written bytes of retired extensions the root may keep (0: none). */
    private long budget;
    /** Oldest first. */
    private final Deque<ArrowArena> kept = new ArrayDeque<>();
    private long bytes;

    void budget(long b) {
        budget = b;
    }

    /** Whether an extension with {@code touched} written bytes may be kept at all. */
    boolean admits(long touched) {
        return budget > 0 && touched <= budget;
    }

    void add(ArrowArena extension, long touched) {
        kept.addLast(extension);
        bytes += touched;
    }

    void remove(ArrowArena extension, long touched) {
        kept.remove(extension);
        bytes -= touched;
    }

    /** The oldest kept extension while the kept ones are over the budget, else null. */
    ArrowArena overBudget() {
        return bytes > budget ? kept.peekFirst() : null;
    }
}
