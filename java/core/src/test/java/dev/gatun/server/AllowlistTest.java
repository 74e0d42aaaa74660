package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AllowlistTest {
    @Test
    void entryKinds() {
        Allowlist a = Allowlist.parse("a.b.C, x.y.*, p.q.**");
        assertTrue(a.allows("a.b.C"));
        assertTrue(a.allows("a.b.C$D"));
        assertFalse(a.allows("a.b.Cx"));
        assertFalse(a.allows("a.b.D"));
        assertTrue(a.allows("x.y.Z"));
        assertTrue(a.allows("x.y.Z$Inner"));
        assertFalse(a.allows("x.y.z.W"));
        assertTrue(a.allows("p.q.R"));
        assertTrue(a.allows("p.q.r.s.T"));
        assertFalse(a.allows("p.qr.T"));
    }

    @Test
    void denialsWin() {
        Allowlist a = Allowlist.parse("**,-java.lang.Runtime,-java.io.**");
        assertTrue(a.allows("java.lang.String"));
        assertFalse(a.allows("java.lang.Runtime"));
        assertFalse(a.allows("java.lang.Runtime$Version"));
        assertFalse(a.allows("java.io.File"));
        assertFalse(a.allows(java.io.File[].class));
    }

    @Test
    void standardDefault() {
        Allowlist a = Allowlist.standard();
        for (Class<?> ok : List.of(String.class, Integer.class, Math.class, StringBuilder.class, java.util.ArrayList.class,
                java.util.HashMap.class, java.util.Map.Entry.class, java.util.function.Supplier.class,
                java.util.concurrent.CompletableFuture.class, java.util.concurrent.atomic.AtomicLong.class,
                java.util.stream.Collectors.class, java.math.BigDecimal.class, java.time.LocalDate.class,
                java.time.format.DateTimeFormatter.class, java.text.DecimalFormat.class, IllegalStateException.class,
                Runnable.class, int[].class, String[][].class, int.class)) {
            assertTrue(a.allows(ok), ok.getName());
        }
        for (Class<?> no : List.of(Runtime.class, ProcessBuilder.class, System.class, ClassLoader.class, Class.class,
                Thread.class, java.lang.reflect.Method.class, java.lang.invoke.MethodHandles.class, java.io.File.class,
                java.nio.file.Files.class, java.net.URL.class, java.net.URLClassLoader.class, java.util.ServiceLoader.class,
                java.util.zip.ZipFile.class, java.util.logging.Logger.class, Runtime[].class)) {
            assertFalse(a.allows(no), no.getName());
        }
        assertTrue(a.allowsMember(Class.class, "getName"));
        assertFalse(a.allowsMember(Class.class, "forName"));
    }

    @Test
    void defaultKeepsItsDenialsWhenExtended() {
        Allowlist a = Allowlist.parse("default,java.lang.*");
        assertTrue(a.allows("java.lang.Character$UnicodeBlock"));
        assertTrue(a.allows("java.lang.Iterable"));
        assertFalse(a.allows("java.lang.Runtime"));
        assertFalse(a.allows("java.lang.System"));
    }

    @Test
    void fileEntries(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("allow.txt");
        Files.writeString(f, "# my list\njava.util.*   # collections\n\n-java.util.Formatter\n");
        Allowlist a = Allowlist.parse("java.math.*,@" + f);
        assertTrue(a.allows("java.util.List"));
        assertTrue(a.allows("java.math.BigInteger"));
        assertFalse(a.allows("java.util.Formatter"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Allowlist.parse("@" + dir.resolve("missing.txt")));
        assertTrue(e.getMessage().contains("missing.txt"), e.getMessage());
    }

    @Test
    void badEntriesAreRefused() {
        for (String bad : List.of("a..b", "a.b.*x", "a/b", "a.b.***", "-", ".a")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Allowlist.parse(bad), bad);
            assertTrue(e.getMessage().contains("bad allowlist entry"), e.getMessage());
        }
        assertEquals(List.of("**"), Allowlist.all().entries());
    }

    @Test
    void memberEntries() {
        Allowlist a = Allowlist.parse("default,java.lang.System#getProperty,-java.util.List#clear,-**#notify");
        assertFalse(a.allows(System.class));
        assertTrue(a.allowsMember(System.class, "getProperty"));
        assertFalse(a.allowsMember(System.class, "exit"));
        assertTrue(a.memberRefusal(System.class, "exit").contains("admits only getProperty"));
        assertFalse(a.allowsMember(java.util.ArrayList.class, "clear")); // declared below List
        assertFalse(a.allowsMember(java.util.List.class, "clear"));
        assertTrue(a.allowsMember(java.util.ArrayList.class, "add"));
        assertTrue(a.allowsMember(java.util.HashSet.class, "clear")); // not a List
        assertFalse(a.allowsMember(Object.class, "notify")); // a member denial of every class
        assertTrue(a.memberRefusal(java.util.ArrayList.class, "clear").contains("-java.util.List#clear"));
        for (String bad : List.of("a.b.C#", "a.b.C#m#n", "#m", "a.b.C#m.n")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Allowlist.parse(bad));
            assertTrue(e.getMessage().contains("member entry a.b.C#name"), e.getMessage());
        }
    }

    @Test
    void classNamesAsForNameTakesThem() {
        Allowlist a = Allowlist.standard();
        assertTrue(a.allowsClassName("java.util.ArrayList"));
        assertTrue(a.allowsClassName("[Ljava.lang.String;"));
        assertTrue(a.allowsClassName("[[I"));
        assertFalse(a.allowsClassName("[Ljava.lang.Runtime;"));
        assertFalse(a.allowsClassName("[Ljava.lang.String"));
        assertFalse(a.allowsClassName("[Q"));
        assertFalse(a.allowsClassName("java.lang.ProcessBuilder$Redirect"));
    }
}
