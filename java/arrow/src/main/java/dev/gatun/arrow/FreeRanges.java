package dev.gatun.arrow;

import java.util.Map;
import java.util.TreeMap;

/**
 * An arena's allocator: its free byte ranges, first fit, coalesced on every give-back so that no
 * two free ranges touch. Not thread-safe; the arena's monitor guards it.
 */
final class FreeRanges {
    /** Offset to length, never adjacent. */
    private final TreeMap<Long, Long> free = new TreeMap<>();

    /** Everything from {@code offset} for {@code length} bytes is free, and nothing else. */
    void reset(long offset, long length) {
        free.clear();
        free.put(offset, length);
    }

    /** Takes the first range of {@code need} bytes; its offset, or -1 if no free range is that long. */
    long take(long need) {
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long off = e.getKey();
            long len = e.getValue();
            if (len >= need) {
                // Read before removing: TreeMap may reuse the removed entry's node for its successor.
                free.remove(off);
                if (len > need) {
                    free.put(off + need, len - need);
                }
                return off;
            }
        }
        return -1;
    }

    /** Gives back {@code [offset, offset + length)}, merged with the free ranges either side. */
    void give(long offset, long length) {
        long off = offset;
        long len = length;
        Map.Entry<Long, Long> before = free.floorEntry(off);
        if (before != null && before.getKey() + before.getValue() == off) {
            free.remove(before.getKey());
            off = before.getKey();
            len += before.getValue();
        }
        Long after = free.get(off + len);
        if (after != null) {
            free.remove(off + len);
            len += after;
        }
        free.put(off, len);
    }

    /** The free bytes in all. */
    long total() {
        long n = 0;
        for (long v : free.values()) {
            n += v;
        }
        return n;
    }
}
