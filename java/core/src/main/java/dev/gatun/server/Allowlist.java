package dev.gatun.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which classes clients may reach (protocol §8). Entries: {@code a.b.C} (the class and its nested
 * classes), {@code a.b.*} (the classes of package a.b), {@code a.b.**} (a.b and every package
 * below it), {@code **} (everything); a leading {@code -} makes an entry a denial, and denials win.
 * The word {@code default} stands for {@link #DEFAULT_ENTRIES}. Arrays are decided by their
 * component type; primitive types are always allowed.
 */
public final class Allowlist {
    /**
     * The standalone default. The idea: a client gets values, text, math, time and the collection
     * and concurrency toolkits (CompletableFuture and executors are needed for callbacks from other
     * threads), and nothing that reaches the process, the file system, the network, class loading
     * or reflection. The denials also hold when a user adds broader entries next to {@code default}.
     */
    public static final List<String> DEFAULT_ENTRIES = List.of(
            // java.lang: the value classes and core interfaces, one by one.
            "java.lang.Object", "java.lang.String", "java.lang.StringBuilder", "java.lang.StringBuffer",
            "java.lang.CharSequence", "java.lang.Comparable", "java.lang.Iterable", "java.lang.Runnable",
            "java.lang.AutoCloseable", "java.lang.Appendable", "java.lang.Cloneable",
            "java.lang.Math", "java.lang.StrictMath", "java.lang.Number", "java.lang.Boolean", "java.lang.Byte",
            "java.lang.Short", "java.lang.Character", "java.lang.Integer", "java.lang.Long", "java.lang.Float",
            "java.lang.Double", "java.lang.Void", "java.lang.Enum", "java.lang.Record",
            // Per-thread storage (not threads themselves): pinned-thread state is observable.
            "java.lang.ThreadLocal", "java.lang.InheritableThreadLocal",
            // The common exceptions, so that a THROW handle can be inspected (getMessage, getCause, ...).
            "java.lang.Throwable", "java.lang.Exception", "java.lang.RuntimeException", "java.lang.Error",
            "java.lang.StackTraceElement", "java.lang.ArithmeticException", "java.lang.ArrayIndexOutOfBoundsException",
            "java.lang.ArrayStoreException", "java.lang.ClassCastException", "java.lang.CloneNotSupportedException",
            "java.lang.IllegalArgumentException", "java.lang.IllegalStateException",
            "java.lang.IllegalMonitorStateException", "java.lang.IndexOutOfBoundsException",
            "java.lang.StringIndexOutOfBoundsException", "java.lang.InterruptedException",
            "java.lang.NegativeArraySizeException", "java.lang.NullPointerException",
            "java.lang.NumberFormatException", "java.lang.UnsupportedOperationException",
            "java.lang.SecurityException", "java.lang.ReflectiveOperationException",
            "java.lang.ClassNotFoundException", "java.lang.NoSuchMethodException", "java.lang.NoSuchFieldException",
            "java.lang.AssertionError", "java.lang.StackOverflowError", "java.lang.OutOfMemoryError",
            // java.util itself (not jar, zip, logging, prefs, spi), its functional, stream and regex
            // packages, and all of java.util.concurrent (futures, executors, locks, atomics).
            "java.util.*", "java.util.function.*", "java.util.stream.*", "java.util.regex.*", "java.util.concurrent.**",
            "java.math.*", "java.time.**", "java.text.*",
            // The Arrow data plane's entry points (gatun-arrow.jar; spec/arrow.md §6).
            "dev.gatun.arrow.*",
            // java.util classes that load classes by name or open files by name.
            "-java.util.ServiceLoader", "-java.util.ResourceBundle", "-java.util.Formatter",
            // Process, class-loading, reflection, threads and System: refused even if java.lang.* is added.
            "-java.lang.Runtime", "-java.lang.ProcessBuilder", "-java.lang.Process", "-java.lang.ProcessHandle",
            "-java.lang.System", "-java.lang.ClassLoader", "-java.lang.Class", "-java.lang.Module",
            "-java.lang.ModuleLayer", "-java.lang.Thread", "-java.lang.ThreadGroup", "-java.lang.Compiler",
            "-java.lang.reflect.**", "-java.lang.invoke.**", "-java.io.**", "-java.nio.**", "-java.net.**",
            "-java.security.**", "-javax.script.**", "-sun.**", "-jdk.**", "-com.sun.**");

    /**
     * Members of java.lang.Class that only describe a class. They stay callable on a Class object
     * (e.g. {@code o.getClass().getName()}) while the class itself is denied; nothing here loads,
     * instantiates or reflects.
     */
    private static final Set<String> DESCRIPTIVE_CLASS_MEMBERS = Set.of(
            "getName", "getSimpleName", "getCanonicalName", "getTypeName", "getPackageName", "isInstance",
            "isAssignableFrom", "isArray", "isPrimitive", "isInterface", "isEnum", "isRecord", "toString",
            "hashCode", "equals");

    private static final Pattern ENTRY = Pattern.compile(
            "-?(\\*\\*|\\*|[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*(\\.\\*\\*|\\.\\*)?)");

    private final List<String> entries;
    private final List<String> allows = new ArrayList<>();
    private final List<String> denies = new ArrayList<>();
    private final ClassValue<Boolean> decisions = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            return decide(c);
        }
    };

    private Allowlist(List<String> entries) {
        this.entries = List.copyOf(entries);
        for (String e : entries) {
            if (e.startsWith("-")) {
                denies.add(e.substring(1));
            } else {
                allows.add(e);
            }
        }
    }

    /** The standalone default, {@link #DEFAULT_ENTRIES}. */
    public static Allowlist standard() {
        return new Allowlist(DEFAULT_ENTRIES);
    }

    /** Everything allowed: for embedding where the client is as trusted as the JVM (e.g. PySpark). */
    public static Allowlist all() {
        return new Allowlist(List.of("**"));
    }

    /** Entries as written; {@code default} is expanded. */
    public static Allowlist of(Collection<String> entries) {
        List<String> out = new ArrayList<>();
        for (String raw : entries) {
            String e = raw.strip();
            if (e.equals("default")) {
                out.addAll(DEFAULT_ENTRIES);
            } else if (!ENTRY.matcher(e).matches()) {
                throw new IllegalArgumentException("bad allowlist entry '" + raw
                        + "': expected a.b.C, a.b.*, a.b.**, ** or 'default', optionally prefixed by '-'");
            } else {
                out.add(e);
            }
        }
        return new Allowlist(out);
    }

    /**
     * Parses the command-line form: comma-separated entries, where {@code @path} reads a file with
     * one entry per line ({@code #} starts a comment).
     */
    public static Allowlist parse(String spec) {
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String e = part.strip();
            if (e.startsWith("@")) {
                out.addAll(readFile(Path.of(e.substring(1))));
            } else if (!e.isEmpty()) {
                out.add(e);
            }
        }
        return of(out);
    }

    private static List<String> readFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read allowlist file " + file + ": " + e, e);
        }
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            int hash = line.indexOf('#');
            String e = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (!e.isEmpty()) {
                out.add(e);
            }
        }
        return out;
    }

    public List<String> entries() {
        return entries;
    }

    public boolean allows(Class<?> c) {
        return decisions.get(c);
    }

    /** May a client call member {@code name} declared by {@code declaring}? */
    boolean allowsMember(Class<?> declaring, String name) {
        return allows(declaring) || declaring == Class.class && DESCRIPTIVE_CLASS_MEMBERS.contains(name);
    }

    /**
     * The server's own classes every list admits, because they touch nothing beyond the caller:
     * WarmUpTarget only its own instances (the warm-up runs under any list), ExecutionTime only the
     * calling session's counters.
     */
    private static final Set<Class<?>> SERVER_OWN = Set.of(WarmUpTarget.class, WarmUpTarget.Step.class,
            ExecutionTime.class);

    void check(Class<?> c) {
        if (!allows(c)) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "class " + c.getName() + " is not allowed by the allowlist");
        }
    }

    private boolean decide(Class<?> c) {
        while (c.isArray()) {
            c = c.getComponentType();
        }
        return c.isPrimitive() || SERVER_OWN.contains(c) || allows(c.getName());
    }

    /** Decision for a binary class name such as {@code a.b.C$D}. */
    public boolean allows(String className) {
        for (String d : denies) {
            if (matches(d, className)) {
                return false;
            }
        }
        for (String a : allows) {
            if (matches(a, className)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(String entry, String name) {
        if (entry.equals("**")) {
            return true;
        }
        int dot = name.lastIndexOf('.');
        String pkg = dot < 0 ? "" : name.substring(0, dot);
        if (entry.equals("*")) {
            return pkg.isEmpty();
        }
        if (entry.endsWith(".**")) {
            String p = entry.substring(0, entry.length() - 3);
            return pkg.equals(p) || pkg.startsWith(p + ".");
        }
        if (entry.endsWith(".*")) {
            return pkg.equals(entry.substring(0, entry.length() - 2));
        }
        return name.equals(entry) || name.startsWith(entry + "$");
    }

    @Override
    public String toString() {
        return String.join(",", entries);
    }
}
