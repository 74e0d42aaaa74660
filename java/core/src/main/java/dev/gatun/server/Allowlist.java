package dev.gatun.server;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which classes and members clients may reach (protocol §8, spec/security.md). Entries: {@code a.b.C}
 * (the class and its nested classes), {@code a.b.*} (the classes of package a.b), {@code a.b.**}
 * (a.b and every package below it), {@code **} (everything); a leading {@code -} makes an entry a
 * denial, and denials win. The word {@code default} stands for {@link #DEFAULT_ENTRIES}. Arrays are
 * decided by their component type; primitive types are always allowed.
 *
 * <p>Member entries work per method where a class is both needed and dangerous: {@code a.b.C#m}
 * admits the public methods and fields named m of a class that is otherwise denied (its other
 * members, constructors, arrays and implementing it stay refused); {@code -a.b.C#m} refuses m of an
 * allowed class, and of every class below it, since an override or a Scala forwarder runs the same
 * code. A member admitted only through a member entry may carry a {@linkplain #gate gate} that
 * checks its arguments: {@code Class.forName} only of a class the list allows,
 * {@code System.setProperty} only of a {@code spark.*} key.
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
            "-?(\\*\\*|\\*|[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*(\\.\\*\\*|\\.\\*)?)"
                    + "(#[\\p{L}_$][\\p{L}\\p{N}_$]*)?");

    /** A member entry: the class part (an ordinary class entry) and the member's name. */
    private record MemberEntry(String classEntry, String member) {
    }

    private final List<String> entries;
    private final List<String> allows = new ArrayList<>();
    private final List<String> denies = new ArrayList<>();
    private final List<MemberEntry> memberAllows = new ArrayList<>();
    private final List<MemberEntry> memberDenies = new ArrayList<>();
    private final ClassValue<Boolean> decisions = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            return decide(c);
        }
    };
    /** Per class: the names its member-allow entries admit. */
    private final ClassValue<Set<String>> admittedMembers = new ClassValue<>() {
        @Override
        protected Set<String> computeValue(Class<?> c) {
            Set<String> out = new HashSet<>();
            for (MemberEntry m : memberAllows) {
                if (matches(m.classEntry, c.getName())) {
                    out.add(m.member);
                }
            }
            return out;
        }
    };
    /** Per class: the names a member-deny entry refuses on it or on any of its supertypes. */
    private final ClassValue<Map<String, String>> refusedMembers = new ClassValue<>() {
        @Override
        protected Map<String, String> computeValue(Class<?> c) {
            Map<String, String> out = new HashMap<>();
            if (memberDenies.isEmpty()) {
                return out;
            }
            ArrayDeque<Class<?>> queue = new ArrayDeque<>(List.of(c));
            Set<Class<?>> seen = new HashSet<>(queue);
            while (!queue.isEmpty()) {
                Class<?> k = queue.poll();
                for (MemberEntry m : memberDenies) {
                    if (matches(m.classEntry, k.getName())) {
                        out.putIfAbsent(m.member, "-" + m.classEntry + "#" + m.member);
                    }
                }
                if (k.getSuperclass() != null && seen.add(k.getSuperclass())) {
                    queue.add(k.getSuperclass());
                }
                for (Class<?> i : k.getInterfaces()) {
                    if (seen.add(i)) {
                        queue.add(i);
                    }
                }
            }
            return out;
        }
    };

    private Allowlist(List<String> entries) {
        this.entries = List.copyOf(entries);
        for (String e : entries) {
            boolean deny = e.startsWith("-");
            String body = deny ? e.substring(1) : e;
            int hash = body.indexOf('#');
            if (hash >= 0) {
                MemberEntry m = new MemberEntry(body.substring(0, hash), body.substring(hash + 1));
                (deny ? memberDenies : memberAllows).add(m);
            } else {
                (deny ? denies : allows).add(body);
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
                        + "': expected a.b.C, a.b.*, a.b.**, ** or 'default', optionally prefixed by '-',"
                        + " or a member entry a.b.C#name");
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
        return parse(spec, Map.of());
    }

    /**
     * {@link #parse(String)}, where an entry that is one of {@code words}, written among the
     * comma-separated entries or on a line of an {@code @path} file, stands for that word's entries
     * (the Spark driver's {@code spark-default}).
     */
    public static Allowlist parse(String spec, Map<String, List<String>> words) {
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String e = part.strip();
            if (e.startsWith("@")) {
                for (String line : readFile(Path.of(e.substring(1)))) {
                    out.addAll(words.getOrDefault(line, List.of(line)));
                }
            } else if (!e.isEmpty()) {
                out.addAll(words.getOrDefault(e, List.of(e)));
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

    /**
     * May a client use member {@code name} (a method or field; constructors are {@code <init>})
     * declared by {@code declaring}? A member entry decides before the class does.
     */
    public boolean allowsMember(Class<?> declaring, String name) {
        if (refusedMembers.get(declaring).containsKey(name)) {
            return false;
        }
        return allows(declaring) || admittedMembers.get(declaring).contains(name)
                || declaring == Class.class && DESCRIPTIVE_CLASS_MEMBERS.contains(name);
    }

    /**
     * Does a member-deny entry refuse {@code name} on {@code c} or a supertype? Checked against the
     * class of the object or the class named too, not only the declaring class: a call through an
     * allowed supertype's declaration would run the denied override.
     */
    boolean refusesMember(Class<?> c, String name) {
        return refusedMembers.get(c).containsKey(name);
    }

    /** Why {@link #allowsMember} refuses: the sentence that goes into the NOT_ALLOWED error. */
    String memberRefusal(Class<?> declaring, String name) {
        String entry = refusedMembers.get(declaring).get(name);
        String member = declaring.getName() + "." + name;
        if (entry != null) {
            return member + " is denied by the allowlist entry " + entry;
        }
        if (!admittedMembers.get(declaring).isEmpty()) {
            return member + " is not allowed: of class " + declaring.getName() + " the allowlist admits only "
                    + String.join(", ", new TreeSet<>(admittedMembers.get(declaring)));
        }
        return member + " is not allowed: class " + declaring.getName() + " is not allowed by the allowlist";
    }

    /**
     * A check of the arguments of {@code m}, or null. Gates apply where a member entry admits a
     * method of a class the list denies; a list that allows the whole class (e.g. {@code **})
     * trusts its callers with it.
     */
    Gate gate(Method m) {
        Class<?> declaring = m.getDeclaringClass();
        if (allows(declaring)) {
            return null;
        }
        if (declaring == Class.class && m.getName().equals("forName")) {
            // forName(String), forName(String, boolean, ClassLoader), forName(Module, String)
            Class<?>[] p = m.getParameterTypes();
            int at = p[0] == String.class ? 0 : 1;
            return args -> {
                String name = (String) args[at];
                if (name != null && !allowsClassName(name)) {
                    throw new GatunException(ErrorCode.NOT_ALLOWED, "Class.forName(\"" + name + "\") is not allowed: class "
                            + name + " is not allowed by the allowlist (forName loads only classes the list allows)");
                }
            };
        }
        if (declaring == System.class && (m.getName().equals("setProperty") || m.getName().equals("clearProperty"))) {
            return args -> {
                String key = (String) args[0];
                if (key == null || !key.startsWith(SETTABLE_PROPERTY_PREFIX)) {
                    throw new GatunException(ErrorCode.NOT_ALLOWED, "System." + m.getName() + "(\"" + key
                            + "\") is not allowed: only keys starting with '" + SETTABLE_PROPERTY_PREFIX
                            + "' may be set (others change how the JVM loads classes, resolves names or checks security)");
                }
            };
        }
        return null;
    }

    /** Keys a client may set with {@code System.setProperty} when only the member entry admits it. */
    static final String SETTABLE_PROPERTY_PREFIX = "spark.";

    /** A check of a call's arguments before the call; throws NOT_ALLOWED. */
    interface Gate {
        void check(Object[] args);
    }

    /**
     * Decision for a name as {@code Class.forName} takes it: a binary name, or an array descriptor
     * such as {@code [Ljava.lang.String;}, decided by its component type.
     */
    boolean allowsClassName(String name) {
        String n = name;
        while (n.startsWith("[")) {
            n = n.substring(1);
        }
        if (n.length() != name.length()) {
            if (n.length() == 1) {
                return "ZBCSIJFD".contains(n);
            }
            if (!n.startsWith("L") || !n.endsWith(";")) {
                return false;
            }
            n = n.substring(1, n.length() - 1);
        }
        return allows(n);
    }

    /**
     * The server's own classes every list admits, because they touch nothing beyond the caller:
     * WarmUpTarget only its own instances (the warm-up runs under any list), ExecutionTime only the
     * calling session's counters.
     */
    private static final Set<Class<?>> SERVER_OWN = Set.of(WarmUpTarget.class, WarmUpTarget.Step.class,
            ExecutionTime.class);

    /** For NEW_ARRAY, nested classes and callback interfaces: the whole class must be allowed. */
    void check(Class<?> c) {
        if (!allows(c)) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "class " + c.getName() + " is not allowed by the allowlist");
        }
    }

    /**
     * For RESOLVE_CLASS and static targets: a class that a member entry names is reachable, for
     * that member only ({@link #allowsMember} decides each use).
     */
    void checkReachable(Class<?> c) {
        if (!allows(c) && admittedMembers.get(c).isEmpty()) {
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
