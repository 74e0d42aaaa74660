package dev.gatun.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a decoded value turns into where the session matters: object handles, class ids and callbacks
 * (protocol §4). The server resolves them against the session; tests turn them into plain records.
 */
interface ValueDecoder {
    Object object(long handle);

    /** True for server-to-client values, whose OBJECT carries a shape byte (read by clients in tests). */
    default boolean objectsHaveShape() {
        return false;
    }

    /** An OBJECT with its shape; only called when {@link #objectsHaveShape()}. */
    default Object object(long handle, int shape) {
        throw new UnsupportedOperationException("OBJECT values from clients carry no shape");
    }

    Object classRef(long id, String name);

    Object callback(long id, String[] interfaces);

    default List<Object> newList(int size) {
        return new ArrayList<>(size);
    }

    default Map<Object, Object> newMap(int size) {
        return new HashMap<>(Math.max(16, (int) (size / 0.75f) + 1));
    }

    default Set<Object> newSet(int size) {
        return new HashSet<>(Math.max(16, (int) (size / 0.75f) + 1));
    }
}
