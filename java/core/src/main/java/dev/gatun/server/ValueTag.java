package dev.gatun.server;

/** Value tags (protocol §4) and the shapes of a returned OBJECT. */
final class ValueTag {
    static final int NULL = 0x00;
    static final int TRUE = 0x01;
    static final int FALSE = 0x02;
    static final int BYTE = 0x03;
    static final int SHORT = 0x04;
    static final int CHAR = 0x05;
    static final int INT = 0x06;
    static final int LONG = 0x07;
    static final int FLOAT = 0x08;
    static final int DOUBLE = 0x09;
    static final int STRING = 0x0A;
    static final int BYTES = 0x0B;
    static final int OBJECT = 0x0C;
    static final int CLASS = 0x0D;
    static final int LIST = 0x0E;
    static final int MAP = 0x0F;
    static final int SET = 0x10;
    static final int CALLBACK = 0x11;
    static final int DECIMAL = 0x12;

    static final int SHAPE_PLAIN = 0;
    static final int SHAPE_LIST = 1;
    static final int SHAPE_MAP = 2;
    static final int SHAPE_SET = 3;
    static final int SHAPE_ARRAY = 4;
    static final int SHAPE_ITERATOR = 5;

    private ValueTag() {
    }

    /** The shape a client should give the proxy of {@code o}; the order decides for classes that are several. */
    static int shapeOf(Object o) {
        if (o.getClass().isArray()) {
            return SHAPE_ARRAY;
        } else if (o instanceof java.util.List) {
            return SHAPE_LIST;
        } else if (o instanceof java.util.Map) {
            return SHAPE_MAP;
        } else if (o instanceof java.util.Set) {
            return SHAPE_SET;
        } else if (o instanceof java.util.Iterator) {
            return SHAPE_ITERATOR;
        }
        return SHAPE_PLAIN;
    }
}
