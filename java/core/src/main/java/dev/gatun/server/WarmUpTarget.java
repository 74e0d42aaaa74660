package dev.gatun.server;

import java.util.List;
import java.util.Map;

/**
 * What {@link WarmUp} calls: one harmless class with the shapes of real traffic (static and instance
 * calls, overloads, varargs, strings, bytes, collections, new objects, fields, a callback). It reads
 * and writes nothing outside its own instances, which is why every allowlist admits it.
 */
public final class WarmUpTarget {
    /** Implemented by the warm-up's callback. */
    public interface Step {
        int apply(int x);
    }

    public int count;
    private final String name;

    public WarmUpTarget() {
        this("");
    }

    public WarmUpTarget(String name) {
        this.name = name;
    }

    public static int add(int a, int b) {
        return a + b;
    }

    public static long add(long a, long b) {
        return a + b;
    }

    public static double add(double a, double b) {
        return a + b;
    }

    public static int count(String... names) {
        return names.length;
    }

    public static WarmUpTarget named(String name) {
        return new WarmUpTarget(name);
    }

    public String name() {
        return name;
    }

    public WarmUpTarget child(String suffix) {
        return new WarmUpTarget(name + suffix);
    }

    public int bump() {
        return ++count;
    }

    public boolean same(WarmUpTarget other) {
        return other != null && name.equals(other.name);
    }

    public int size(List<?> list) {
        return list.size();
    }

    public int size(Map<?, ?> map) {
        return map.size();
    }

    public int length(byte[] bytes) {
        return bytes.length;
    }

    public int twice(Step step, int x) {
        return step.apply(step.apply(x));
    }
}
