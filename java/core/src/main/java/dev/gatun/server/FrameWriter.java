package dev.gatun.server;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds one message. It writes straight into the data area of the region (payload after the
 * 16-byte header) and, when the message outgrows the area, moves to a heap buffer that
 * {@link Channel#send()} then sends in chunks. In both buffers the payload starts at offset 16.
 */
final class FrameWriter {
    /** Strings up to this length are written char by char, without allocating their UTF-8 bytes. */
    private static final int INLINE_STRING = 256;

    private final ByteBuffer area;
    private final long maxMessageBytes;
    private ByteBuffer buf;
    private int type;

    FrameWriter(ByteBuffer area, long maxMessageBytes) {
        this.area = area;
        this.maxMessageBytes = maxMessageBytes;
        this.buf = area;
    }

    FrameWriter begin(int frameType) {
        buf = area;
        buf.clear().position(FrameType.HEADER_BYTES);
        type = frameType;
        return this;
    }

    int type() {
        return type;
    }

    int payloadLength() {
        return buf.position() - FrameType.HEADER_BYTES;
    }

    /** True when the payload lives in a heap buffer and must be sent in chunks. */
    boolean spilled() {
        return buf != area;
    }

    /** The buffer holding the payload at {@code [16, 16 + payloadLength())}. */
    ByteBuffer buffer() {
        return buf;
    }

    private void ensure(int n) {
        long needed = (long) buf.position() + n;
        // The limit holds for messages that fit in the region too: the client's limit is the same.
        if (needed - FrameType.HEADER_BYTES > maxMessageBytes) {
            throw GatunException.limit("a " + FrameType.name(type) + " message", needed - FrameType.HEADER_BYTES,
                    maxMessageBytes);
        }
        if (buf.remaining() < n) {
            grow(needed);
        }
    }

    private void grow(long needed) {
        long capacity = Math.min(Math.max(needed, buf.capacity() * 2L), maxMessageBytes + FrameType.HEADER_BYTES);
        ByteBuffer bigger = ByteBuffer.allocate((int) capacity).order(ByteOrder.LITTLE_ENDIAN);
        bigger.put(buf.flip());
        buf = bigger;
    }

    FrameWriter u8(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    FrameWriter u16(int v) {
        ensure(2);
        buf.putShort((short) v);
        return this;
    }

    FrameWriter i32(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    FrameWriter i64(long v) {
        ensure(8);
        buf.putLong(v);
        return this;
    }

    FrameWriter f32(float v) {
        ensure(4);
        buf.putFloat(v);
        return this;
    }

    FrameWriter f64(double v) {
        ensure(8);
        buf.putDouble(v);
        return this;
    }

    FrameWriter raw(byte[] b) {
        ensure(b.length);
        buf.put(b);
        return this;
    }

    FrameWriter bytes(byte[] b) {
        return i32(b.length).raw(b);
    }

    FrameWriter string(String s) {
        int n = s.length();
        if (n <= INLINE_STRING && isAscii(s, n)) {
            ensure(4 + n);
            buf.putInt(n);
            for (int i = 0; i < n; i++) {
                buf.put((byte) s.charAt(i));
            }
            return this;
        }
        return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    private static boolean isAscii(String s, int n) {
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /** An OBJECT value as the server sends it: handle and shape. */
    FrameWriter objectRef(long handle, int shape) {
        return u8(ValueTag.OBJECT).i64(handle).u8(shape);
    }

    FrameWriter classRef(long id, String name) {
        return u8(ValueTag.CLASS).i64(id).string(name);
    }

    /**
     * A value the server returns (§4.1): the by-value types with their tags, every other object
     * registered in the session and sent as OBJECT.
     */
    FrameWriter result(Object v, ObjectRegistry registry) {
        if (v == null) {
            return u8(ValueTag.NULL);
        }
        Class<?> c = v.getClass();
        if (c == String.class) {
            return u8(ValueTag.STRING).string((String) v);
        } else if (c == Integer.class) {
            return u8(ValueTag.INT).i32((Integer) v);
        } else if (c == Long.class) {
            return u8(ValueTag.LONG).i64((Long) v);
        } else if (c == Boolean.class) {
            return u8((Boolean) v ? ValueTag.TRUE : ValueTag.FALSE);
        } else if (c == Double.class) {
            return u8(ValueTag.DOUBLE).f64((Double) v);
        } else if (c == Float.class) {
            return u8(ValueTag.FLOAT).f32((Float) v);
        } else if (c == Short.class) {
            return u8(ValueTag.SHORT).u16((Short) v);
        } else if (c == Byte.class) {
            return u8(ValueTag.BYTE).u8((Byte) v);
        } else if (c == Character.class) {
            return u8(ValueTag.CHAR).u16((Character) v);
        } else if (c == byte[].class) {
            return u8(ValueTag.BYTES).bytes((byte[]) v);
        } else if (v instanceof BigDecimal) {
            return u8(ValueTag.DECIMAL).string(v.toString());
        }
        return objectRef(registry.register(v), ValueTag.shapeOf(v));
    }
}
