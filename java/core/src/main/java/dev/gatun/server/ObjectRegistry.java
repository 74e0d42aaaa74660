package dev.gatun.server;

import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The objects a session holds for its client (protocol §6), by handle.
 *
 * <p>A handle is a counter run through a keyed bijection of 64-bit values: handles never collide
 * within a session, yet a client cannot guess another live handle (or one of another session)
 * from the handles it has seen. Handle 0 means "none" on the wire and is skipped.
 */
final class ObjectRegistry {
    private final ConcurrentHashMap<Long, Object> objects = new ConcurrentHashMap<>();
    private final AtomicLong counter = new AtomicLong();
    private final long keyIn;
    private final long keyOut;

    ObjectRegistry(SecureRandom random) {
        this.keyIn = random.nextLong();
        this.keyOut = random.nextLong();
    }

    long register(Object o) {
        long handle;
        do {
            handle = scramble(counter.incrementAndGet());
        } while (handle == 0);
        objects.put(handle, o);
        return handle;
    }

    /** Keyed splitmix64 finaliser: every step (add, xor-shift, odd multiply, xor) is invertible. */
    long scramble(long n) {
        long z = n + keyIn;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (z ^ (z >>> 31)) ^ keyOut;
    }

    Object get(long handle) {
        Object o = objects.get(handle);
        if (o == null) {
            throw new GatunException(ErrorCode.BAD_HANDLE, "unknown object handle " + Long.toUnsignedString(handle)
                    + " (released, or from another session)");
        }
        return o;
    }

    void release(long handle) {
        objects.remove(handle);
    }

    int size() {
        return objects.size();
    }

    void clear() {
        objects.clear();
    }
}
