package dev.gatun.server;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** How RESOLVE_CLASS and CALLBACK interface names become classes (protocol §3.2), in one class loader. */
final class ClassLookup {
    /** The longest class name RESOLVE_CLASS and CALLBACK interfaces may carry, in UTF-8 bytes (protocol §3.2). */
    static final int MAX_CLASS_NAME_BYTES = 1024;
    /** How many of a name's last dots are tried as nesting ({@code $}): no real class nests deeper. */
    static final int MAX_NESTING_TRIES = 16;

    private static final Map<String, Class<?>> PRIMITIVES = Map.of(
            "boolean", boolean.class, "byte", byte.class, "char", char.class, "short", short.class,
            "int", int.class, "long", long.class, "float", float.class, "double", double.class);

    private final ClassLoader loader;

    ClassLookup(ClassLoader loader) {
        this.loader = loader;
    }

    ClassLoader loader() {
        return loader;
    }

    /**
     * The class with this name: {@code a.b.C}, {@code a.b.C$D} or {@code a.b.C.D} (tried as nested
     * classes from the right), or a primitive type name; null if there is none.
     *
     * <p>Each try costs a class-loader lookup of the whole name, so both the name's length and the
     * number of tries are bounded: trying every dot of a long dotted name was quadratic (8,000
     * parts took seconds of CPU). A CANCEL (an interrupt) stops it between tries.
     */
    Class<?> find(String name) throws InterruptedException {
        Class<?> primitive = PRIMITIVES.get(name);
        if (primitive != null) {
            return primitive;
        }
        // A UTF-8 byte count is at least the char count and at most three times it.
        if (name.length() > MAX_CLASS_NAME_BYTES
                || (name.length() * 3 > MAX_CLASS_NAME_BYTES
                        && name.getBytes(StandardCharsets.UTF_8).length > MAX_CLASS_NAME_BYTES)) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "a class name of " + name.getBytes(StandardCharsets.UTF_8).length
                    + " bytes is over the maximum of " + MAX_CLASS_NAME_BYTES + " bytes");
        }
        char[] candidate = name.toCharArray();
        int dot = candidate.length;
        for (int tries = 0; ; tries++) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("the lookup of class " + name + " was cancelled");
            }
            String attempt = new String(candidate);
            try {
                return Class.forName(attempt, false, loader);
            } catch (ClassNotFoundException e) {
                // The next dot to the left becomes '$': a.b.C.D, then a.b.C$D, then a.b$C$D, ...
                do {
                    dot--;
                } while (dot > 0 && candidate[dot] != '.');
                if (dot <= 0 || tries >= MAX_NESTING_TRIES) {
                    return null;
                }
                candidate[dot] = '$';
            } catch (LinkageError e) {
                throw new GatunException(ErrorCode.NO_SUCH_CLASS, "class " + attempt + " cannot be loaded: " + e);
            }
        }
    }
}
