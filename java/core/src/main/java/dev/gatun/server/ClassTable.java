package dev.gatun.server;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The class ids of a session (protocol §3.2): valid on every channel of the session, never 0. */
final class ClassTable {
    private final ConcurrentHashMap<Class<?>, Long> ids = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Class<?>> classes = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong();

    long idOf(Class<?> c) {
        return ids.computeIfAbsent(c, k -> {
            long id = next.incrementAndGet();
            classes.put(id, k);
            return id;
        });
    }

    Class<?> get(long id) {
        Class<?> c = classes.get(id);
        if (c == null) {
            throw new GatunException(ErrorCode.BAD_HANDLE, "unknown class id " + Long.toUnsignedString(id));
        }
        return c;
    }

    void clear() {
        ids.clear();
        classes.clear();
    }
}
