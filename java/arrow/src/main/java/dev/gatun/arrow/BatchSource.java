package dev.gatun.arrow;

/**
 * Where an {@link ArenaReader} gets its batches: the client implements it (a Gatun callback), so
 * the reader pulls each batch when Java code asks for it.
 */
public interface BatchSource {
    /**
     * The next record batch: a span offset whose payload holds the IPC message (length in the span
     * header), a {@code byte[]} holding the IPC message (when it did not fit the arena), or null at
     * the end. The span is {@code reserved} (payload room {@code capacity}) when the batch fits
     * there, else one from {@link ArrowArena#allocate}; {@code reserved} is -1 when the arena had
     * no room for a reservation.
     */
    Object next(long reserved, long capacity);

    /** The reader is closed: the source can drop its data. */
    void close();
}
