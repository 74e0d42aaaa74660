package dev.gatun.arrow;

/**
 * Where an {@link ArenaReader} gets its batches: the client implements it (a Gatun callback), so
 * the reader pulls each batch when Java code asks for it.
 */
public interface BatchSource {
    /**
     * The next record batch: a {@code Long} span offset from {@link ArrowArena#allocate} whose
     * payload holds the IPC message (length in the span header), a {@code byte[]} holding the IPC
     * message (when it did not fit the arena), or null at the end.
     */
    Object next();

    /** The reader is closed: the source can drop its data. */
    void close();
}
