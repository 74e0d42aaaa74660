package dev.gatun.server;

/**
 * The client-to-server messages (protocol §3.2), one method each, as {@link RequestDecoder} hands them
 * over after decoding a whole frame. Handles and class ids arrive raw: resolving them is the
 * handler's business, so that a bad one is refused by the handler after the frame was fully read.
 */
interface RequestHandler {
    void call(int targetKind, long target, String name, Object[] args);

    void newInstance(long classId, Object[] args);

    void getField(int targetKind, long target, String name);

    void setField(int targetKind, long target, String name, Object value);

    void resolveClass(String name);

    void resolveMember(long classId, String name);

    void release(long[] handles);

    void instanceOf(Object value, long classId);

    void newArray(long componentClassId, int[] dims);

    /**
     * ARRAY request. {@code index} is the index for get/set and the start for slice; {@code stop} is
     * only used by slice, {@code value} only by set.
     */
    void array(long handle, int op, int index, int stop, Object value);

    /** SESSION_INFO: the number of live objects in the session's registry and of open channels. */
    void sessionInfo();

    void callbackReturn(Object value);

    void callbackError(long throwable, String pythonType, String message);

    void serveCallbacks();

    void continueFrame();
}
