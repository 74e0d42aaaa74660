package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatun.server.ClientValues.CallbackRef;
import dev.gatun.server.ClientValues.Ref;
import dev.gatun.server.LocalChannel.Reply;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Escape attempts through the wire protocol against real servers: the standalone default list, a
 * restrictive custom list, and the default with the per-method entries the Spark list uses. Each
 * attempt must come back NOT_ALLOWED with a message that names what was refused; a RETURN or any
 * other error is a bypass (or a refusal nobody can act on). The Spark default list has its own
 * suite, through a real PySpark session (python/tests/test_pyspark_allowlist.py).
 */
class AllowlistBypassTest {
    /** One attempt: what it tries, how, and what the refusal must name. */
    record Attempt(String what, Step step, String named) {
    }

    interface Step {
        Reply run(LocalChannel ch) throws IOException;
    }

    static final String RESTRICTIVE = "java.lang.Object,java.lang.String,java.lang.StringBuilder,java.util.ArrayList,java.util.List";
    static final String PER_METHOD = "default,java.lang.Class#forName,java.lang.System#getProperty,"
            + "java.lang.System#setProperty,-java.util.List#clear";

    static GatunServer standard;
    static GatunServer restrictive;
    static GatunServer perMethod;

    @BeforeAll
    static void start() throws IOException {
        standard = GatunServer.builder().allowlist(Allowlist.standard()).warmUp(0).build().start();
        restrictive = GatunServer.builder().allowlist(Allowlist.parse(RESTRICTIVE)).warmUp(0).build().start();
        perMethod = GatunServer.builder().allowlist(Allowlist.parse(PER_METHOD)).warmUp(0).build().start();
    }

    @AfterAll
    static void stop() {
        for (GatunServer s : new GatunServer[] {standard, restrictive, perMethod}) {
            if (s != null) {
                s.close();
            }
        }
    }

    static Attempt resolve(String className) {
        return new Attempt("resolve " + className, ch -> ch.resolveClass(className), className);
    }

    static Attempt onStringClass(String method, Object... args) {
        return new Attempt("String.class." + method, ch -> {
            Ref cls = ch.call(ch.newObject(ch.cls("java.lang.StringBuilder")).ref(), "getClass").ref();
            return ch.call(cls, method, args);
        }, "java.lang.Class." + method);
    }

    static Attempt callbackAs(String iface) {
        return new Attempt("callback implementing " + iface, ch -> ch.call(ch.newObject(ch.cls("java.util.ArrayList")).ref(),
                "add", new CallbackRef(Math.abs(iface.hashCode()) + 1L, List.of(iface))), iface);
    }

