package dev.gatun.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;

/**
 * A session's control connection after its hand-shake (protocol §1.3): CANCEL, CLOSE and SHUTDOWN.
 * Its end, for whatever reason, is the session's end, because the session's owner can no longer
 * reach it.
 */
final class ControlConnection {
    private static final System.Logger LOG = System.getLogger(ControlConnection.class.getName());
    private static final int CANCEL = 0x01;
    private static final int CLOSE = 0x02;
    private static final int SHUTDOWN = 0x03;

    private ControlConnection() {
    }

    /**
     * Reads {@code connection} until CLOSE, SHUTDOWN or EOF on the calling thread, then closes the
     * session. A SHUTDOWN runs {@code shutdown} if {@code allowShutdown}, and is ignored otherwise.
     */
    static void serve(Session session, SocketChannel connection, boolean allowShutdown, Runnable shutdown) {
        Thread.currentThread().setName("gatun-control-" + session.idHex().substring(0, 8));
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (true) {
                b.clear();
                if (!Handshake.readFully(connection, b, 1)) {
                    return;
                }
                int type = b.get(0) & 0xFF;
                if (type == CANCEL) {
                    b.clear();
                    if (!Handshake.readFully(connection, b, 4)) {
                        return;
                    }
                    session.cancel(b.getInt(0));
                } else if (type == CLOSE) {
                    return;
                } else if (type == SHUTDOWN) {
                    if (allowShutdown) {
                        LOG.log(System.Logger.Level.INFO, "shutdown requested by a client");
                        shutdown.run();
                        return;
                    }
                    LOG.log(System.Logger.Level.WARNING, "SHUTDOWN refused: the server runs without --allow-shutdown");
                } else {
                    LOG.log(System.Logger.Level.WARNING, "unknown control message " + type + "; ending the session");
                    return;
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "control connection ended: " + e);
        } finally {
            session.close();
        }
    }
}
