package dev.gatun.server;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The client's side of values (protocol §4) for {@link LocalClient}: encoding requests, decoding replies. */
final class ClientValues {
    /** An object handle; {@code shape} is -1 in client-to-server values, which carry none. */
    record Ref(long handle, int shape) {
        Ref(long handle) {
            this(handle, -1);
        }
    }

    record ClassRef(long id, String name) {
    }

    record CallbackRef(long id, List<String> interfaces) {
    }

    private ClientValues() {
    }

    /** Handles, class ids and callbacks as records; maps and sets in wire order. */
    private abstract static class Model implements ValueDecoder {
        @Override
        public Object classRef(long id, String name) {
            return new ClassRef(id, name);
        }

        @Override
        public Map<Object, Object> newMap(int size) {
            return new LinkedHashMap<>();
        }

        @Override
        public Set<Object> newSet(int size) {
            return new LinkedHashSet<>();
        }
    }

    /** Client-to-server values, as the server reads them (OBJECT without shape). */
    static final ValueDecoder MODEL = new Model() {
        @Override
        public Object object(long handle) {
            return new Ref(handle);
        }

        @Override
        public Object callback(long id, String[] interfaces) {
            return new CallbackRef(id, List.of(interfaces));
        }
    };

    /** Server-to-client values: OBJECT carries a shape, and there are no CALLBACK values. */
    static final ValueDecoder REPLIES = new Model() {
        @Override
        public Object object(long handle) {
            throw new IllegalStateException("server OBJECT values carry a shape");
        }

        @Override
        public boolean objectsHaveShape() {
            return true;
        }

        @Override
        public Object object(long handle, int shape) {
            return new Ref(handle, shape);
        }

        @Override
        public Object callback(long id, String[] interfaces) {
            throw new IllegalStateException("servers send no CALLBACK values");
        }
    };

    /** Writes a value as a client sends it (§4.2). */
    static void write(FrameWriter w, Object v) {
        if (v instanceof Ref r) {
            w.u8(ValueTag.OBJECT).i64(r.handle()); // a client's OBJECT has no shape byte
        } else if (v instanceof ClassRef c) {
            w.classRef(c.id(), c.name());
        } else if (v instanceof CallbackRef c) {
            w.u8(ValueTag.CALLBACK).i64(c.id()).u16(c.interfaces().size());
            c.interfaces().forEach(w::string);
        } else if (v instanceof List<?> l) {
            w.u8(ValueTag.LIST).i32(l.size());
            l.forEach(e -> write(w, e));
        } else if (v instanceof Set<?> s) {
            w.u8(ValueTag.SET).i32(s.size());
            s.forEach(e -> write(w, e));
        } else if (v instanceof Map<?, ?> m) {
            w.u8(ValueTag.MAP).i32(m.size());
            m.forEach((k, x) -> {
                write(w, k);
                write(w, x);
            });
        } else if (v == null || v instanceof Boolean || v instanceof Number && !(v instanceof BigDecimal) && isBox(v)
                || v instanceof Character || v instanceof String || v instanceof byte[] || v instanceof BigDecimal) {
            w.result(v, null);
        } else {
            throw new IllegalArgumentException("no wire form for " + v.getClass());
        }
    }

    private static boolean isBox(Object v) {
        return v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
                || v instanceof Float || v instanceof Double;
    }

    static List<Object> list(Object... items) {
        return new ArrayList<>(List.of(items));
    }
}
