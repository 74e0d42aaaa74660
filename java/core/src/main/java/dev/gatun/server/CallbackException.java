package dev.gatun.server;

/**
 * Thrown by a callback proxy when the client's callback failed with an exception that is not a Java
 * Throwable (protocol §5: CALLBACK_ERROR without a throwable handle), or when the callback could not
 * be delivered at all (the client is gone).
 */
public class CallbackException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String pythonType;

    public CallbackException(String pythonType, String message) {
        super(pythonType.isEmpty() ? message : pythonType + ": " + message);
        this.pythonType = pythonType;
    }

    /** A failure of Gatun's, not of the callback. */
    public CallbackException(String message) {
        this(message, (Throwable) null);
    }

    public CallbackException(String message, Throwable cause) {
        super(message, cause);
        this.pythonType = "";
    }

    /** The client's exception type (e.g. {@code ValueError}); empty when the failure was Gatun's. */
    public String getPythonType() {
        return pythonType;
    }
}
