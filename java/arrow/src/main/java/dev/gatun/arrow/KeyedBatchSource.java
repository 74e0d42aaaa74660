package dev.gatun.arrow;

/**
 * One client callback that serves the batches of many {@link ArenaReader}s, told apart by a key the
 * client chose for each ({@link ArenaReader#open(ArrowArena, byte[], KeyedBatchSource, long)}).
 *
 * <p>Why: a callback id lives as long as its session, on both sides (protocol §5.3), so a client
 * that made one {@link BatchSource} callback per transfer grew its session by one callback, and the
 * server by one proxy, with every transfer (a soak of an hour grew both by hundreds of MiB). A
 * client makes this callback once per session; its per-transfer state lives under the key, which
 * it forgets when the stream ends, the reader closes or the client drops the reader.
 */
public interface KeyedBatchSource {
    /** {@link BatchSource#next} of the stream under {@code key}. */
    Object next(long key, long reserved, long capacity);

    /** {@link BatchSource#close} of the stream under {@code key}. */
    void close(long key);

    /** The {@link BatchSource} of one stream: this callback, with the stream's key. */
    static BatchSource of(KeyedBatchSource source, long key) {
        return new BatchSource() {
            @Override
            public Object next(long reserved, long capacity) {
                return source.next(key, reserved, capacity);
            }

            @Override
            public void close() {
                source.close(key);
            }
        };
    }
}
