package dev.gatun.arrow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A span the arena gave out, and the state it is in (spec/arrow.md §2.2). Only the JVM's side of
 * the state is kept here; the client's one move, LENT to RETURNED, is the span header's first word,
 * which the client writes in shared memory and the JVM only reads ({@link #returned}).
 */
final class Span {
    /** Who may touch a span's bytes now. */
    enum Kind {
        /** Reserved for the client to write (Python to JVM), not yet handed over. */
        WRITABLE,
        /** Handed over by the client; a JVM reader reads it in place until it moves past it. */
        READING,
        /** The JVM writes an IPC message into it (JVM to Python). */
        EXPORTING,
        /** Lent to the client, whose reads end when it writes RETURNED into the header. */
        LENT
    }

    /** The header word's values (spec/arrow.md §2.2); the JVM writes LENT, the client RETURNED. */
    static final int LENT = 1;
    static final int RETURNED = 2;

    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    final long offset;
    long size;
    Kind kind;
    /** An extension's span written through the JVM's mapping (its pages exist), not the file. */
    boolean throughMapping;

    Span(long offset, long size, Kind kind) {
        this.offset = offset;
        this.size = size;
        this.kind = kind;
    }

    /**
     * Whether the client wrote RETURNED into this span's header in {@code mapping}. Acquire: the
     * client's reads of the span happen before its RETURNED store, and the JVM's next writes into
     * the span come after this load.
     */
    boolean returned(ByteBuffer mapping) {
        return (int) INTS.getAcquire(mapping, (int) offset) == RETURNED;
    }

    /**
     * Writes the payload's length, then LENT with a release store, so that a client that sees
     * LENT sees the length and the payload written before it.
     */
    void lendIn(ByteBuffer mapping, long length) {
        mapping.putLong((int) offset + 8, length);
        INTS.setRelease(mapping, (int) offset, LENT);
    }
}