    /** Attempts that every list here must refuse. */
    static List<Attempt> common() {
        List<Attempt> a = new ArrayList<>();
        // Reflection, on Class objects every client can get (getClass is declared by Object).
        a.add(onStringClass("getMethods"));
        a.add(onStringClass("getDeclaredMethods"));
        a.add(onStringClass("getMethod", "valueOf"));
        a.add(onStringClass("getDeclaredField", "value"));
        a.add(onStringClass("getConstructor"));
        a.add(onStringClass("getDeclaredConstructors"));
        a.add(onStringClass("newInstance"));
        a.add(onStringClass("getClassLoader"));
        a.add(onStringClass("getModule"));
        a.add(onStringClass("getSuperclass"));
        a.add(onStringClass("getResourceAsStream", "/java/lang/String.class"));
        a.add(resolve("java.lang.reflect.Method"));
        a.add(resolve("java.lang.reflect.Field"));
        a.add(resolve("java.lang.reflect.AccessibleObject"));
        a.add(resolve("java.lang.reflect.Array"));
        // MethodHandles and the lambda machinery.
        a.add(resolve("java.lang.invoke.MethodHandles"));
        a.add(new Attempt("resolve MethodHandles.Lookup", ch -> ch.resolveClass("java.lang.invoke.MethodHandles.Lookup"),
                "java.lang.invoke.MethodHandles$Lookup"));
        a.add(resolve("java.lang.invoke.LambdaMetafactory"));
        // Proxies.
        a.add(resolve("java.lang.reflect.Proxy"));
        a.add(callbackAs("java.lang.reflect.InvocationHandler"));
        // Class loaders and loading by name.
        a.add(resolve("java.lang.ClassLoader"));
        a.add(resolve("java.net.URLClassLoader"));
        a.add(resolve("java.security.SecureClassLoader"));
        a.add(resolve("java.util.ServiceLoader"));
        a.add(resolve("java.util.ResourceBundle"));
        a.add(resolve("java.lang.Thread"));
        a.add(resolve("java.lang.Module"));
        a.add(resolve("java.lang.ModuleLayer"));
        a.add(resolve("java.lang.StackWalker"));
        a.add(resolve("java.lang.instrument.Instrumentation"));
        // Script engines, deserialization, JNDI and JMX.
        a.add(resolve("javax.script.ScriptEngineManager"));
        a.add(resolve("java.io.ObjectInputStream"));
        a.add(resolve("java.beans.XMLDecoder"));
        a.add(resolve("javax.naming.InitialContext"));
        a.add(resolve("java.rmi.registry.LocateRegistry"));
        a.add(resolve("java.lang.management.ManagementFactory"));
        a.add(resolve("javax.management.remote.JMXConnectorFactory"));
        // Processes and the JVM itself.
        a.add(resolve("java.lang.Runtime"));
        a.add(resolve("java.lang.ProcessBuilder"));
        a.add(resolve("java.lang.Process"));
        a.add(resolve("java.lang.ProcessHandle"));
        a.add(new Attempt("resolve Runtime.Version", ch -> ch.resolveClass("java.lang.Runtime.Version"),
                "java.lang.Runtime$Version"));
        a.add(resolve("sun.misc.Unsafe"));
        a.add(resolve("jdk.internal.misc.Unsafe"));
        a.add(resolve("com.sun.jndi.ldap.LdapCtxFactory"));
        // Files and the network, by name or by wrapper.
        a.add(resolve("java.io.File"));
        a.add(resolve("java.nio.file.Files"));
        a.add(resolve("java.io.FileOutputStream"));
        a.add(resolve("java.util.Formatter"));
        a.add(resolve("java.util.zip.ZipFile"));
        a.add(resolve("java.util.jar.JarFile"));
        a.add(resolve("java.util.logging.FileHandler"));
        a.add(resolve("java.util.prefs.Preferences"));
        a.add(resolve("java.net.Socket"));
        // Callbacks that would stand in for a privileged interface.
        a.add(callbackAs("java.security.PrivilegedAction"));
        a.add(callbackAs("java.lang.Thread$UncaughtExceptionHandler"));
        a.add(callbackAs("java.lang.instrument.ClassFileTransformer"));
        a.add(callbackAs("java.io.ObjectInputFilter"));
        a.add(callbackAs("java.nio.file.FileVisitor"));
        return a;
    }

    /** Attempts through classes the standalone default allows. */
    static List<Attempt> throughAllowedClasses() {
        List<Attempt> a = new ArrayList<>();
        a.add(new Attempt("Class.forName through an allowed object's class", ch -> {
            Ref cls = ch.call(ch.newObject(ch.cls("java.util.ArrayList")).ref(), "getClass").ref();
            return ch.call(cls, "forName", "java.lang.Runtime");
        }, "java.lang.Class.forName"));
        a.add(new Attempt("Class.forName with a loader argument", ch -> {
            Ref cls = ch.call(ch.newObject(ch.cls("java.util.ArrayList")).ref(), "getClass").ref();
            return ch.call(cls, "forName", "java.lang.Runtime", false, null);
        }, "java.lang.Class.forName"));
        a.add(new Attempt("a Thread reached through an allowed executor's factory", ch -> {
            Ref factory = ch.call(ch.cls("java.util.concurrent.Executors"), "defaultThreadFactory").ref();
            Ref thread = ch.call(factory, "newThread", new CallbackRef(501, List.of("java.lang.Runnable"))).ref();
            return ch.call(thread, "getContextClassLoader");
        }, "java.lang.Thread.getContextClassLoader"));
        a.add(new Attempt("the stack of an allowed exception, then its class's loader", ch -> {
            Ref e = ch.newObject(ch.cls("java.lang.IllegalStateException"), "x").ref();
            Ref cls = ch.call(e, "getClass").ref();
            return ch.call(cls, "getClassLoader");
        }, "java.lang.Class.getClassLoader"));
        a.add(new Attempt("the class of an allowed ThreadLocal, then its fields", ch -> {
            Ref tl = ch.newObject(ch.cls("java.lang.ThreadLocal")).ref();
            Ref cls = ch.call(tl, "getClass").ref();
            return ch.call(cls, "getDeclaredFields");
        }, "java.lang.Class.getDeclaredFields"));
        a.add(new Attempt("static field System.out", ch -> ch.getField(ch.cls("java.lang.System"), "out"),
                "java.lang.System"));
        a.add(new Attempt("static field File.separator", ch -> ch.getField(ch.cls("java.io.File"), "separator"),
                "java.io.File"));
        a.add(new Attempt("array of Runtime", ch -> ch.newArray(ch.cls("java.lang.Runtime"), 1), "java.lang.Runtime"));
        return a;
    }

