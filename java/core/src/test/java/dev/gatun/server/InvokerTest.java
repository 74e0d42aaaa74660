package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatun.fixtures.Overloads;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Overload resolution: the same choices as Py4J where Py4J finds one, Java's rules beyond. */
class InvokerTest {
    private final Invoker all = new Invoker(Allowlist.all());
    private final Invoker standard = new Invoker(Allowlist.standard());

    private Object call(String method, Object... args) throws InvocationTargetException {
        return all.call(Overloads.class, null, method, args);
    }

    private ErrorCode refusal(Invoker invoker, Class<?> type, Object target, String method, Object... args) {
        return assertThrows(GatunException.class, () -> invoker.call(type, target, method, args)).code();
    }

    @Test
    void exactPrimitivesWin() throws Exception {
        assertEquals("int", call("num", 1));
        assertEquals("long", call("num", 1L));
        assertEquals("double", call("num", 1.0));
        assertEquals("Object", call("num", "s"));
        assertEquals("int", call("num", (short) 1)); // Py4J: short to int 1, to long 2
        assertEquals("double", call("num", 1.5f)); // float to double 1, to Object 200
    }

    @Test
    void py4jNumberRules() throws Exception {
        assertEquals("long", call("longOrObject", 1)); // int to long 1 beats boxing into Object (200)
        assertEquals("Object", call("doubleOrObject", 1)); // Py4J has no int to double: Object it is
        assertEquals("int", call("byteOrInt", 1)); // int 0, byte 2
        assertEquals("byte", call("byteOrInt", (byte) 1));
        assertEquals((short) 7, call("onlyShort", 7)); // int narrowed to short, checked
        assertEquals(ErrorCode.BAD_ARGUMENT, refusal(all, Overloads.class, null, "onlyShort", 70000));
        assertEquals(2.5f, call("onlyFloat", 2.5)); // double to float
        assertEquals(5L, call("boxedLong", 5)); // int to Long
        assertEquals("Number", call("numberOrObject", 1));
    }

    @Test
    void javaWideningWhenPy4jFindsNothing() throws Exception {
        assertEquals(3.0, call("onlyDouble", 3));
        assertEquals(3.0, call("onlyDouble", 3L));
        assertEquals(97.0, call("onlyDouble", 'a'));
        assertEquals("Object[]", call("objects", (Object) new String[] {"a"})); // covariant array
    }

    @Test
    void charsFromOneCharStrings() throws Exception {
        assertEquals('a', call("onlyChar", "a"));
        assertEquals('a', call("onlyChar", 'a'));
        assertEquals("String", call("charOrString", "a"));
        assertEquals("char", call("charOrString", 'a'));
        assertEquals(ErrorCode.NO_MATCHING_OVERLOAD, refusal(all, Overloads.class, null, "onlyChar", "ab"));
        assertEquals("ab", all.call(String.class, null, "valueOf", new Object[] {"ab"}));
        assertEquals("a", all.call(String.class, null, "valueOf", new Object[] {"a"}));
    }

    @Test
    void nullsPreferTheMostDerivedClass() throws Exception {
        assertEquals("String", call("nulls", (Object) null));
        assertEquals("Object", call("nullIface", (Object) null)); // Py4J: an interface ranks below Object
        assertEquals(ErrorCode.NO_MATCHING_OVERLOAD, refusal(all, Overloads.class, null, "primitiveOnly", (Object) null));
    }

    @Test
    void supertypeDistance() throws Exception {
        assertEquals("List", call("collection", new ArrayList<>()));
        assertEquals("Collection", call("collection", new java.util.HashSet<>()));
    }

