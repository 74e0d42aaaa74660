package dev.gatun.server;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Accepts connections and gives each a thread of its own, which does the hand-shake and then stays
 * the connection's thread for good: the control reader of a session, or the pinned thread of a
 * channel. Pinning is why the thread's stack is set here: it is the stack nested callbacks run on.
 */
final class AcceptLoop implements Runnable {
    private static final System.Logger LOG = System.getLogger(AcceptLoop.class.getName());

    private final GatunServer server;
    private final ServerConfig config;
    private final ServerSocketChannel listener;
    private final ScheduledExecutorService timer;
    private final Path shmDir;

    AcceptLoop(GatunServer server, ServerConfig config, ServerSocketChannel listener, ScheduledExecutorService timer,
            Path shmDir) {
        this.server = server;
        this.config = config;
        this.listener = listener;
        this.timer = timer;
        this.shmDir = shmDir;
    }

    @Override
    public void run() {
        long backOff = 0;
        while (!server.isClosed()) {
            SocketChannel connection;
            try {
                connection = listener.accept();
                backOff = 0;
            } catch (java.nio.channels.ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
                // Out of file descriptors (EMFILE/ENFILE) or another passing failure: the
                // connection waits in the backlog (its client times out after 10 s); keep serving
                // the sessions there are and accept again once descriptors are free (issue 13).
                if (backOff == 0) {
                    try {
                        LOG.log(System.Logger.Level.WARNING, "accept failed, retrying: " + e);
                    } catch (RuntimeException | Error logFailed) {
                        // Logging may need a descriptor too (a log file, the time-zone data):
                        // it must not end the accept loop.
                    }
                }
                backOff = Math.min(100, Math.max(1, backOff * 2));
                try {
                    Thread.sleep(backOff);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            Thread t = new Thread(null, () -> serveConnection(connection), "gatun-handshake",
                    config.connectionStackBytes());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serveConnection(SocketChannel connection) {
        ScheduledFuture<?> timeout;
        try {
            timeout = timer.schedule(() -> Handshake.closeQuietly(connection), Handshake.TIMEOUT_MILLIS,
                    TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) { // the server is closing
            Handshake.closeQuietly(connection);
            return;
        }
        try {
            Handshake.Hello h = Handshake.readHello(connection, config.token());
            if (h.status() != Handshake.OK) {
                Handshake.refuse(connection, h.status(), h.message());
                return;
            }
            if (h.kind() == Handshake.KIND_SESSION) {
                Session session = openSession(connection);
                timeout.cancel(false);
                ControlConnection.serve(session, connection, config.allowShutdown(), server::close);
                return;
            }
            Session session = server.session(h.session());
            if (session == null) {
                Handshake.refuse(connection, Handshake.UNKNOWN_SESSION, "unknown session");
                return;
            }
            RequestLoop channel = openChannel(session, connection);
            timeout.cancel(false);
            if (channel != null && session.addChannel(channel)) {
                Thread.currentThread().setName("gatun-channel-" + channel.id());
                channel.run();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "connection ended during the hand-shake: " + e);
            Handshake.closeQuietly(connection);
        } finally {
            timeout.cancel(false);
        }
    }

    private Session openSession(SocketChannel connection) throws IOException {
        byte[] id = new byte[16];
        server.random().nextBytes(id);
        Session session = new Session(server, id, connection);
        server.sessionStarted(session);
        // After the registration: a close() that has passed its sweep of the sessions misses this one.
        if (server.isClosed()) {
            session.close();
            throw new IOException("server closed");
        }
        try {
            Handshake.welcomeSession(connection, id, config.maxMessageBytes());
        } catch (IOException e) {
            session.close();
            throw e;
        }
        return session;
    }

    /** Creates the region, sends WELCOME, waits for MAPPED; the file is unlinked in every case. */
    private RequestLoop openChannel(Session session, SocketChannel connection) throws IOException {
        int id = session.nextChannelId();
        Path file = shmDir.resolve("gatun-" + session.idHex().substring(0, 8) + "-" + id);
        long regionBytes = config.regionBytes();
        ShmRegion region;
        try {
            region = ShmRegion.create(file, regionBytes);
        } catch (IOException e) {
            Handshake.refuse(connection, Handshake.LIMIT_REACHED,
                    "cannot create a shared-memory region of " + regionBytes + " bytes: " + e);
            return null;
        }
        try {
            if (!Handshake.welcomeChannel(connection, id, regionBytes, file.toString())) {
                return null;
            }
        } finally {
            Files.deleteIfExists(file);
        }
        Channel channel = new Channel(region, connection, true, config.maxMessageBytes(), config.waitPolicies().get());
        channel.budget(session);
        return new RequestLoop(session, id, channel);
    }
}
