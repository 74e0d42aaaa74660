package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ObjectRegistryTest {
    @Test
    void handlesAreUniqueNonZeroAndScattered() {
        ObjectRegistry r = new ObjectRegistry(new SecureRandom());
        Set<Long> seen = new HashSet<>();
        long previous = 0;
        int close = 0;
        for (int i = 0; i < 200_000; i++) {
            long h = r.register(i);
            assertNotEquals(0, h);
            assertTrue(seen.add(h), "duplicate handle");
            if (Math.abs(h - previous) < 1_000_000) {
                close++;
            }
            previous = h;
        }
        assertEquals(200_000, r.size());
        assertTrue(close < 5, "consecutive handles should not be near each other: " + close);
    }

    @Test
    void scrambleIsABijectionOnASample() {
        ObjectRegistry r = new ObjectRegistry(new SecureRandom());
        Set<Long> out = new HashSet<>();
        for (long n = -50_000; n < 50_000; n++) {
            assertTrue(out.add(r.scramble(n)));
        }
    }

    @Test
    void sessionsDisagreeAboutHandles() {
        ObjectRegistry a = new ObjectRegistry(new SecureRandom());
        ObjectRegistry b = new ObjectRegistry(new SecureRandom());
        long h = a.register("x");
        assertNotEquals(h, b.register("x"));
        assertEquals(ErrorCode.BAD_HANDLE, assertThrows(GatunException.class, () -> b.get(h)).code());
    }

    @Test
    void releaseAndClear() {
        ObjectRegistry r = new ObjectRegistry(new SecureRandom());
        Object o = new Object();
        long h = r.register(o);
        long h2 = r.register(o);
        assertNotEquals(h, h2); // the same object twice: two handles
        assertSame(o, r.get(h));
        r.release(h);
        r.release(h); // unknown now: not an error
        assertSame(o, r.get(h2));
        r.clear();
        assertEquals(0, r.size());
    }
}
