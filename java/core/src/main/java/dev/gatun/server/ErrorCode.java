package dev.gatun.server;

/** The codes of an ERROR frame (protocol §3.3): Gatun refusing or failing a request. */
enum ErrorCode {
    NOT_ALLOWED(1),
    NO_SUCH_CLASS(2),
    NO_SUCH_MEMBER(3),
    NO_MATCHING_OVERLOAD(4),
    BAD_HANDLE(5),
    /** Malformed request; the channel is closed after the ERROR frame. */
    PROTOCOL(6),
    LIMIT(7),
    BAD_ARGUMENT(8);

    final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    static ErrorCode of(int code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown error code " + code);
    }
}
