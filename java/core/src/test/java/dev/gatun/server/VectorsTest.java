package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.gatun.server.ClientValues.CallbackRef;
import dev.gatun.server.ClientValues.ClassRef;
import dev.gatun.server.ClientValues.Ref;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The golden vectors of spec/vectors/frames.json (format: the docstring of make_vectors.py).
 * Client-to-server frames are decoded by the server's decoder, compared with their meaning, and
 * re-encoded; server-to-client frames are encoded by the server's writer from their meaning.
 */
class VectorsTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final String PLACEHOLDER = "\u0000id:";

    static JsonObject vectors() throws IOException {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("spec/vectors/frames.json"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IOException("spec/vectors/frames.json not found above " + Path.of("").toAbsolutePath());
        }
        return JsonParser.parseString(Files.readString(p.resolve("spec/vectors/frames.json"))).getAsJsonObject();
    }

    @TestFactory
    Stream<DynamicTest> frames() throws IOException {
        JsonObject all = vectors();
        assertEquals(GatunServer.PROTOCOL_VERSION, all.get("protocol_version").getAsInt());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonElement e : all.getAsJsonArray("frames")) {
            JsonObject v = e.getAsJsonObject();
            byte[] bytes = HEX.parseHex(v.get("hex").getAsString());
            JsonObject meaning = v.getAsJsonObject("meaning");
            boolean c2s = v.get("direction").getAsString().equals("client_to_server");
            tests.add(DynamicTest.dynamicTest(v.get("name").getAsString(), () -> {
                if (c2s) {
                    JsonObject decoded = decodeRequest(bytes);
                    assertEquals(meaning, decoded);
                    assertEquals(HEX.formatHex(bytes), HEX.formatHex(encodeRequest(decoded)));
                } else {
                    assertEquals(HEX.formatHex(bytes), HEX.formatHex(encodeReply(meaning)));
                    assertEquals(meaning, decodeReply(bytes));
                }
            }));
        }
        return tests.stream();
    }

    @Test
    void chunkHeader() throws IOException {
        JsonObject chunk = vectors().getAsJsonObject("chunk");
        ByteBuffer b = ByteBuffer.wrap(HEX.parseHex(chunk.get("hex").getAsString())).order(ByteOrder.LITTLE_ENDIAN);
        JsonObject m = chunk.getAsJsonObject("meaning");
        assertEquals(m.get("length").getAsInt(), b.getInt(0));
        assertEquals(FrameType.RETURN, b.get(4) & 0xFF);
        assertEquals("RETURN", m.get("type").getAsString());
        assertEquals(m.get("flags").getAsInt(), b.get(5) & FrameType.FLAG_MORE);
        assertEquals(m.get("total").getAsLong(), b.getLong(8));
        ByteBuffer mine = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        Channel.writeHeader(mine, FrameType.RETURN, FrameType.FLAG_MORE, b.getInt(0), b.getLong(8));
        assertEquals(HEX.formatHex(b.array(), 0, 16), HEX.formatHex(mine.array()));
    }

    @Test
    void hellos() throws IOException {
        JsonObject hello = vectors().getAsJsonObject("hello");
        for (String kind : List.of("session", "channel")) {
            JsonObject v = hello.getAsJsonObject(kind);
            JsonObject m = v.getAsJsonObject("meaning");
            byte[] session = m.has("session") ? HEX.parseHex(m.get("session").getAsString()) : null;
            byte[] mine = LocalClient.hello(m.get("kind").getAsInt(), HEX.parseHex(m.get("token").getAsString()), session);
            assertEquals(v.get("hex").getAsString(), HEX.formatHex(mine));
        }
    }

    // Client-to-server: the server's RequestDecoder turns bytes into a meaning.

    private static JsonObject decodeRequest(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int length = b.getInt(0);
        int type = b.get(4) & 0xFF;
        assertEquals(bytes.length - FrameType.HEADER_BYTES, length);
        FrameReader r = new FrameReader();
        r.reset(b, FrameType.HEADER_BYTES, FrameType.HEADER_BYTES + length);
        // Names used without a definition in a vector stand for themselves.
        NameTable names = new NameTable();
        for (int i = 0; i < 64; i++) {
            names.define(i, PLACEHOLDER + i);
        }
        JsonObject body = new JsonObject();
        RequestDecoder.decode(type, r, names, ClientValues.MODEL, new ToMeaning(body, names));
        return meaning(b, body);
    }

    /** A frame's meaning: its header fields (type from byte 4) and the decoded body. */
    private static JsonObject meaning(ByteBuffer frame, JsonObject body) {
        JsonObject m = new JsonObject();
        m.addProperty("type", FrameType.name(frame.get(4) & 0xFF));
        m.addProperty("flags", frame.get(5) & 0xFF);
        m.addProperty("total", frame.getLong(8));
        m.add("body", body);
        return m;
    }

    /** Records each decoded request as the meaning JSON of make_vectors.py. */
    private record ToMeaning(JsonObject body, NameTable names) implements RequestHandler {
        private void target(int kind, long target) {
            JsonObject t = new JsonObject();
            t.addProperty(kind == FrameType.TARGET_OBJECT ? "object" : "class", Long.toUnsignedString(target));
            body.add("target", t);
        }

        private void name(String name) {
            JsonObject n = new JsonObject();
            if (name.startsWith(PLACEHOLDER)) {
                n.addProperty("id", Integer.parseInt(name.substring(PLACEHOLDER.length())));
            } else {
                for (int i = 0; ; i++) {
                    if (names.get(i).equals(name)) {
                        n.addProperty("id", i);
                        break;
                    }
                }
                n.addProperty("define", name);
            }
            body.add("name", n);
        }

        private void args(Object[] args) {
            JsonArray a = new JsonArray();
            for (Object o : args) {
                a.add(toJson(o));
            }
            body.add("args", a);
        }

        @Override
        public void call(int targetKind, long target, String name, Object[] args) {
            target(targetKind, target);
            name(name);
            args(args);
        }

        @Override
        public void newInstance(long classId, Object[] args) {
            body.addProperty("class", Long.toUnsignedString(classId));
            args(args);
        }

        @Override
        public void getField(int targetKind, long target, String name) {
            target(targetKind, target);
            name(name);
        }

        @Override
        public void setField(int targetKind, long target, String name, Object value) {
            target(targetKind, target);
            name(name);
            body.add("value", toJson(value));
        }

        @Override
        public void resolveClass(String name) {
            body.addProperty("name", name);
        }

        @Override
        public void resolveMember(long classId, String name) {
            body.addProperty("class", Long.toUnsignedString(classId));
            name(name);
        }

        @Override
        public void release(long[] handles) {
            JsonArray a = new JsonArray();
            for (long h : handles) {
                a.add(Long.toUnsignedString(h));
            }
            body.add("handles", a);
        }

        @Override
        public void instanceOf(Object value, long classId) {
            body.add("value", toJson(value));
            body.addProperty("class", Long.toUnsignedString(classId));
        }

        @Override
        public void newArray(long componentClassId, int[] dims) {
            body.addProperty("class", Long.toUnsignedString(componentClassId));
            JsonArray a = new JsonArray();
            for (int d : dims) {
                a.add(d);
            }
            body.add("dims", a);
        }

        @Override
        public void array(long handle, int op, int index, int stop, Object value) {
            body.addProperty("handle", Long.toUnsignedString(handle));
            body.addProperty("op", op);
            if (op == FrameType.ARRAY_GET || op == FrameType.ARRAY_SET) {
                body.addProperty("index", index);
            }
            if (op == FrameType.ARRAY_SET) {
                body.add("value", toJson(value));
            }
            if (op == FrameType.ARRAY_SLICE) {
                body.addProperty("start", index);
                body.addProperty("stop", stop);
            }
        }

        @Override
        public void sessionInfo() {
        }

        @Override
        public void callbackReturn(Object value) {
            body.add("value", toJson(value));
        }

        @Override
        public void callbackError(long throwable, String pythonType, String message) {
            body.addProperty("throwable", Long.toUnsignedString(throwable));
            body.addProperty("python_type", pythonType);
            body.addProperty("message", message);
        }

        @Override
        public void serveCallbacks() {
        }

        @Override
        public void continueFrame() {
        }
    }

    private static JsonObject tagged(String tag, JsonElement value) {
        JsonObject o = new JsonObject();
        o.add(tag, value);
        return o;
    }

    static JsonElement toJson(Object v) {
        if (v == null) {
            return tagged("null", JsonNull.INSTANCE);
        } else if (v instanceof Boolean b) {
            return tagged("bool", new JsonPrimitive(b));
        } else if (v instanceof Byte n) {
            return tagged("byte", new JsonPrimitive(n));
        } else if (v instanceof Short n) {
            return tagged("short", new JsonPrimitive(n));
        } else if (v instanceof Character c) {
            return tagged("char", new JsonPrimitive((int) c));
        } else if (v instanceof Integer n) {
            return tagged("int", new JsonPrimitive(n));
        } else if (v instanceof Long n) {
            return tagged("long", new JsonPrimitive(n.toString()));
        } else if (v instanceof Float f) {
            return tagged("float_bits", new JsonPrimitive(String.format("0x%08x", Float.floatToRawIntBits(f))));
        } else if (v instanceof Double d) {
            return tagged("double", new JsonPrimitive(d));
        } else if (v instanceof String s) {
            return tagged("string", new JsonPrimitive(s));
        } else if (v instanceof byte[] b) {
            return tagged("bytes", new JsonPrimitive(HEX.formatHex(b)));
        } else if (v instanceof BigDecimal d) {
            return tagged("decimal", new JsonPrimitive(d.toString()));
        } else if (v instanceof Ref r) {
            JsonObject o = new JsonObject();
            o.addProperty("handle", Long.toUnsignedString(r.handle()));
            if (r.shape() >= 0) {
                o.addProperty("shape", r.shape());
            }
            return tagged("object", o);
        } else if (v instanceof ClassRef c) {
            JsonObject o = new JsonObject();
            o.addProperty("id", Long.toUnsignedString(c.id()));
            o.addProperty("name", c.name());
            return tagged("class", o);
        } else if (v instanceof CallbackRef c) {
            JsonObject o = new JsonObject();
            o.addProperty("id", Long.toUnsignedString(c.id()));
            JsonArray a = new JsonArray();
            c.interfaces().forEach(a::add);
            o.add("interfaces", a);
            return tagged("callback", o);
        } else if (v instanceof List<?> l) {
            JsonArray a = new JsonArray();
            l.forEach(e -> a.add(toJson(e)));
            return tagged("list", a);
        } else if (v instanceof Set<?> s) {
            JsonArray a = new JsonArray();
            s.forEach(e -> a.add(toJson(e)));
            return tagged("set", a);
        } else if (v instanceof Map<?, ?> m) {
            JsonArray a = new JsonArray();
            m.forEach((k, x) -> {
                JsonArray pair = new JsonArray();
                pair.add(toJson(k));
                pair.add(toJson(x));
                a.add(pair);
            });
            return tagged("map", a);
        }
        throw new AssertionError("no meaning for " + v.getClass());
    }

    static Object fromJson(JsonElement e) {
        Map.Entry<String, JsonElement> only = e.getAsJsonObject().entrySet().iterator().next();
        JsonElement x = only.getValue();
        switch (only.getKey()) {
            case "null":
                return null;
            case "bool":
                return x.getAsBoolean();
            case "byte":
                return x.getAsByte();
            case "short":
                return x.getAsShort();
            case "char":
                return (char) x.getAsInt();
            case "int":
                return x.getAsInt();
            case "long":
                return Long.parseLong(x.getAsString());
            case "float_bits":
                return Float.intBitsToFloat(Integer.parseUnsignedInt(x.getAsString().substring(2), 16));
            case "double":
                return x.getAsDouble();
            case "string":
                return x.getAsString();
            case "bytes":
                return HEX.parseHex(x.getAsString());
            case "decimal":
                return new BigDecimal(x.getAsString());
            case "object": {
                JsonObject o = x.getAsJsonObject();
                return new Ref(Long.parseUnsignedLong(o.get("handle").getAsString()),
                        o.has("shape") ? o.get("shape").getAsInt() : -1);
            }
            case "class": {
                JsonObject o = x.getAsJsonObject();
                return new ClassRef(Long.parseUnsignedLong(o.get("id").getAsString()), o.get("name").getAsString());
            }
            case "callback": {
                JsonObject o = x.getAsJsonObject();
                List<String> interfaces = new ArrayList<>();
                o.getAsJsonArray("interfaces").forEach(i -> interfaces.add(i.getAsString()));
                return new CallbackRef(Long.parseUnsignedLong(o.get("id").getAsString()), interfaces);
            }
            case "list":
                return new ArrayList<>(elements(x));
            case "set":
                return new LinkedHashSet<>(elements(x));
            case "map": {
                Map<Object, Object> m = new LinkedHashMap<>();
                for (JsonElement pair : x.getAsJsonArray()) {
                    m.put(fromJson(pair.getAsJsonArray().get(0)), fromJson(pair.getAsJsonArray().get(1)));
                }
                return m;
            }
            default:
                throw new AssertionError("unknown value kind " + only.getKey());
        }
    }

    private static List<Object> elements(JsonElement array) {
        List<Object> out = new ArrayList<>();
        array.getAsJsonArray().forEach(i -> out.add(fromJson(i)));
        return out;
    }

    // Encoding: requests with the test client's encoder, replies with the server's writer.

    private static long u64(JsonObject o, String key) {
        return Long.parseUnsignedLong(o.get(key).getAsString());
    }

    private static FrameWriter writer() {
        return new FrameWriter(ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN), 1 << 20);
    }

    private static byte[] finish(FrameWriter w) {
        ByteBuffer b = w.buffer();
        Channel.writeHeader(b, w.type(), 0, w.payloadLength(), w.payloadLength());
        byte[] out = new byte[FrameType.HEADER_BYTES + w.payloadLength()];
        b.get(0, out);
        return out;
    }

    private static int typeOf(JsonObject meaning) {
        for (int t = 0; t < 0x80; t++) {
            if (FrameType.name(t).equals(meaning.get("type").getAsString())) {
                return t;
            }
        }
        throw new AssertionError("unknown type " + meaning.get("type"));
    }

    private static void target(FrameWriter w, JsonObject body) {
        JsonObject t = body.getAsJsonObject("target");
        boolean object = t.has("object");
        w.u8(object ? FrameType.TARGET_OBJECT : FrameType.TARGET_CLASS).i64(u64(t, object ? "object" : "class"));
    }

    private static void name(FrameWriter w, JsonObject body) {
        JsonObject n = body.getAsJsonObject("name");
        int id = n.get("id").getAsInt();
        if (n.has("define")) {
            byte[] s = n.get("define").getAsString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            w.i32(id | NameTable.DEFINE_BIT).u16(s.length).raw(s);
        } else {
            w.i32(id);
        }
    }

    private static void values(FrameWriter w, JsonArray args, boolean withCount) {
        if (withCount) {
            w.u16(args.size());
        }
        args.forEach(a -> ClientValues.write(w, fromJson(a)));
    }

    private static byte[] encodeRequest(JsonObject meaning) {
        int type = typeOf(meaning);
        JsonObject b = meaning.getAsJsonObject("body");
        FrameWriter w = writer().begin(type);
        switch (type) {
            case FrameType.CALL -> {
                target(w, b);
                name(w, b);
                values(w, b.getAsJsonArray("args"), true);
            }
            case FrameType.NEW -> {
                w.i64(u64(b, "class"));
                values(w, b.getAsJsonArray("args"), true);
            }
            case FrameType.GET_FIELD -> {
                target(w, b);
                name(w, b);
            }
            case FrameType.SET_FIELD -> {
                target(w, b);
                name(w, b);
                ClientValues.write(w, fromJson(b.get("value")));
            }
            case FrameType.RESOLVE_CLASS -> w.string(b.get("name").getAsString());
            case FrameType.RESOLVE_MEMBER -> {
                w.i64(u64(b, "class"));
                name(w, b);
            }
            case FrameType.RELEASE -> {
                JsonArray h = b.getAsJsonArray("handles");
                w.i32(h.size());
                h.forEach(x -> w.i64(Long.parseUnsignedLong(x.getAsString())));
            }
            case FrameType.INSTANCE_OF -> {
                ClientValues.write(w, fromJson(b.get("value")));
                w.i64(u64(b, "class"));
            }
            case FrameType.NEW_ARRAY -> {
                JsonArray dims = b.getAsJsonArray("dims");
                w.i64(u64(b, "class")).u8(dims.size());
                dims.forEach(d -> w.i32(d.getAsInt()));
            }
            case FrameType.ARRAY -> {
                int op = b.get("op").getAsInt();
                w.i64(u64(b, "handle")).u8(op);
                if (op == FrameType.ARRAY_GET || op == FrameType.ARRAY_SET) {
                    w.i32(b.get("index").getAsInt());
                }
                if (op == FrameType.ARRAY_SET) {
                    ClientValues.write(w, fromJson(b.get("value")));
                }
                if (op == FrameType.ARRAY_SLICE) {
                    w.i32(b.get("start").getAsInt()).i32(b.get("stop").getAsInt());
                }
            }
            case FrameType.CALLBACK_RETURN -> ClientValues.write(w, fromJson(b.get("value")));
            case FrameType.CALLBACK_ERROR -> w.i64(u64(b, "throwable")).string(b.get("python_type").getAsString())
                    .string(b.get("message").getAsString());
            case FrameType.SERVE_CALLBACKS, FrameType.CONTINUE, FrameType.SESSION_INFO -> {
            }
            default -> throw new AssertionError("not a request: " + meaning);
        }
        return finish(w);
    }

    /** Server-to-client frames, written with the server's FrameWriter from their meaning. */
    private static byte[] encodeReply(JsonObject meaning) {
        int type = typeOf(meaning);
        JsonObject b = meaning.getAsJsonObject("body");
        FrameWriter w = writer().begin(type);
        switch (type) {
            case FrameType.RETURN -> replyValue(w, b.get("value"));
            case FrameType.THROW -> w.i64(u64(b, "throwable")).string(b.get("class_name").getAsString())
                    .string(b.get("message").getAsString()).string(b.get("stack").getAsString());
            case FrameType.ERROR -> w.u16(b.get("code").getAsInt()).string(b.get("message").getAsString());
            case FrameType.CALLBACK -> {
                JsonArray args = b.getAsJsonArray("args");
                w.i64(u64(b, "callback")).string(b.get("method").getAsString()).u16(args.size());
                args.forEach(a -> replyValue(w, a));
            }
            case FrameType.CONTINUE -> {
            }
            default -> throw new AssertionError("not a reply: " + meaning);
        }
        return finish(w);
    }

    private static void replyValue(FrameWriter w, JsonElement meaning) {
        Object v = fromJson(meaning);
        if (v instanceof Ref r) {
            w.objectRef(r.handle(), r.shape());
        } else if (v instanceof ClassRef c) {
            w.classRef(c.id(), c.name());
        } else if (v instanceof List<?> l) {
            w.u8(ValueTag.LIST).i32(l.size());
            meaning.getAsJsonObject().getAsJsonArray("list").forEach(e -> replyValue(w, e));
        } else {
            w.result(v, null);
        }
    }

    private static JsonObject decodeReply(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.get(4) & 0xFF;
        FrameReader r = new FrameReader();
        r.reset(b, FrameType.HEADER_BYTES, bytes.length);
        JsonObject body = new JsonObject();
        switch (type) {
            case FrameType.CALLBACK -> {
                body.addProperty("callback", Long.toUnsignedString(r.i64()));
                body.addProperty("method", r.string());
                JsonArray a = new JsonArray();
                for (Object o : r.args(ClientValues.REPLIES)) {
                    a.add(toJson(o));
                }
                body.add("args", a);
            }
            case FrameType.CONTINUE -> {
            }
            default -> {
                LocalChannel.Reply reply = LocalChannel.decode(type, r);
                if (type == FrameType.RETURN) {
                    body.add("value", toJson(reply.raw()));
                } else if (type == FrameType.THROW) {
                    body.addProperty("throwable", Long.toUnsignedString(reply.throwable()));
                    body.addProperty("class_name", reply.className());
                    body.addProperty("message", reply.message());
                    body.addProperty("stack", reply.stack());
                } else {
                    body.addProperty("code", reply.code().code);
                    body.addProperty("message", reply.message());
                }
            }
        }
        assertTrue(r.remaining() == 0, "trailing bytes");
        return meaning(b, body);
    }
}
