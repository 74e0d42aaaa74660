package dev.gatun.server;

import java.util.concurrent.atomic.LongAdder;

/**
 * How long the server spent executing a session's requests: the JVM's share of the session's time,
 * so a client can tell it apart from the bridge's (its own wall time minus this). Off unless the JVM
 * runs with {@code -Dgatun.measureExecution=true}: two clock reads per request are a few percent of
 * a sub-microsecond call, and the flag is a constant the JIT folds away when off.
 *
 * <p>Counted per session, from the moment a top-level request is decoded to the moment its answer
 * is written, so it includes decoding, reflection and encoding (server work, not the transport) and
 * excludes the wait for the request and the signal back. Requests nested in a callback are inside
 * their outer request's time and are not counted again.
 *
 * <p>Every allowlist admits this class: it reads nothing but the calling session's own counters.
 */
public final class ExecutionTime {
    static final boolean ENABLED = Boolean.getBoolean("gatun.measureExecution");

    private final LongAdder nanos = new LongAdder();
    private final LongAdder requests = new LongAdder();

    ExecutionTime() {
    }

    void add(long elapsedNanos) {
        nanos.add(elapsedNanos);
        requests.increment();
    }

    /** Whether this JVM measures execution time ({@code -Dgatun.measureExecution=true}). */
    public static boolean enabled() {
        return ENABLED;
    }

    /** Nanoseconds spent executing the calling session's top-level requests so far. */
    public static long nanos() {
        return current().nanos.sum();
    }

    /** How many top-level requests of the calling session have completed so far. */
    public static long requests() {
        return current().requests.sum();
    }

    private static ExecutionTime current() {
        if (!ENABLED) {
            throw new IllegalStateException(
                    "execution time is not measured: start the server JVM with -Dgatun.measureExecution=true");
        }
        RequestLoop loop = RequestLoop.current();
        if (loop == null) {
            throw new IllegalStateException("ExecutionTime is only available to a request of a Gatun session");
        }
        return loop.session().executionTime();
    }
}
