package dev.gatun.server;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a message payload: the mapped data area itself for single-chunk messages, an assembled heap
 * buffer for chunked ones. Every read checks the bounds, and running out of bytes is a protocol error.
 */
final class FrameReader {
    private static final Object[] NO_ARGS = new Object[0];

    private ByteBuffer buf;
    private byte[] scratch = new byte[256];

    /** Reads {@code [start, end)} of {@code buffer} (little-endian) from now on. */
    void reset(ByteBuffer buffer, int start, int end) {
        buf = buffer;
        buffer.limit(end).position(start);
    }

    int remaining() {
        return buf.remaining();
    }

    /** Ends the decoding of a frame: a well-formed frame has nothing left over. */
    void expectEnd(int type) {
        if (buf.hasRemaining()) {
            throw GatunException.protocol(FrameType.name(type) + " frame has " + buf.remaining() + " trailing bytes");
        }
    }

    private void need(int n) {
        if (buf.remaining() < n) {
            throw GatunException.protocol("frame is truncated: needed " + n + " more bytes, " + buf.remaining() + " left");
        }
    }

    int u8() {
        need(1);
        return buf.get() & 0xFF;
    }

    int u16() {
        need(2);
        return buf.getShort() & 0xFFFF;
    }

    int i32() {
        need(4);
        return buf.getInt();
    }

    long i64() {
        need(8);
        return buf.getLong();
    }

    /** A u32 count of items that take at least {@code minItemBytes} each, so a bad count cannot make us allocate. */
    int count(int minItemBytes) {
        long n = Integer.toUnsignedLong(i32());
        if (n * minItemBytes > buf.remaining()) {
            throw GatunException.protocol("count " + n + " is larger than the rest of the frame");
        }
        return (int) n;
    }

    /** A count already read: refused unless {@code n} items of {@code minItemBytes} fit in the rest (found by DecoderFuzzTest). */
    private int checkCount(int n, int minItemBytes) {
        if ((long) n * minItemBytes > buf.remaining()) {
            throw GatunException.protocol("count " + n + " is larger than the rest of the frame");
        }
        return n;
    }

    String string() {
        return utf8(count(1));
    }

    private String utf8(int n) {
        need(n);
        String s;
        if (buf.hasArray()) {
            s = new String(buf.array(), buf.arrayOffset() + buf.position(), n, StandardCharsets.UTF_8);
        } else {
            if (scratch.length < n) {
                scratch = new byte[Math.max(n, scratch.length * 2)];
            }
            buf.get(buf.position(), scratch, 0, n);
            s = new String(scratch, 0, n, StandardCharsets.UTF_8);
        }
        buf.position(buf.position() + n);
        return s;
    }

    byte[] bytes() {
        byte[] b = new byte[count(1)];
        buf.get(b);
        return b;
    }

    /** A {@code Name}: a known id, or (bit 31 set) an id defined right here. */
    String name(NameTable names) {
        int id = i32();
        if ((id & NameTable.DEFINE_BIT) == 0) {
            return names.get(id);
        }
        String name = utf8(u16());
        names.define(id & ~NameTable.DEFINE_BIT, name);
        return name;
    }

    /** {@code u16 argc} and the values. */
    Object[] args(ValueDecoder decoder) {
        int n = u16();
        if (n == 0) {
            return NO_ARGS;
        }
        checkCount(n, 1); // a value takes at least its tag
        Object[] args = new Object[n];
        for (int i = 0; i < n; i++) {
            args[i] = value(decoder);
        }
        return args;
    }

    Object value(ValueDecoder decoder) {
        int tag = u8();
        switch (tag) {
            case ValueTag.NULL:
                return null;
            case ValueTag.TRUE:
                return Boolean.TRUE;
            case ValueTag.FALSE:
                return Boolean.FALSE;
            case ValueTag.BYTE:
                need(1);
                return buf.get();
            case ValueTag.SHORT:
                need(2);
                return buf.getShort();
            case ValueTag.CHAR:
                need(2);
                return buf.getChar();
            case ValueTag.INT:
                return i32();
            case ValueTag.LONG:
                return i64();
            case ValueTag.FLOAT:
                need(4);
                return buf.getFloat();
            case ValueTag.DOUBLE:
                need(8);
                return buf.getDouble();
            case ValueTag.STRING:
                return string();
            case ValueTag.BYTES:
                return bytes();
            case ValueTag.OBJECT: {
                long handle = i64();
                return decoder.objectsHaveShape() ? decoder.object(handle, u8()) : decoder.object(handle);
            }
            case ValueTag.CLASS: {
                long id = i64();
                return decoder.classRef(id, string());
            }
            case ValueTag.LIST: {
                int n = count(1);
                List<Object> list = decoder.newList(n);
                for (int i = 0; i < n; i++) {
                    list.add(value(decoder));
                }
                return list;
            }
            case ValueTag.MAP: {
                int n = count(2);
                Map<Object, Object> map = decoder.newMap(n);
                for (int i = 0; i < n; i++) {
                    Object key = value(decoder);
                    map.put(key, value(decoder));
                }
                return map;
            }
            case ValueTag.SET: {
                int n = count(1);
                Set<Object> set = decoder.newSet(n);
                for (int i = 0; i < n; i++) {
                    set.add(value(decoder));
                }
                return set;
            }
            case ValueTag.CALLBACK: {
                long id = i64();
                String[] interfaces = new String[checkCount(u16(), 4)]; // a name takes at least its length
                for (int i = 0; i < interfaces.length; i++) {
                    interfaces[i] = string();
                }
                return decoder.callback(id, interfaces);
            }
            case ValueTag.DECIMAL: {
                String text = string();
                try {
                    return new BigDecimal(text);
                } catch (NumberFormatException e) {
                    throw new GatunException(ErrorCode.BAD_ARGUMENT, "not a decimal number: '" + text + "'");
                }
            }
            default:
                throw GatunException.protocol(String.format("unknown value tag 0x%02X", tag));
        }
    }
}
