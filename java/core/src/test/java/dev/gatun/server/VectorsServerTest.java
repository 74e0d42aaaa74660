package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * spec/vectors beyond single frames, through the server's real code: the constants, the hand-shake
 * parser (the HELLO vectors and the negative HELLOs sent to a running server), the negative frames
 * (answered by the real request loop), and the name-table scenarios (through RequestDecoder).
 */
class VectorsServerTest {
    private static final HexFormat HEX = HexFormat.of();
    /** The vectors' token: bytes 0..31. */
    private static final byte[] TOKEN = new byte[32];

    static {
        for (int i = 0; i < 32; i++) {
            TOKEN[i] = (byte) i;
        }
    }

    private static GatunServer server;
    private static ConnectionInfo info;

    @BeforeAll
    static void start() throws IOException {
        server = GatunServer.builder().regionBytes(64 * 1024).token(TOKEN).warmUp(0).build().start();
        info = server.connectionInfo();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonObject read(String file) throws IOException {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("spec/vectors/" + file))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IOException("spec/vectors/" + file + " not found");
        }
        return JsonParser.parseString(Files.readString(p.resolve("spec/vectors/" + file))).getAsJsonObject();
    }

    private static int staticInt(Class<?> c, String name) throws ReflectiveOperationException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return ((Number) f.get(null)).intValue();
    }

    private static long staticLong(Class<?> c, String name) throws ReflectiveOperationException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return ((Number) f.get(null)).longValue();
    }

    private static int le32(String ascii) {
        return ByteBuffer.wrap(ascii.getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Test
    void constantsMatchTheSpec() throws Exception {
        JsonObject c = read("constants.json");
        assertEquals(c.get("protocol_version").getAsInt(), GatunServer.PROTOCOL_VERSION);
        JsonObject hello = c.getAsJsonObject("hello");
        Field magic = Handshake.class.getDeclaredField("MAGIC");
        magic.setAccessible(true);
        assertEquals(hello.get("MAGIC").getAsString(), new String((byte[]) magic.get(null), StandardCharsets.US_ASCII));
        assertEquals(hello.get("KIND_SESSION").getAsInt(), staticInt(Handshake.class, "KIND_SESSION"));
        assertEquals(hello.get("KIND_CHANNEL").getAsInt(), staticInt(Handshake.class, "KIND_CHANNEL"));
        assertEquals(hello.get("HANDSHAKE_TIMEOUT_MILLIS").getAsLong(), Handshake.TIMEOUT_MILLIS);
        assertEquals(hello.get("SESSION_HELLO_BYTES").getAsInt(), LocalClient.hello(1, TOKEN, null).length);
        assertEquals(hello.get("CHANNEL_HELLO_BYTES").getAsInt(), LocalClient.hello(2, TOKEN, new byte[16]).length);
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("welcome_status").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(Handshake.class, e.getKey()), e.getKey());
        }
        assertEquals(c.getAsJsonObject("bytes").get("MAPPED").getAsInt(), staticInt(Handshake.class, "MAPPED"));
        assertEquals(c.getAsJsonObject("bytes").get("DOORBELL").getAsInt(), staticInt(Channel.class, "DOORBELL"));
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("control").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(ControlConnection.class, e.getKey()), e.getKey());
        }
        JsonObject region = c.getAsJsonObject("region");
        assertEquals(le32(region.get("MAGIC").getAsString()), ShmRegion.MAGIC);
        assertEquals(region.get("LAYOUT_VERSION").getAsInt(), ShmRegion.LAYOUT_VERSION);
        assertEquals(region.get("DATA_OFFSET").getAsInt(), ShmRegion.DATA_OFFSET);
        assertEquals(region.get("OFF_CLIENT_SEQ").getAsInt(), ShmRegion.CLIENT_SEQ);
        assertEquals(region.get("OFF_SERVER_SEQ").getAsInt(), ShmRegion.SERVER_SEQ);
        assertEquals(region.get("OFF_CLIENT_PARKED").getAsInt(), ShmRegion.CLIENT_PARKED);
        assertEquals(region.get("OFF_SERVER_PARKED").getAsInt(), ShmRegion.SERVER_PARKED);
        assertEquals(region.get("MIN_SIZE").getAsLong(), ShmRegion.MIN_SIZE);
        assertEquals(region.get("MAX_SIZE").getAsLong(), ShmRegion.MAX_SIZE);
        assertEquals(region.get("DEFAULT_SIZE").getAsLong(), GatunServer.DEFAULT_REGION_BYTES);
        assertEquals(c.getAsJsonObject("frame").get("HEADER_BYTES").getAsInt(), FrameType.HEADER_BYTES);
        assertEquals(c.getAsJsonObject("frame").get("FLAG_MORE").getAsInt(), FrameType.FLAG_MORE);
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("frame_types").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(FrameType.class, e.getKey()), e.getKey());
        }
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("targets").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(FrameType.class, "TARGET_" + e.getKey()), e.getKey());
        }
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("array_ops").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(FrameType.class, "ARRAY_" + e.getKey()), e.getKey());
        }
        assertEquals(c.getAsJsonObject("names").get("DEFINE_BIT").getAsLong(), NameTable.DEFINE_BIT & 0xFFFFFFFFL);
        assertEquals(c.getAsJsonObject("names").get("MAX_ID").getAsInt(), NameTable.MAX_ID);
        JsonObject errors = c.getAsJsonObject("error_codes");
        assertEquals(errors.size(), ErrorCode.values().length);
        for (Map.Entry<String, JsonElement> e : errors.entrySet()) {
            assertEquals(e.getValue().getAsInt(), ErrorCode.valueOf(e.getKey()).code, e.getKey());
        }
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("value_tags").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(ValueTag.class, e.getKey()), e.getKey());
        }
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("shapes").entrySet()) {
            assertEquals(e.getValue().getAsInt(), staticInt(ValueTag.class, "SHAPE_" + e.getKey()), e.getKey());
        }
        assertEquals(c.getAsJsonObject("limits").get("DEFAULT_MAX_MESSAGE_BYTES").getAsLong(),
                GatunServer.DEFAULT_MAX_MESSAGE_BYTES);
        JsonObject wait = c.getAsJsonObject("wait_policy");
        assertEquals(wait.get("MAX_SPIN_NANOS").getAsLong(), AdaptiveSpinWait.MAX_SPIN_NANOS);
        assertEquals(wait.get("PROBE_SPIN_NANOS").getAsLong(), AdaptiveSpinWait.PROBE_SPIN_NANOS);
        assertEquals(wait.get("MIN_SPIN_NANOS").getAsLong(), AdaptiveSpinWait.MIN_SPIN_NANOS);
        assertEquals(wait.get("MIN_PROBE_NANOS").getAsLong(), AdaptiveSpinWait.MIN_PROBE_NANOS);
        assertEquals(wait.get("MAX_PROBE_NANOS").getAsLong(), AdaptiveSpinWait.MAX_PROBE_NANOS);
        assertEquals(wait.get("GAP_NANOS").getAsLong(), WaitPolicy.GAP_NANOS);
        assertEquals(wait.get("LOOKS_PER_CLOCK_READ").getAsInt(), WaitPolicy.LOOKS_PER_CLOCK_READ);
    }

    /** Sends raw HELLO bytes to the server and returns the WELCOME status (its parser, not a test client's). */
    private static int welcomeStatus(byte[] hello, boolean closeAfter) throws IOException {
        try (SocketChannel c = LocalClient.connect(info.socket(), hello)) {
            if (closeAfter) {
                c.shutdownOutput();
            }
            return LocalClient.read(c, 1).get() & 0xFF;
        }
    }

    @Test
    void serverParsesTheHelloVectors() throws IOException {
        JsonObject all = VectorsTest.vectors();
        JsonObject hello = all.getAsJsonObject("hello");
        byte[] session = HEX.parseHex(hello.getAsJsonObject("session").get("hex").getAsString());
        try (SocketChannel c = LocalClient.connect(info.socket(), session)) {
            assertNull(LocalClient.status(c));
            ByteBuffer welcome = LocalClient.read(c, 24);
            assertEquals(GatunServer.DEFAULT_MAX_MESSAGE_BYTES, welcome.getLong(16));
        }
        // The channel vector's session id is not a session of this server: the server read the
        // token (right) and the session id (unknown).
        byte[] channel = HEX.parseHex(hello.getAsJsonObject("channel").get("hex").getAsString());
        assertEquals(Handshake.UNKNOWN_SESSION, welcomeStatus(channel, false));
        for (JsonElement e : all.getAsJsonObject("negative").getAsJsonArray("hellos")) {
            JsonObject v = e.getAsJsonObject();
            byte[] raw = HEX.parseHex(v.get("hex").getAsString());
            assertEquals(v.get("status").getAsInt(), welcomeStatus(raw, raw.length < 8), v.get("name").getAsString());
        }
    }

    @Test
    void welcomeVectorsHaveTheServersLayout() throws IOException {
        JsonObject welcome = VectorsTest.vectors().getAsJsonObject("welcome");
        for (Map.Entry<String, JsonElement> e : welcome.entrySet()) {
            JsonObject v = e.getValue().getAsJsonObject();
            ByteBuffer b = ByteBuffer.wrap(HEX.parseHex(v.get("hex").getAsString())).order(ByteOrder.LITTLE_ENDIAN);
            JsonObject m = v.getAsJsonObject("meaning");
            int status = b.get() & 0xFF;
            assertEquals(m.get("status").getAsInt(), status);
            if (status != 0) {
                int n = b.getShort() & 0xFFFF;
                assertEquals(m.get("message").getAsString(), StandardCharsets.UTF_8.decode(b.slice(b.position(), n)).toString());
                assertEquals(b.limit(), 3 + n);
            } else if (m.get("kind").getAsInt() == 1) {
                assertEquals(25, b.limit());
                assertEquals(m.get("max_message_bytes").getAsLong(), b.getLong(17));
            } else {
                assertEquals(m.get("channel").getAsInt(), b.getInt(1));
                assertEquals(m.get("region_size").getAsLong(), b.getLong(5));
                int n = b.getInt(13);
                assertEquals(m.get("path").getAsString(), StandardCharsets.UTF_8.decode(b.slice(17, n)).toString());
            }
        }
    }

    @Test
    void serverAnswersNegativeFrames() throws IOException {
        JsonObject negative = VectorsTest.vectors().getAsJsonObject("negative");
        int checked = 0;
        try (LocalClient client = LocalClient.open(info)) {
            for (JsonElement e : negative.getAsJsonArray("frames")) {
                JsonObject v = e.getAsJsonObject();
                ByteBuffer raw = ByteBuffer.wrap(HEX.parseHex(v.get("hex").getAsString())).order(ByteOrder.LITTLE_ENDIAN);
                int length = raw.getInt(0);
                if (length != raw.getLong(8) || raw.get(5) != 0 || raw.getShort(6) != 0) {
                    continue; // a malformed header: the test client's Channel only writes well-formed ones (Python sends these)
                }
                byte[] payload = new byte[length];
                raw.get(FrameType.HEADER_BYTES, payload);
                try (LocalChannel ch = client.channel()) {
                    ch.begin(raw.get(4) & 0xFF).raw(payload);
                    LocalChannel.Reply reply = ch.exchange();
                    String name = v.get("name").getAsString();
                    assertEquals(FrameType.ERROR, reply.type(), name);
                    assertEquals(v.get("error").getAsInt(), reply.code().code, name);
                    assertTrue(reply.message().startsWith(v.get("message").getAsString()), name + ": " + reply.message());
                    checked++;
                }
            }
        }
        assertTrue(checked >= 12, "checked " + checked);
    }

    @Test
    void scenariosThroughTheDecoder() {
        JsonObject scenarios;
        try {
            scenarios = VectorsTest.vectors().getAsJsonObject("scenarios");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        // Redefinition: one channel's name table, three frames.
        NameTable names = new NameTable();
        List<String> called = new ArrayList<>();
        RequestHandler h = new RequestHandlerAdapter() {
            @Override
            public void call(int targetKind, long target, String name, Object[] args) {
                called.add(name);
            }
        };
        for (JsonElement e : scenarios.getAsJsonArray("redefine")) {
            decode(HEX.parseHex(e.getAsString()), names, h);
        }
        List<String> want = new ArrayList<>();
        scenarios.getAsJsonArray("redefine_names").forEach(n -> want.add(n.getAsString()));
        assertEquals(want, called);
        // Define, fail to encode (nothing sent), use: the frames that were sent decode on a fresh
        // channel, each name defined before its use.
        NameTable fresh = new NameTable();
        called.clear();
        for (JsonElement e : scenarios.getAsJsonArray("define_fail_use")) {
            JsonElement sends = e.getAsJsonObject().get("sends");
            if (!sends.isJsonNull()) {
                decode(HEX.parseHex(sends.getAsString()), fresh, h);
            }
        }
        assertEquals(List.of("length", "append", "append"), called);
    }

    @Test
    void releaseThenUse() throws IOException {
        JsonObject scenarios = VectorsTest.vectors().getAsJsonObject("scenarios");
        try (LocalClient client = LocalClient.open(info); LocalChannel ch = client.channel()) {
            for (JsonElement e : scenarios.getAsJsonArray("release_then_use")) {
                JsonObject step = e.getAsJsonObject();
                ByteBuffer raw = ByteBuffer.wrap(HEX.parseHex(step.get("sends").getAsString())).order(ByteOrder.LITTLE_ENDIAN);
                byte[] payload = new byte[raw.getInt(0)];
                raw.get(FrameType.HEADER_BYTES, payload);
                ch.begin(raw.get(4) & 0xFF).raw(payload);
                LocalChannel.Reply reply = ch.exchange();
                assertEquals(step.get("answer_type").getAsString(), FrameType.name(reply.type()));
                if (step.has("answer_code")) {
                    assertEquals(step.get("answer_code").getAsInt(), reply.code().code);
                } else {
                    assertNull(reply.value());
                }
            }
        }
    }

    /** Ignores every request but the one a test overrides. */
    abstract static class RequestHandlerAdapter implements RequestHandler {
        @Override
        public void call(int targetKind, long target, String name, Object[] args) {
        }

        @Override
        public void newInstance(long classId, Object[] args) {
        }

        @Override
        public void getField(int targetKind, long target, String name) {
        }

        @Override
        public void setField(int targetKind, long target, String name, Object value) {
        }

        @Override
        public void resolveClass(String name) {
        }

        @Override
        public void resolveMember(long classId, String name) {
        }

        @Override
        public void release(long[] handles) {
        }

        @Override
        public void instanceOf(Object value, long classId) {
        }

        @Override
        public void newArray(long componentClassId, int[] dims) {
        }

        @Override
        public void array(long handle, int op, int index, int stop, Object value) {
        }

        @Override
        public void sessionInfo() {
        }

        @Override
        public void callbackReturn(Object value) {
        }

        @Override
        public void callbackError(long throwable, String pythonType, String message) {
        }

        @Override
        public void serveCallbacks() {
        }

        @Override
        public void continueFrame() {
        }
    }

    private static void decode(byte[] frame, NameTable names, RequestHandler h) {
        ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
        FrameReader r = new FrameReader();
        r.reset(b, FrameType.HEADER_BYTES, frame.length);
        RequestDecoder.decode(b.get(4) & 0xFF, r, names, ClientValues.MODEL, h);
        assertNotNull(names);
    }
}
