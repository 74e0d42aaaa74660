package dev.gatun.server;

/**
 * Gatun refusing or failing a request; becomes an ERROR frame with {@link #code()}.
 * Never used for exceptions of the called code: those travel as THROW with the real Throwable.
 */
final class GatunException extends RuntimeException {
    private final ErrorCode code;

    GatunException(ErrorCode code, String message) {
        // No stack trace: this is a reply to the client, not a bug report, and refusals can be frequent.
        super(message, null, false, false);
        this.code = code;
    }

    ErrorCode code() {
        return code;
    }

    static GatunException protocol(String message) {
        return new GatunException(ErrorCode.PROTOCOL, message);
    }

    static GatunException limit(String what, long size, long limit) {
        return new GatunException(ErrorCode.LIMIT,
                what + " of " + size + " bytes exceeds max message bytes (" + limit + ")");
    }
}