    /** Attempts against per-method entries: the member is admitted, its dangerous uses are not. */
    static List<Attempt> perMethodAttempts() {
        List<Attempt> a = new ArrayList<>();
        a.add(new Attempt("System.exit next to System#getProperty",
                ch -> ch.call(ch.cls("java.lang.System"), "exit", 3), "java.lang.System.exit"));
        a.add(new Attempt("System.getenv", ch -> ch.call(ch.cls("java.lang.System"), "getenv", "PATH"),
                "java.lang.System.getenv"));
        a.add(new Attempt("System.load", ch -> ch.call(ch.cls("java.lang.System"), "load", "/tmp/x.so"),
                "java.lang.System.load"));
        a.add(new Attempt("System.setProperty of a JVM key",
                ch -> ch.call(ch.cls("java.lang.System"), "setProperty", "java.security.manager", "allow"),
                "java.security.manager"));
        a.add(new Attempt("System.setProperty of the JNDI codebase key", ch -> ch.call(ch.cls("java.lang.System"),
                "setProperty", "com.sun.jndi.ldap.object.trustURLCodebase", "true"), "com.sun.jndi.ldap.object.trustURLCodebase"));
        a.add(new Attempt("System.out", ch -> ch.getField(ch.cls("java.lang.System"), "out"), "java.lang.System.out"));
        a.add(new Attempt("an array of a member-only class", ch -> ch.newArray(ch.cls("java.lang.System"), 1),
                "java.lang.System"));
        a.add(new Attempt("Class.forName of a denied class",
                ch -> ch.call(ch.cls("java.lang.Class"), "forName", "java.lang.Runtime"), "java.lang.Runtime"));
        a.add(new Attempt("Class.forName of a nested denied class",
                ch -> ch.call(ch.cls("java.lang.Class"), "forName", "java.lang.ProcessBuilder$Redirect"),
                "java.lang.ProcessBuilder$Redirect"));
        a.add(new Attempt("Class.forName of a denied array type",
                ch -> ch.call(ch.cls("java.lang.Class"), "forName", "[Ljava.lang.Runtime;"), "[Ljava.lang.Runtime;"));
        a.add(new Attempt("Class.forName(name, init, loader) of a denied class",
                ch -> ch.call(ch.cls("java.lang.Class"), "forName", "javax.script.ScriptEngineManager", true, null),
                "javax.script.ScriptEngineManager"));
        a.add(new Attempt("Class.forName on an instance", ch -> {
            Ref cls = ch.call(ch.newObject(ch.cls("java.util.ArrayList")).ref(), "getClass").ref();
            return ch.call(cls, "forName", "java.lang.Runtime");
        }, "java.lang.Runtime"));
        a.add(new Attempt("getMethods on the class forName returned", ch -> {
            Ref cls = ch.call(ch.cls("java.lang.Class"), "forName", "java.util.ArrayList").ref();
            return ch.call(cls, "getMethods");
        }, "java.lang.Class.getMethods"));
        a.add(new Attempt("Class.getClassLoader next to Class#forName", ch -> {
            Ref cls = ch.call(ch.cls("java.lang.Class"), "forName", "java.util.ArrayList").ref();
            return ch.call(cls, "getClassLoader");
        }, "java.lang.Class.getClassLoader"));
        a.add(new Attempt("a member denied on an interface, called on its implementation", ch -> {
            Ref list = ch.newObject(ch.cls("java.util.ArrayList")).ref();
            return ch.call(list, "clear");
        }, "-java.util.List#clear"));
        return a;
    }

