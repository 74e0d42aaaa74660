package dev.gatun.server;

import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds and calls the method, constructor or field a request names, choosing among overloads by the
 * runtime classes of the arguments.
 *
 * <p>Overloads are tried in three rounds; the first round with a match decides, the lowest total
 * {@link ArgumentCost} wins inside it: (1) same arity, Py4J's rules only, so Gatun picks what Py4J
 * picks; (2) same arity, with Java's widening and array covariance, where Py4J finds nothing;
 * (3) varargs methods with the trailing arguments packed into the array (Py4J has no varargs).
 * Ties, which Py4J leaves to the order of {@code getMethods()}, go to the more specific signature.
 *
 * <p>The chosen method must be reachable: its declaring class public and exported and allowed by
 * the allowlist. When it is not (say {@code ArrayList$Itr.hasNext}, or {@code Thread.toString}), the
 * same method is looked up in the public, allowed supertypes of the object's class; virtual dispatch
 * makes that call the same code.
 *
 * <p>Resolutions are cached by (class, name, argument classes); a lookup allocates nothing.
 */
final class Invoker {
    private static final int MAX_CACHE = 20_000;
    private static final String CONSTRUCTOR = "<init>";

    private final Allowlist allowlist;
    private final ConcurrentHashMap<CallKey, Resolved> cache = new ConcurrentHashMap<>();
    private final ThreadLocal<CallKey> probes = ThreadLocal.withInitial(CallKey::new);
    private final ClassValue<Map<String, Field>> fields = new ClassValue<>() {
        @Override
        protected Map<String, Field> computeValue(Class<?> type) {
            return new ConcurrentHashMap<>();
        }
    };
    private static final ClassValue<Boolean> PUBLIC_API = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
                if (!Modifier.isPublic(k.getModifiers())) {
                    return false;
                }
            }
            return c.getModule().isExported(c.getPackageName());
        }
    };

    Invoker(Allowlist allowlist) {
        this.allowlist = allowlist;
    }

    Allowlist allowlist() {
        return allowlist;
    }

    /**
     * Calls method {@code name}: static when {@code target} is null (then {@code type} is the class
     * named by the request), else on {@code target} (and {@code type} is its class).
     */
    Object call(Class<?> type, Object target, String name, Object[] args) throws InvocationTargetException {
        Resolved r = resolve(type, name, target == null ? CallKey.STATIC : CallKey.INSTANCE, args);
        if (r.gate != null) {
            r.gate.check(args);
        }
        try {
            return r.method.invoke(target, r.prepare(args));
        } catch (IllegalAccessException e) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "cannot access " + r.method + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot pass " + describe(args) + " to " + r.method
                    + ": " + e.getMessage());
        }
    }

    Object construct(Class<?> type, Object[] args) throws InvocationTargetException {
        Resolved r = resolve(type, CONSTRUCTOR, CallKey.CONSTRUCTOR, args);
        try {
            return r.constructor.newInstance(r.prepare(args));
        } catch (InstantiationException e) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot instantiate abstract " + type.getName());
        } catch (IllegalAccessException e) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "cannot access " + r.constructor + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot pass " + describe(args) + " to "
                    + r.constructor + ": " + e.getMessage());
        }
    }

    /** A public field of {@code type} (or a supertype) that the client may use. */
    Field field(Class<?> type, String name, boolean isStatic) {
        Field f = fields.get(type).get(name);
        if (f == null) {
            try {
                f = type.getField(name);
            } catch (NoSuchFieldException e) {
                throw new GatunException(ErrorCode.NO_SUCH_MEMBER, "no public field '" + name + "' in " + type.getName());
            }
            Class<?> declaring = f.getDeclaringClass();
            if (allowlist.refusesMember(type, name)) {
                throw new GatunException(ErrorCode.NOT_ALLOWED, "field " + allowlist.memberRefusal(type, name));
            }
            if (!allowlist.allowsMember(declaring, name)) {
                throw new GatunException(ErrorCode.NOT_ALLOWED, "field " + allowlist.memberRefusal(declaring, name));
            }
            if (!PUBLIC_API.get(declaring) && !f.trySetAccessible()) {
                throw new GatunException(ErrorCode.NOT_ALLOWED, "field " + f + " is not accessible");
            }
            fields.get(type).put(name, f);
        }
        if (isStatic && !Modifier.isStatic(f.getModifiers())) {
            throw new GatunException(ErrorCode.NO_SUCH_MEMBER, "field '" + name + "' of " + type.getName()
                    + " is not static");
        }
        return f;
    }

    boolean hasStaticMethod(Class<?> type, String name) {
        for (Method m : type.getMethods()) {
            if (m.getName().equals(name) && Modifier.isStatic(m.getModifiers())) {
                return true;
            }
        }
        return false;
    }

    private Resolved resolve(Class<?> type, String name, int kind, Object[] args) {
        CallKey probe = probes.get().set(type, name, kind, args);
        Resolved r = cache.get(probe);
        if (r == null) {
            r = resolveUncached(type, name, kind, probe.types(), args);
            if (cache.size() >= MAX_CACHE) {
                cache.clear(); // a crude bound; the working set of a program refills it quickly
            }
            cache.put(probe.copy(), r);
        }
        return r;
    }

    private Resolved resolveUncached(Class<?> type, String name, int kind, Class<?>[] argTypes, Object[] args) {
        // Refused members are refused whatever the arguments, so the error says so rather than
        // "no overload" (reachable() checks the chosen method again).
        if (kind != CallKey.CONSTRUCTOR && allowlist.refusesMember(type, name)) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "method " + allowlist.memberRefusal(type, name));
        }
        List<Executable> candidates = candidates(type, name, kind);
        Choice best = null;
        for (int tier = 1; tier <= 3 && best == null; tier++) {
            for (Executable e : candidates) {
                Choice c = Choice.of(e, argTypes, tier);
                if (c != null && (best == null || c.isBetterThan(best))) {
                    best = c;
                }
            }
        }
        if (best == null) {
            throw new GatunException(ErrorCode.NO_MATCHING_OVERLOAD, "no overload of " + memberName(type, name, kind)
                    + " accepts (" + describe(args) + "); candidates: " + signatures(candidates));
        }
        if (best.executable instanceof Constructor) {
            Constructor<?> c = (Constructor<?>) best.executable;
            // A class reachable only through a member entry is not for constructing.
            if (!allowlist.allowsMember(type, CONSTRUCTOR)) {
                throw new GatunException(ErrorCode.NOT_ALLOWED, "constructor " + allowlist.memberRefusal(type, CONSTRUCTOR));
            }
            if (!PUBLIC_API.get(type) && !c.trySetAccessible()) {
                throw new GatunException(ErrorCode.NOT_ALLOWED, "constructor " + c + " is not accessible");
            }
            return new Resolved(null, c, best, null);
        }
        Method m = reachable((Method) best.executable, type);
        return new Resolved(m, null, best, allowlist.gate(m));
    }

    private List<Executable> candidates(Class<?> type, String name, int kind) {
        List<Executable> out = new ArrayList<>();
        if (kind == CallKey.CONSTRUCTOR) {
            out.addAll(Arrays.asList(type.getConstructors()));
            if (out.isEmpty()) {
                throw new GatunException(ErrorCode.NO_SUCH_MEMBER, type.getName() + " has no public constructor");
            }
            return out;
        }
        // One method per parameter list: getMethods() can list an inherited interface method next
        // to the class's implementation, or a covariant-return bridge next to the real method; the
        // real, most derived declaration stands for all. Bridges stay candidates otherwise (as in
        // Py4J): they are how a public class exposes public methods of a package-private superclass.
        Map<List<Class<?>>, Method> bySignature = new LinkedHashMap<>();
        boolean instanceOnly = false;
        for (Method m : type.getMethods()) {
            if (!m.getName().equals(name)) {
                continue;
            }
            if (kind == CallKey.STATIC && !Modifier.isStatic(m.getModifiers())) {
                instanceOnly = true;
                continue;
            }
            bySignature.merge(Arrays.asList(m.getParameterTypes()), m, Invoker::preferred);
        }
        if (bySignature.isEmpty()) {
            throw new GatunException(ErrorCode.NO_SUCH_MEMBER, instanceOnly
                    ? "'" + name + "' of " + type.getName() + " is an instance method; it needs an object, not the class"
                    : "no public method '" + name + "' in " + type.getName());
        }
        out.addAll(bySignature.values());
        return out;
    }

    private static Method preferred(Method a, Method b) {
        if (a.isBridge() != b.isBridge()) {
            return a.isBridge() ? b : a;
        }
        return a.getDeclaringClass().isAssignableFrom(b.getDeclaringClass()) ? b : a;
    }

    /** The chosen method itself, or the same method declared by a public, allowed supertype. */
    private Method reachable(Method m, Class<?> type) {
        Class<?> declaring = m.getDeclaringClass();
        String name = m.getName();
        if (allowlist.refusesMember(type, name)) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "method " + allowlist.memberRefusal(type, name));
        }
        if (PUBLIC_API.get(declaring) && allowlist.allowsMember(declaring, name)) {
            return m;
        }
        if (!Modifier.isStatic(m.getModifiers())) {
            ArrayDeque<Class<?>> queue = new ArrayDeque<>(List.of(type));
            Set<Class<?>> seen = new HashSet<>(queue);
            while (!queue.isEmpty()) {
                Class<?> c = queue.poll();
                if (c != declaring && PUBLIC_API.get(c) && allowlist.allowsMember(c, name)) {
                    try {
                        Method found = c.getDeclaredMethod(name, m.getParameterTypes());
                        if (Modifier.isPublic(found.getModifiers())) {
                            return found;
                        }
                    } catch (NoSuchMethodException e) {
                        // not declared here; keep looking further up
                    }
                }
                if (c.getSuperclass() != null && seen.add(c.getSuperclass())) {
                    queue.add(c.getSuperclass());
                }
                for (Class<?> i : c.getInterfaces()) {
                    if (seen.add(i)) {
                        queue.add(i);
                    }
                }
            }
        }
        if (!allowlist.allowsMember(declaring, name)) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "method " + allowlist.memberRefusal(declaring, name));
        }
        // Code on the class path that is not public: reachable like in Py4J, which makes it accessible.
        if (m.trySetAccessible()) {
            return m;
        }
        throw new GatunException(ErrorCode.NOT_ALLOWED, "method " + m + " is not accessible");
    }

    private static String memberName(Class<?> type, String name, int kind) {
        return kind == CallKey.CONSTRUCTOR ? "constructor " + type.getName() : type.getName() + "." + name;
    }

    private static String signatures(List<Executable> candidates) {
        StringJoiner j = new StringJoiner(", ");
        for (Executable e : candidates) {
            StringJoiner params = new StringJoiner(", ", "(", ")");
            for (Class<?> p : e.getParameterTypes()) {
                params.add(p.getTypeName());
            }
            String name = e instanceof Constructor ? e.getDeclaringClass().getSimpleName() : e.getName();
            j.add(name + params + (e.isVarArgs() ? " [varargs]" : ""));
        }
        return j.toString();
    }

    static String describe(Object[] args) {
        StringJoiner j = new StringJoiner(", ");
        for (Object a : args) {
            j.add(a == null ? "null" : a.getClass().getTypeName());
        }
        return j.toString();
    }

    /** One overload scored against the argument classes in one round. */
    private static final class Choice {
        final Executable executable;
        final int tier;
        final long cost;
        /** Index of the first argument packed into the varargs array, or -1. */
        final int varargsAt;
        final Class<?>[] convertTo;

        private Choice(Executable e, int tier, long cost, int varargsAt, Class<?>[] convertTo) {
            this.executable = e;
            this.tier = tier;
            this.cost = cost;
            this.varargsAt = varargsAt;
            this.convertTo = convertTo;
        }

        static Choice of(Executable e, Class<?>[] args, int tier) {
            Class<?>[] params = e.getParameterTypes();
            int fixed;
            if (tier < 3) {
                if (params.length != args.length) {
                    return null;
                }
                fixed = params.length;
            } else {
                if (!e.isVarArgs() || args.length < params.length - 1) {
                    return null;
                }
                fixed = params.length - 1;
            }
            long total = 0;
            Class<?>[] convertTo = null;
            for (int i = 0; i < args.length; i++) {
                Class<?> p = i < fixed ? params[i] : params[fixed].getComponentType();
                long cost = tier == 1 ? ArgumentCost.py4j(p, args[i]) : ArgumentCost.extended(p, args[i]);
                if (cost == ArgumentCost.INVALID) {
                    return null;
                }
                total += cost;
                if (ArgumentCost.needsConversion(p, args[i])) {
                    if (convertTo == null) {
                        convertTo = new Class<?>[args.length];
                    }
                    convertTo[i] = p;
                }
            }
            return new Choice(e, tier, total, tier == 3 ? fixed : -1, convertTo);
        }

        boolean isBetterThan(Choice other) {
            if (cost != other.cost) {
                return cost < other.cost;
            }
            Class<?>[] mine = executable.getParameterTypes();
            Class<?>[] theirs = other.executable.getParameterTypes();
            if (mine.length == theirs.length) {
                boolean moreSpecific = true;
                for (int i = 0; i < mine.length && moreSpecific; i++) {
                    moreSpecific = theirs[i].isAssignableFrom(mine[i]);
                }
                if (moreSpecific != isMoreSpecific(theirs, mine)) {
                    return moreSpecific;
                }
            }
            return executable.toString().compareTo(other.executable.toString()) < 0;
        }

        private static boolean isMoreSpecific(Class<?>[] a, Class<?>[] b) {
            for (int i = 0; i < a.length; i++) {
                if (!b[i].isAssignableFrom(a[i])) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A cached resolution: what to call and how to turn the decoded arguments into its parameters. */
    private static final class Resolved {
        final Method method;
        final Constructor<?> constructor;
        final int paramCount;
        final int varargsAt;
        final Class<?> varargsComponent;
        final Class<?>[] convertTo;
        final Allowlist.Gate gate;

        Resolved(Method method, Constructor<?> constructor, Choice choice, Allowlist.Gate gate) {
            this.method = method;
            this.gate = gate;
            this.constructor = constructor;
            Class<?>[] params = choice.executable.getParameterTypes();
            this.paramCount = params.length;
            this.varargsAt = choice.varargsAt;
            this.varargsComponent = varargsAt >= 0 ? params[params.length - 1].getComponentType() : null;
            this.convertTo = choice.convertTo;
        }

        /** Converts in place (the array is this call's own) and packs varargs. */
        Object[] prepare(Object[] args) {
            if (convertTo != null) {
                for (int i = 0; i < args.length; i++) {
                    if (convertTo[i] != null) {
                        args[i] = ArgumentCost.convert(args[i], convertTo[i]);
                    }
                }
            }
            if (varargsAt < 0) {
                return args;
            }
            Object[] out = Arrays.copyOf(args, paramCount);
            Object packed = Array.newInstance(varargsComponent, args.length - varargsAt);
            for (int i = varargsAt; i < args.length; i++) {
                Array.set(packed, i - varargsAt, args[i]);
            }
            out[paramCount - 1] = packed;
            return out;
        }
    }

    /** Cache key; one mutable instance per thread probes the cache so that a hit allocates nothing. */
    private static final class CallKey {
        static final int STATIC = 0;
        static final int INSTANCE = 1;
        static final int CONSTRUCTOR = 2;

        private Class<?> type;
        private String name;
        private int kind;
        private Class<?>[] types = new Class<?>[8];
        private int n;
        private int hash;

        CallKey set(Class<?> type, String name, int kind, Object[] args) {
            this.type = type;
            this.name = name;
            this.kind = kind;
            this.n = args.length;
            if (types.length < n) {
                types = new Class<?>[Math.max(n, types.length * 2)];
            }
            int h = (type.hashCode() * 31 + name.hashCode()) * 31 + kind;
            for (int i = 0; i < n; i++) {
                Class<?> c = ArgumentCost.typeOf(args[i]);
                types[i] = c;
                h = h * 31 + (c == null ? 0 : c.hashCode());
            }
            this.hash = h;
            return this;
        }

        Class<?>[] types() {
            return Arrays.copyOf(types, n);
        }

        CallKey copy() {
            CallKey k = new CallKey();
            k.type = type;
            k.name = name;
            k.kind = kind;
            k.types = types();
            k.n = n;
            k.hash = hash;
            return k;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof CallKey)) {
                return false;
            }
            CallKey k = (CallKey) o;
            if (k.hash != hash || k.type != type || k.kind != kind || k.n != n || !k.name.equals(name)) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (k.types[i] != types[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
