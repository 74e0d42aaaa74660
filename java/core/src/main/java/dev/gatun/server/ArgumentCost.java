package dev.gatun.server;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;

/**
 * What it costs to pass an argument of a runtime class to a parameter type, and the conversion that
 * goes with it. Lower is better; {@link #INVALID} means "does not fit".
 *
 * <p>{@link #py4j} is Py4J's model, so that Gatun picks the same overload Py4J would: the distance
 * in the supertype graph (100 per step) for assignable types; for numbers, int to long 1, short to
 * long 2, byte to long 3 (the same steps towards int and short), int to short 1, int to byte 2, float
 * to double 1, double to float 1, and nothing else (no int to double); a 1-char string to char 1
 * (Py4J accepts any string there and keeps its first char; Gatun only 1-char strings);
 * and for null, 100,000,000 minus the depth of a class parameter below Object (so the most derived
 * class wins), one more for an interface, and never a primitive.
 *
 * <p>{@link #extended} adds what Py4J refuses but Java allows: integers and chars widened to
 * floating point, chars widened to int/long, and covariant arrays. Those only count when no
 * overload fits under Py4J's rules (see {@link Invoker}), so they never change a choice Py4J makes.
 */
final class ArgumentCost {
    static final long INVALID = -1;
    static final long STEP = 100;
    static final long NULL_BASE = 100_000_000;
    /** Above any Py4J numeric cost, below one supertype step: widening beats boxing into Object. */
    private static final long WIDENING_BASE = 10;
    private static final int RANK_INT = 2;
    private static final int RANK_FLOAT = 4;

    private ArgumentCost() {
    }

    /**
     * Stands for a String of length 1 in argument types, so that a cached resolution can tell it
     * from other strings: only a 1-char string converts to char (Py4J takes the first char of any
     * string, which turns {@code String.valueOf("ab")} into "a").
     */
    static final class CharString {
        private CharString() {
        }
    }

    /** The class overload resolution sees for an argument; null for null. */
    static Class<?> typeOf(Object arg) {
        if (arg == null) {
            return null;
        }
        Class<?> c = arg.getClass();
        return c == String.class && ((String) arg).length() == 1 ? CharString.class : c;
    }

    /** Py4J's cost; {@code arg == null} is a null argument. */
    static long py4j(Class<?> param, Class<?> arg) {
        if (arg == CharString.class) {
            if (unbox(param) == char.class) {
                return 1;
            }
            arg = String.class;
        }
        if (arg == null) {
            if (param.isPrimitive()) {
                return INVALID;
            }
            return param.isInterface() ? NULL_BASE + 1 : NULL_BASE - STEP * superclassDepth(param);
        }
        if (param.isAssignableFrom(arg)) {
            int d = distance(param, arg);
            return d < 0 ? INVALID : d * STEP; // d < 0: covariant arrays, which Py4J rejects
        }
        if (isPy4jNumeric(param) && isPy4jNumeric(arg)) {
            return numeric(unbox(param), unbox(arg));
        }
        if (unbox(param) == char.class && unbox(arg) == char.class) {
            return 0;
        }
        if (unbox(param) == boolean.class && unbox(arg) == boolean.class) {
            return 0;
        }
        return INVALID;
    }

    /** Py4J's cost where it has one, else Java's widening and array covariance. */
    static long extended(Class<?> param, Class<?> arg) {
        long cost = py4j(param, arg);
        if (cost != INVALID || arg == null) {
            return cost;
        }
        if (arg == CharString.class) {
            arg = String.class;
        }
        int to = rank(unbox(param));
        int from = rank(unbox(arg));
        if (from >= 0 && to > from && (to >= RANK_FLOAT || unbox(arg) == char.class && to >= RANK_INT)) {
            return WIDENING_BASE + to - from;
        }
        if (param.isArray() && param.isAssignableFrom(arg)) {
            Class<?> p = param;
            Class<?> a = arg;
            while (p.isArray() && a.isArray()) {
                p = p.getComponentType();
                a = a.getComponentType();
            }
            return WIDENING_BASE + STEP * Math.max(0, distance(p, a));
        }
        return INVALID;
    }

    /** Does an argument of class {@code arg} need {@link #convert} to be passed as {@code param}? */
    static boolean needsConversion(Class<?> param, Class<?> arg) {
        return arg != null && !box(param).isAssignableFrom(arg == CharString.class ? String.class : arg);
    }

    /**
     * Converts {@code v} for a parameter of type {@code param}, after a cost said it fits. Narrowing
     * is checked: a value that does not fit the target type is a BAD_ARGUMENT, never truncated.
     */
    static Object convert(Object v, Class<?> param) {
        Class<?> to = box(param);
        if (v == null || to.isInstance(v)) {
            return v;
        }
        if (to == Character.class && v instanceof String) {
            return ((String) v).charAt(0); // a CharString: resolution admits no other string for char
        }
        Object n = v instanceof Character ? Integer.valueOf((Character) v) : v;
        if (n instanceof Number) {
            Number num = (Number) n;
            if (to == Double.class) {
                return num.doubleValue();
            } else if (to == Float.class) {
                return num.floatValue();
            } else if (to == Long.class) {
                return num.longValue();
            } else if (to == Integer.class) {
                return (int) checkRange(num, Integer.MIN_VALUE, Integer.MAX_VALUE, "int");
            } else if (to == Short.class) {
                return (short) checkRange(num, Short.MIN_VALUE, Short.MAX_VALUE, "short");
            } else if (to == Byte.class) {
                return (byte) checkRange(num, Byte.MIN_VALUE, Byte.MAX_VALUE, "byte");
            }
        }
        throw new GatunException(ErrorCode.BAD_ARGUMENT,
                "cannot convert " + v.getClass().getName() + " to " + param.getTypeName());
    }