    static Stream<DynamicTest> run(GatunServer server, String list, List<Attempt> attempts) {
        return attempts.stream().map(at -> DynamicTest.dynamicTest(list + ": " + at.what, () -> {
            try (LocalClient client = LocalClient.open(server.connectionInfo()); LocalChannel ch = client.channel()) {
                Reply r;
                try {
                    r = at.step.run(ch);
                } catch (IllegalStateException e) {
                    // A step that needs an earlier RETURN got a refusal there: that is the refusal.
                    assertTrue(e.getMessage().contains("NOT_ALLOWED") && e.getMessage().contains(at.named),
                            at.what + ": refused, but not clearly: " + e.getMessage());
                    return;
                }
                assertEquals(ErrorCode.NOT_ALLOWED, r.code(), at.what + " was not refused: " + r);
                assertTrue(r.message().contains(at.named), at.what + ": the refusal does not name " + at.named
                        + ": " + r.message());
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> standaloneDefault() {
        List<Attempt> all = new ArrayList<>(common());
        all.addAll(throughAllowedClasses());
        return run(standard, "default", all);
    }

    @TestFactory
    Stream<DynamicTest> restrictiveCustomList() {
        List<Attempt> all = new ArrayList<>(common());
        all.add(resolve("java.util.HashMap"));
        all.add(resolve("java.lang.Math"));
        all.add(new Attempt("a returned object's class that the list does not allow", ch -> {
            Ref list = ch.newObject(ch.cls("java.util.ArrayList")).ref();
            Ref it = ch.call(list, "stream").ref();
            return ch.call(it, "count");
        }, "java.util.Collection.stream"));
        return run(restrictive, "restrictive", all);
    }

    @TestFactory
    Stream<DynamicTest> perMethodEntries() {
        List<Attempt> all = new ArrayList<>(common());
        all.addAll(perMethodAttempts());
        return run(perMethod, "per-method", all);
    }

    @Test
    void perMethodEntriesAdmitWhatTheyName() throws IOException {
        try (LocalClient client = LocalClient.open(perMethod.connectionInfo()); LocalChannel ch = client.channel()) {
            assertEquals(System.getProperty("java.version"),
                    ch.call(ch.cls("java.lang.System"), "getProperty", "java.version").value());
            assertEquals(null, ch.call(ch.cls("java.lang.System"), "setProperty", "spark.gatun.test.key", "v").value());
            assertEquals("v", System.clearProperty("spark.gatun.test.key"));
            Ref cls = ch.call(ch.cls("java.lang.Class"), "forName", "java.util.ArrayList").ref();
            assertEquals("java.util.ArrayList", ch.call(cls, "getName").value());
            Ref arr = ch.call(ch.cls("java.lang.Class"), "forName", "[Ljava.lang.String;").ref();
            assertEquals("[Ljava.lang.String;", ch.call(arr, "getName").value());
            Ref list = ch.newObject(ch.cls("java.util.ArrayList")).ref();
            assertEquals(true, ch.call(list, "add", "x").value()); // only clear is denied
        }
    }

    @Test
    void aListThatAllowsTheWholeClassHasNoGate() throws IOException {
        try (GatunServer open = GatunServer.builder().allowlist(Allowlist.all()).warmUp(0).build().start();
             LocalClient client = LocalClient.open(open.connectionInfo()); LocalChannel ch = client.channel()) {
            Ref cls = ch.call(ch.cls("java.lang.Class"), "forName", "java.lang.Runtime").ref();
            assertEquals("java.lang.Runtime", ch.call(cls, "getName").value());
        }
    }
}
