package dev.gatun.arrow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The arena layout constants (spec/arrow.md §2) against spec/vectors/constants.json. */
class ArrowConstantsTest {
    private static String constants() throws IOException {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("spec/vectors/constants.json"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IOException("spec/vectors/constants.json not found");
        }
        String all = Files.readString(p.resolve("spec/vectors/constants.json"));
        return all.substring(all.indexOf("\"arrow\""));
    }

    /** The value of a key of the "arrow" group (this module has no JSON library). */
    private static String value(String group, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*(\"[^\"]*\"|-?\\d+)").matcher(group);
        if (!m.find()) {
            throw new AssertionError(key + " missing from constants.json");
        }
        return m.group(1).replace("\"", "");
    }

    @Test
    void arenaLayoutMatchesTheSpec() throws IOException {
        String c = constants();
        assertEquals(ArrowArena.MAGIC, ByteBuffer.wrap(value(c, "ARENA_MAGIC").getBytes(StandardCharsets.US_ASCII))
                .order(ByteOrder.LITTLE_ENDIAN).getInt());
        assertEquals(ArrowArena.LAYOUT_VERSION, Integer.parseInt(value(c, "ARENA_LAYOUT_VERSION")));
        assertEquals(ArrowArena.DATA_OFFSET, Integer.parseInt(value(c, "ARENA_DATA_OFFSET")));
        assertEquals(ArrowArena.SPAN_HEADER, Integer.parseInt(value(c, "SPAN_HEADER")));
        assertEquals(ArrowArena.LENT, Integer.parseInt(value(c, "STATE_LENT")));
        assertEquals(ArrowArena.RETURNED, Integer.parseInt(value(c, "STATE_RETURNED")));
        assertEquals(ArrowArena.MIN_SIZE, Long.parseLong(value(c, "MIN_ARENA_BYTES")));
        assertEquals(ArrowArena.HARD_MAX_SIZE, Long.parseLong(value(c, "MAX_ARENA_BYTES")));
        assertEquals(ArrowExporter.END, Long.parseLong(value(c, "EXPORT_END")));
        assertEquals(ArrowExporter.NO_ROOM, Long.parseLong(value(c, "EXPORT_NO_ROOM")));
    }
}