    /** Converts {@code v} to {@code type} if any rule allows it (SET_FIELD, ARRAY set, callback results). */
    static Object coerce(Object v, Class<?> type) {
        Class<?> arg = typeOf(v);
        if (extended(type, arg) == INVALID) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot convert "
                    + (v == null ? "null" : v.getClass().getName()) + " to " + type.getTypeName());
        }
        return needsConversion(type, arg) ? convert(v, type) : v;
    }

    private static long checkRange(Number n, long min, long max, String type) {
        long v = n.longValue();
        if (v < min || v > max) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "value " + n + " does not fit in a " + type);
        }
        return v;
    }

    private static long numeric(Class<?> param, Class<?> arg) {
        boolean floating = arg == float.class || arg == double.class;
        if (param == long.class && !floating) {
            return rank(long.class) - rank(arg);
        }
        if (param == int.class && (arg == int.class || arg == short.class || arg == byte.class)) {
            return rank(int.class) - rank(arg);
        }
        if (param == short.class) {
            return arg == short.class || arg == byte.class ? rank(short.class) - rank(arg) : arg == int.class ? 1 : INVALID;
        }
        if (param == byte.class) {
            return arg == byte.class ? 0 : arg == int.class ? 2 : INVALID;
        }
        if (param == double.class) {
            return arg == double.class ? 0 : arg == float.class ? 1 : INVALID;
        }
        if (param == float.class) {
            return arg == float.class ? 0 : arg == double.class ? 1 : INVALID;
        }
        return INVALID;
    }

    /** Position on Java's widening ladder: byte < short, char < int < long < float < double. */
    private static int rank(Class<?> c) {
        if (c == byte.class) {
            return 0;
        } else if (c == short.class || c == char.class) {
            return 1;
        } else if (c == int.class) {
            return 2;
        } else if (c == long.class) {
            return 3;
        } else if (c == float.class) {
            return 4;
        } else if (c == double.class) {
            return 5;
        }
        return -1;
    }

    /** Py4J's "numeric": the six number primitives and their boxes; not char, not boolean. */
    private static boolean isPy4jNumeric(Class<?> c) {
        Class<?> p = unbox(c);
        return p.isPrimitive() && p != char.class && p != boolean.class && p != void.class;
    }

    /** Shortest path from {@code from} up to {@code to} through superclasses and interfaces, or -1. */
    static int distance(Class<?> to, Class<?> from) {
        if (to == from) {
            return 0;
        }
        ArrayDeque<Class<?>> level = new ArrayDeque<>();
        Set<Class<?>> seen = new HashSet<>();
        level.add(from);
        seen.add(from);
        for (int d = 1; !level.isEmpty(); d++) {
            for (int n = level.size(); n > 0; n--) {
                Class<?> c = level.poll();
                Class<?> sup = c.getSuperclass();
                if (sup != null && seen.add(sup)) {
                    if (sup == to) {
                        return d;
                    }
                    level.add(sup);
                }
                for (Class<?> i : c.getInterfaces()) {
                    if (seen.add(i)) {
                        if (i == to) {
                            return d;
                        }
                        level.add(i);
                    }
                }
            }
        }
        return -1;
    }

    private static int superclassDepth(Class<?> c) {
        int d = 0;
        for (Class<?> s = c.getSuperclass(); s != null; s = s.getSuperclass()) {
            d++;
        }
        return d;
    }

    static Class<?> unbox(Class<?> c) {
        if (c.isPrimitive()) {
            return c;
        } else if (c == Integer.class) {
            return int.class;
        } else if (c == Long.class) {
            return long.class;
        } else if (c == Double.class) {
            return double.class;
        } else if (c == Boolean.class) {
            return boolean.class;
        } else if (c == Character.class) {
            return char.class;
        } else if (c == Short.class) {
            return short.class;
        } else if (c == Byte.class) {
            return byte.class;
        } else if (c == Float.class) {
            return float.class;
        }
        return c;
    }

    static Class<?> box(Class<?> c) {
        if (!c.isPrimitive()) {
            return c;
        } else if (c == int.class) {
            return Integer.class;
        } else if (c == long.class) {
            return Long.class;
        } else if (c == double.class) {
            return Double.class;
        } else if (c == boolean.class) {
            return Boolean.class;
        } else if (c == char.class) {
            return Character.class;
        } else if (c == short.class) {
            return Short.class;
        } else if (c == byte.class) {
            return Byte.class;
        } else if (c == float.class) {
            return Float.class;
        }
        return Void.class;
    }
}
