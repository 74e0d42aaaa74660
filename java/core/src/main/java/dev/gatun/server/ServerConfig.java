package dev.gatun.server;

import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A server's settings as {@link GatunServer.Builder} left them, every default already applied.
 *
 * @param socketDir the socket directory asked for; null for a new private temporary one
 * @param maxSessionBytes already resolved: never 0
 * @param token the 32-byte token, already drawn if none was given; never handed out
 * @param warmUpIdle where the warm-up learns whether a core is idle
 */
record ServerConfig(
        Path socketDir,
        Allowlist allowlist,
        long regionBytes,
        long maxMessageBytes,
        long maxSessionBytes,
        long connectionStackBytes,
        Supplier<WaitPolicy> waitPolicies,
        byte[] token,
        boolean allowShutdown,
        ClassLoader classLoader,
        int warmUpRequests,
        IdleCores warmUpIdle) {

    /**
     * The stack one level of nested callbacks may take, with a wide margin over the measured 3-5 KB,
     * so that the depth limit ({@link #maxCallbackDepth()}) is reached before the stack overflows.
     */
    static final long STACK_BYTES_PER_CALLBACK = 16 * 1024;

    static void checkMaxMessageBytes(long bytes) {
        if (bytes < 64 || bytes > GatunServer.DEFAULT_MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("max message bytes must be between 64 and "
                    + GatunServer.DEFAULT_MAX_MESSAGE_BYTES + ", not " + bytes);
        }
    }

    /** How deep callbacks may nest on a channel thread before the server refuses the next one (§5.1). */
    int maxCallbackDepth() {
        return (int) Math.max(1, connectionStackBytes / STACK_BYTES_PER_CALLBACK);
    }
}
