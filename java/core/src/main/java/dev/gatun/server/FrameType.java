package dev.gatun.server;

/** Frame type codes (protocol §3.2, §3.3). Plain ints, because dispatch is a switch on the wire byte. */
final class FrameType {
    static final int CALL = 0x01;
    static final int NEW = 0x02;
    static final int GET_FIELD = 0x03;
    static final int SET_FIELD = 0x04;
    static final int RESOLVE_CLASS = 0x05;
    static final int RESOLVE_MEMBER = 0x06;
    static final int RELEASE = 0x07;
    static final int INSTANCE_OF = 0x08;
    static final int NEW_ARRAY = 0x09;
    static final int ARRAY = 0x0A;
    static final int SESSION_INFO = 0x0B;
    static final int CALLBACK_RETURN = 0x10;
    static final int CALLBACK_ERROR = 0x11;
    static final int SERVE_CALLBACKS = 0x20;
    static final int RETURN = 0x40;
    static final int THROW = 0x41;
    static final int ERROR = 0x42;
    static final int CALLBACK = 0x50;
    static final int CONTINUE = 0x7F;

    /** Header flag: this frame is a chunk and more chunks of the message follow (§3.1). */
    static final int FLAG_MORE = 0x01;
    static final int HEADER_BYTES = 16;

    /** Target kinds of CALL / GET_FIELD / SET_FIELD. */
    static final int TARGET_OBJECT = 0;
    static final int TARGET_CLASS = 1;

    /** Ops of the ARRAY request. */
    static final int ARRAY_LENGTH = 0;
    static final int ARRAY_GET = 1;
    static final int ARRAY_SET = 2;
    static final int ARRAY_SLICE = 3;

    private FrameType() {
    }

    static String name(int type) {
        return switch (type) {
            case CALL -> "CALL";
            case NEW -> "NEW";
            case GET_FIELD -> "GET_FIELD";
            case SET_FIELD -> "SET_FIELD";
            case RESOLVE_CLASS -> "RESOLVE_CLASS";
            case RESOLVE_MEMBER -> "RESOLVE_MEMBER";
            case RELEASE -> "RELEASE";
            case INSTANCE_OF -> "INSTANCE_OF";
            case NEW_ARRAY -> "NEW_ARRAY";
            case ARRAY -> "ARRAY";
            case SESSION_INFO -> "SESSION_INFO";
            case CALLBACK_RETURN -> "CALLBACK_RETURN";
            case CALLBACK_ERROR -> "CALLBACK_ERROR";
            case SERVE_CALLBACKS -> "SERVE_CALLBACKS";
            case RETURN -> "RETURN";
            case THROW -> "THROW";
            case ERROR -> "ERROR";
            case CALLBACK -> "CALLBACK";
            case CONTINUE -> "CONTINUE";
            default -> String.format("0x%02X", type);
        };
    }
}