    @Test
    void varargs() throws Exception {
        assertEquals("a-1-true", call("join", "-", "a", 1, true));
        assertEquals("", call("join", "-"));
        assertEquals(6, call("sum", 1, 2, 3));
        assertEquals(0, call("sum"));
        assertEquals("x=1", all.call(String.class, null, "format", new Object[] {"x=%d", 1}));
        assertEquals(Arrays.asList(1, 2, 3), all.call(Arrays.class, null, "asList", new Object[] {1, 2, 3}));
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
                all.call(List.class, null, "of", new Object[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
    }

    @Test
    void constructorsAndStaticVersusInstance() throws Exception {
        assertEquals(5, ((Overloads) all.construct(Overloads.class, new Object[] {5})).x);
        assertEquals(-1, ((Overloads) all.construct(Overloads.class, new Object[] {5L})).x);
        GatunException e = assertThrows(GatunException.class, () -> call("instanceOnly"));
        assertEquals(ErrorCode.NO_SUCH_MEMBER, e.code());
        assertTrue(e.getMessage().contains("instance method"), e.getMessage());
        assertEquals("instance", all.call(Overloads.class, new Overloads(), "instanceOnly", new Object[0]));
    }

    @Test
    void publicMethodsOfHiddenClassesViaTheirInterfaces() throws Exception {
        List<Integer> unmodifiable = Collections.unmodifiableList(new ArrayList<>(List.of(1, 2)));
        assertEquals(2, standard.call(unmodifiable.getClass(), unmodifiable, "size", new Object[0]));
        Runnable hidden = Overloads.hidden();
        assertEquals(null, all.call(hidden.getClass(), hidden, "run", new Object[0]));
        assertEquals("hidden", all.call(hidden.getClass(), hidden, "toString", new Object[0]));
        var it = new ArrayList<>(List.of("a")).iterator();
        assertEquals(true, standard.call(it.getClass(), it, "hasNext", new Object[0]));
    }

    @Test
    void theDeclaringClassMustBeAllowed() throws Exception {
        Class<?> c = "x".getClass();
        assertEquals("java.lang.String", standard.call(Class.class, c, "getName", new Object[0]));
        assertEquals(ErrorCode.NOT_ALLOWED, refusal(standard, Class.class, c, "forName", "java.lang.Runtime"));
        assertEquals(ErrorCode.NOT_ALLOWED, refusal(standard, Class.class, c, "getMethods"));
        Thread t = Thread.currentThread();
        // toString is reachable through Object (same code by dispatch); getName only through Thread.
        assertEquals(t.toString(), standard.call(Thread.class, t, "toString", new Object[0]));
        assertEquals(ErrorCode.NOT_ALLOWED, refusal(standard, Thread.class, t, "getName"));
    }

    @Test
    void errorsListTheCandidates() {
        GatunException e = assertThrows(GatunException.class, () -> call("onlyShort", "x"));
        assertEquals(ErrorCode.NO_MATCHING_OVERLOAD, e.code());
        assertTrue(e.getMessage().contains("dev.gatun.fixtures.Overloads.onlyShort")
                && e.getMessage().contains("(java.lang.String)") && e.getMessage().contains("onlyShort(short)"),
                e.getMessage());
        assertEquals(ErrorCode.NO_SUCH_MEMBER, assertThrows(GatunException.class, () -> call("nothing")).code());
    }

    @Test
    void fields() throws Exception {
        assertEquals(Overloads.label, all.field(Overloads.class, "label", true).get(null));
        Overloads o = new Overloads();
        all.field(Overloads.class, "x", false).set(o, ArgumentCost.coerce(9, int.class));
        assertEquals(9, o.x);
        assertEquals(ErrorCode.NO_SUCH_MEMBER,
                assertThrows(GatunException.class, () -> all.field(Overloads.class, "x", true)).code());
        assertEquals(ErrorCode.NO_SUCH_MEMBER,
                assertThrows(GatunException.class, () -> all.field(Overloads.class, "missing", false)).code());
    }

    @Test
    void thrownExceptionsAreNotRefusals() {
        InvocationTargetException e = assertThrows(InvocationTargetException.class,
                () -> all.call(Integer.class, null, "parseInt", new Object[] {"x"}));
        assertEquals(NumberFormatException.class, e.getCause().getClass());
    }
}
