package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A mutation loop over the two decoders a client's bytes reach first: the request decoder
 * (RequestDecoder + FrameReader) and the hand-shake parser ({@link GatunServer#judgeHello}). Seeds
 * are the golden vectors of spec/vectors; each input is a seed with 1-4 mutations (bit flips, bytes
 * set to edge values, u32 counts set to edge values, insertions, deletions, truncation, splices).
 *
 * <p>What must hold for every input: the request decoder returns or throws {@link GatunException},
 * nothing else, and allocates at most {@link #ALLOCATION_FACTOR} times the input plus a constant;
 * the hand-shake parser ends in at most three steps, asks for at most 56 bytes and gives a known
 * status. {@code -Dgatun.fuzz.iterations=N} sets the inputs per decoder (default: a short run for
 * CI; {@code make fuzz} runs 10 million). A failure prints the input in hex: add it to
 * {@link #REGRESSIONS}.
 */
class DecoderFuzzTest {
    static final int ITERATIONS = Integer.getInteger("gatun.fuzz.iterations", 30_000);
    static final long SEED = Long.getLong("gatun.fuzz.seed", System.nanoTime());
    static final int ALLOCATION_FACTOR = 32;
    static final long ALLOCATION_SLACK = 64 * 1024;

    /** Inputs (frame type byte + payload) that once broke a bound: kept as regression vectors. */
    static final List<String> REGRESSIONS = List.of(
            // CALL with argc 65535 in a 15-byte payload: 512 KB of argument array before the first value.
            "01" + "00" + "0100000000000000" + "00000000" + "ffff",
            // A CALLBACK value claiming 65535 interface names in 12 bytes.
            "10" + "11" + "0100000000000000" + "ffff");

    static List<byte[]> hexes(boolean hellos) throws IOException {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("spec/vectors/frames.json"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IOException("spec/vectors/frames.json not found");
        }
        Matcher m = Pattern.compile("\"hex\": \"([0-9a-f]*)\"").matcher(Files.readString(p.resolve("spec/vectors/frames.json")));
        List<byte[]> out = new ArrayList<>();
        while (m.find()) {
            byte[] b = HexFormat.of().parseHex(m.group(1));
            boolean hello = b.length >= 4 && b[0] == 'G' && b[1] == 'A' && b[2] == 'T' && b[3] == 'N';
            if (hello == hellos) {
                out.add(b);
            }
        }
        assertTrue(out.size() >= 2, "seeds from spec/vectors");
        return out;
    }

    static final int[] EDGE_BYTES = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x0E, 0x0F, 0x11};
    static final int[] EDGE_U32 = {0, 1, 2, 0x7F, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x80000000 | 5};

    static byte[] mutate(byte[] seed, List<byte[]> seeds, SplittableRandom r) {
        byte[] b = seed.clone();
        for (int k = 1 + r.nextInt(4); k > 0; k--) {
            int at = b.length == 0 ? 0 : r.nextInt(b.length);
            switch (r.nextInt(8)) {
                case 0 -> {
                    if (b.length > 0) {
                        b[at] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                case 1 -> {
                    if (b.length > 0) {
                        b[at] = (byte) EDGE_BYTES[r.nextInt(EDGE_BYTES.length)];
                    }
                }
                case 2 -> {
                    if (b.length >= 4) {
                        at = r.nextInt(b.length - 3);
                        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, EDGE_U32[r.nextInt(EDGE_U32.length)]);
                    }
                }
                case 3 -> { // insert random bytes
                    byte[] extra = new byte[1 + r.nextInt(8)];
                    r.nextBytes(extra);
                    b = splice(b, at, at, extra);
                }
                case 4 -> { // delete a range
                    if (b.length > 0) {
                        b = splice(b, at, Math.min(b.length, at + 1 + r.nextInt(8)), new byte[0]);
                    }
                }
                case 5 -> b = java.util.Arrays.copyOf(b, b.length == 0 ? 0 : r.nextInt(b.length)); // truncate
                case 6 -> { // splice in a piece of another seed
                    byte[] other = seeds.get(r.nextInt(seeds.size()));
                    if (other.length > 0) {
                        int from = r.nextInt(other.length);
                        b = splice(b, at, at, java.util.Arrays.copyOfRange(other, from,
                                Math.min(other.length, from + 1 + r.nextInt(32))));
                    }
                }
                default -> { // duplicate a range (repeated values, nesting)
                    if (b.length > 0) {
                        int end = Math.min(b.length, at + 1 + r.nextInt(16));
                        b = splice(b, at, at, java.util.Arrays.copyOfRange(b, at, end));
                    }
                }
            }
        }
        return b;
    }

    static byte[] splice(byte[] b, int from, int to, byte[] insert) {
        byte[] out = new byte[b.length - (to - from) + insert.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(b, to, out, from + insert.length, b.length - to);
        return out;
    }

    /** Values resolve to placeholders: the decoder's bounds are under test, not the session. */
    static final ValueDecoder VALUES = new ValueDecoder() {
        @Override
        public Object object(long handle) {
            return handle;
        }

        @Override
        public Object classRef(long id, String name) {
            return name;
        }

        @Override
        public Object callback(long id, String[] interfaces) {
            return interfaces;
        }
    };

    /** Accepts every request. */
    static final RequestHandler HANDLER = new RequestHandler() {
        public void call(int targetKind, long target, String name, Object[] args) { }
        public void newInstance(long classId, Object[] args) { }
        public void getField(int targetKind, long target, String name) { }
        public void setField(int targetKind, long target, String name, Object value) { }
        public void resolveClass(String name) { }
        public void resolveMember(long classId, String name) { }
        public void release(long[] handles) { }
        public void instanceOf(Object value, long classId) { }
        public void newArray(long componentClassId, int[] dims) { }
        public void array(long handle, int op, int index, int stop, Object value) { }
        public void sessionInfo() { }
        public void callbackReturn(Object value) { }
        public void callbackError(long throwable, String pythonType, String message) { }
        public void serveCallbacks() { }
        public void continueFrame() { }
    };

    static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Decodes one input (type byte + payload) as the server would; returns the bytes it allocated. */
    static long decodeRequest(byte[] input, NameTable names, FrameReader reader) {
        if (input.length == 0) {
            return 0;
        }
        ByteBuffer payload = ByteBuffer.wrap(input, 1, input.length - 1).slice().order(ByteOrder.LITTLE_ENDIAN);
        long tid = Thread.currentThread().getId();
        long before = THREADS.getThreadAllocatedBytes(tid);
        try {
            reader.reset(payload, 0, payload.capacity());
            RequestDecoder.decode(input[0] & 0xFF, reader, names, VALUES, HANDLER);
        } catch (GatunException e) {
            // refused: what bad input must get
        } catch (Throwable t) {
            fail("the request decoder threw " + t + " for " + HexFormat.of().formatHex(input), t);
        }
        return THREADS.getThreadAllocatedBytes(tid) - before;
    }

    static NameTable names() {
        NameTable names = new NameTable();
        names.define(NameTable.MAX_ID - 1, "x"); // grown once, as a long-lived channel's table may be
        names.define(0, "toString");
        return names;
    }

    static void checkRequest(byte[] input, NameTable names, FrameReader reader) {
        decodeRequest(input, names, reader); // the first run of a path may load and initialise classes
        long allocated = decodeRequest(input, names, reader);
        if (allocated > ALLOCATION_FACTOR * (long) input.length + ALLOCATION_SLACK) {
            fail("the request decoder allocated " + allocated + " bytes for " + input.length + " bytes of input: "
                    + HexFormat.of().formatHex(input));
        }
    }

    @Test
    void requestDecoderRegressions() {
        NameTable names = names();
        FrameReader reader = new FrameReader();
        for (String hex : REGRESSIONS) {
            checkRequest(HexFormat.of().parseHex(hex), names, reader);
        }
    }

    @Test
    void requestDecoderUnderMutation() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        for (byte[] frame : hexes(false)) {
            if (frame.length >= 16) {
                seeds.add(splice(java.util.Arrays.copyOfRange(frame, 16, frame.length), 0, 0, new byte[] {frame[4]}));
            }
        }
        NameTable names = names();
        FrameReader reader = new FrameReader();
        SplittableRandom r = new SplittableRandom(SEED);
        for (byte[] s : seeds) {
            checkRequest(s, names, reader);
        }
        long start = System.nanoTime();
        for (int i = 0; i < ITERATIONS; i++) {
            checkRequest(mutate(seeds.get(r.nextInt(seeds.size())), seeds, r), names, reader);
        }
        System.out.printf("request decoder: %,d mutated inputs in %.1f s, 0 failures (seed %d)%n", ITERATIONS,
                (System.nanoTime() - start) / 1e9, SEED);
    }

    @Test
    void handShakeParserUnderMutation() throws IOException {
        List<byte[]> seeds = hexes(true);
        byte[] token = java.util.Arrays.copyOfRange(seeds.get(0), 8, 40);
        SplittableRandom r = new SplittableRandom(SEED);
        long start = System.nanoTime();
        int accepted = 0;
        for (int i = 0; i < ITERATIONS + seeds.size(); i++) {
            byte[] in = i < seeds.size() ? seeds.get(i) : mutate(seeds.get(r.nextInt(seeds.size())), seeds, r);
            try {
                Handshake.Hello h = new Handshake.Hello(0, null, 0, 8, null);
                int steps = 0;
                int had = 0;
                while (h.needed() > 0 && h.needed() <= in.length) {
                    assertTrue(h.needed() > had && h.needed() <= 56, "asked for " + h.needed() + " after " + had);
                    had = h.needed();
                    h = Handshake.judgeHello(in, had, token);
                    assertTrue(++steps <= 3, "more than three steps");
                }
                if (h.needed() == 0) {
                    assertTrue(h.status() >= 0 && h.status() <= 3, "status " + h.status());
                    if (h.status() == 0) {
                        accepted++;
                        assertTrue(h.kind() == 1 || h.kind() == 2, "kind " + h.kind());
                        assertEquals(h.kind() == 2 ? 32 : -1, h.session() == null ? -1 : h.session().length());
                    } else {
                        assertTrue(h.message() != null && !h.message().isEmpty());
                    }
                }
            } catch (Throwable t) {
                fail("the hand-shake parser failed on " + HexFormat.of().formatHex(in) + ": " + t, t);
            }
        }
        assertTrue(accepted >= seeds.size(), "the seeds themselves are accepted");
        System.out.printf("hand-shake parser: %,d mutated inputs in %.1f s, 0 failures, %d accepted (seed %d)%n",
                ITERATIONS, (System.nanoTime() - start) / 1e9, accepted, SEED);
    }
}
