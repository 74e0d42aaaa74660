package dev.gatun.server;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The Gatun server: a Unix-socket listener that opens sessions and channels (protocol §1) and serves
 * them. Embedded use:
 *
 * <pre>{@code
 * GatunServer server = GatunServer.builder().allowlist(Allowlist.all()).build().start();
 * server.writeConnectionInfo(Path.of("/run/user/1000/gatun.json"));
 * ...
 * server.close();
 * }</pre>
 *
 * <p>This class is the server's lifetime and its sessions; the parts live beside it:
 * {@link ServerConfig} (what the builder set), {@link ServerFiles} (directories, socket, info file),
 * {@link AcceptLoop} (a thread per connection), {@link Handshake} (HELLO and WELCOME),
 * {@link ControlConnection} (CANCEL, CLOSE, SHUTDOWN) and {@link ClassLookup} (RESOLVE_CLASS names).
 *
 * <p>Threads (all daemon): one accept thread; one per connection, which does the hand-shake and then
 * stays the connection's thread (control reader, or pinned channel thread); one timer for
 * hand-shake timeouts.
 */
public final class GatunServer implements AutoCloseable {
    public static final int PROTOCOL_VERSION = 1;
    public static final long DEFAULT_REGION_BYTES = 4L * 1024 * 1024;
    public static final long DEFAULT_MAX_MESSAGE_BYTES = 2_147_483_000L;
    /**
     * The stack of a connection's thread, which becomes the channel's thread: nested callbacks
     * (§5.1) take about 3-5 KB of it per level, so the default 1 MB overflowed at 200-400 levels,
     * well before a client runs out of its own stack (CPython, with its recursion limit raised,
     * crashes on its C stack between 6,000 and 8,000 levels). Reserved address space: only the
     * pages a deep nesting touches take memory.
     */
    static final long DEFAULT_CONNECTION_STACK_BYTES = 128L * 1024 * 1024;

    private static final System.Logger LOG = System.getLogger(GatunServer.class.getName());

    private final ServerConfig config;
    private final ClassLookup classes;
    private final Invoker invoker;
    private final SecureRandom random = new SecureRandom();
    /** The start-up warm-up's outcome (requests made); complete at once when there is none. */
    private volatile CompletableFuture<Integer> warmUp = CompletableFuture.completedFuture(0);
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch closedLatch = new CountDownLatch(1);

    private ServerFiles files;
    /** The socket file this server created; only that one is deleted on close. */
    private Path boundSocket;
    private ServerSocketChannel listener;
    private ScheduledExecutorService timer;

    private GatunServer(ServerConfig config) {
        this.config = config;
        this.classes = new ClassLookup(config.classLoader());
        this.invoker = new Invoker(config.allowlist());
    }

    private static ClassLoader defaultClassLoader() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        return context != null ? context : GatunServer.class.getClassLoader();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configuration of a server; every setting has a default. */
    public static final class Builder {
        private Path socketDir;
        private Allowlist allowlist = Allowlist.standard();
        private long regionBytes = DEFAULT_REGION_BYTES;
        private long maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private long maxSessionBytes;
        private long connectionStackBytes = DEFAULT_CONNECTION_STACK_BYTES;
        private byte[] token;
        private boolean allowShutdown;
        private ClassLoader classLoader;
        private int warmUpRequests;
        private IdleCores warmUpIdle = IdleCores.ofThisMachine();
        private Supplier<WaitPolicy> waitPolicies = WaitPolicy.factory(WaitPolicy.DEFAULT);

        private Builder() {
        }

        /** Where the socket lives; created with mode 0700 if missing, refused if it exists with wider access. Default: a new private temporary directory. */
        public Builder socketDir(Path dir) {
            this.socketDir = dir;
            return this;
        }

        /** Default: {@link Allowlist#standard()}. */
        public Builder allowlist(Allowlist list) {
            this.allowlist = list;
            return this;
        }

        /** Size of each channel's shared-memory region, 64 KiB to 1 GiB; default 4 MiB. */
        public Builder regionBytes(long bytes) {
            ShmRegion.checkSize(bytes);
            this.regionBytes = bytes;
            return this;
        }

        /** Largest message in either direction; default 2,147,483,000. */
        public Builder maxMessageBytes(long bytes) {
            ServerConfig.checkMaxMessageBytes(bytes);
            this.maxMessageBytes = bytes;
            return this;
        }

        /**
         * The largest total of the chunked messages one session may be receiving at once, over all
         * its channels (protocol §4.3); 0, the default, means the max message bytes: one client
         * cannot make the server hold more than one largest message at a time.
         */
        public Builder maxSessionBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("max session bytes must be 0 (the max message bytes) or more, not "
                        + bytes);
            }
            this.maxSessionBytes = bytes;
            return this;
        }

        /** The stack size of connection (and so channel) threads; tests use small ones to reach the depth limit. */
        Builder connectionStackBytes(long bytes) {
            this.connectionStackBytes = bytes;
            return this;
        }

        /** The 32-byte token clients must present; default: random. */
        public Builder token(byte[] token) {
            if (token.length != 32) {
                throw new IllegalArgumentException("the token must be 32 bytes, not " + token.length);
            }
            this.token = token.clone();
            return this;
        }

        /** The token as 64 hex digits. */
        public Builder token(String hex) {
            return token(HexFormat.of().parseHex(hex));
        }

        /** Whether a client may stop the server (control SHUTDOWN); default false. */
        public Builder allowShutdown(boolean allow) {
            this.allowShutdown = allow;
            return this;
        }

        /** Where RESOLVE_CLASS looks; default: the context class loader of the building thread. */
        public Builder classLoader(ClassLoader loader) {
            this.classLoader = loader;
            return this;
        }

        /**
         * How many requests the server makes to itself right after {@link #start()}, on a background
         * thread, so the JIT compiles its request path before clients need it (see {@link WarmUp});
         * default 0 (none). About 30,000 reaches the compiled steady state. It runs only while a
         * core is idle, so on busy cores it waits instead of taking their CPU.
         */
        public Builder warmUp(int requests) {
            if (requests < 0) {
                throw new IllegalArgumentException("warm-up requests must be 0 or more, not " + requests);
            }
            this.warmUpRequests = requests;
            return this;
        }

        /** Where the warm-up learns whether a core is idle (tests give it a machine of their own). */
        Builder warmUpIdle(IdleCores idle) {
            this.warmUpIdle = idle;
            return this;
        }

        /**
         * How each channel thread waits for its client's next request (protocol §2.2):
         * {@code adaptive} (default), {@code park} or {@code spin:MICROS}.
         *
         * @throws IllegalArgumentException for any other name
         */
        public Builder waitPolicy(String name) {
            this.waitPolicies = WaitPolicy.factory(name);
            return this;
        }

        public GatunServer build() {
            byte[] t = token;
            if (t == null) {
                t = new byte[32];
                new SecureRandom().nextBytes(t);
            }
            return new GatunServer(new ServerConfig(socketDir, allowlist, regionBytes, maxMessageBytes,
                    maxSessionBytes > 0 ? maxSessionBytes : maxMessageBytes, connectionStackBytes, waitPolicies, t,
                    allowShutdown, classLoader != null ? classLoader : defaultClassLoader(), warmUpRequests,
                    warmUpIdle));
        }
    }

    /** Creates the directories and the socket and starts accepting. */
    public GatunServer start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        try {
            files = ServerFiles.prepare(config.socketDir());
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(files.socketPath()));
            boundSocket = files.socketPath();
            files.restrictSocket();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "gatun-timer"));
        // The log formatter reads the time-zone data file on first use: load it now, so that a
        // warning logged when the process is out of file descriptors does not fail for want of one.
        java.util.TimeZone.getDefault();
        daemon(new AcceptLoop(this, config, listener, timer, files.shmDir()), "gatun-accept").start();
        if (config.warmUpRequests() > 0) {
            WarmUp w = new WarmUp(this, config.warmUpRequests(), config.warmUpIdle());
            warmUp = w.done;
            daemon(w, "gatun-warm-up").start();
        }
        return this;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public ConnectionInfo connectionInfo() {
        if (files == null) {
            throw new IllegalStateException("not started");
        }
        return new ConnectionInfo(PROTOCOL_VERSION, files.socketPath(), HexFormat.of().formatHex(config.token()),
                ProcessHandle.current().pid());
    }

    /** Writes the connection info JSON atomically (temporary file in the same directory, then rename), mode 0600. */
    public void writeConnectionInfo(Path file) throws IOException {
        ServerFiles.writeAtomically(file, connectionInfo().toJson() + "\n");
    }

    public Path socketPath() {
        return files == null ? null : files.socketPath();
    }

    /** The name of the wait policy every channel uses ({@link Builder#waitPolicy}). */
    public String waitPolicy() {
        return config.waitPolicies().get().name();
    }

    /** Completes when the start-up warm-up ({@link Builder#warmUp}) has ended, with the number of requests it made. */
    public CompletableFuture<Integer> warmUp() {
        return warmUp;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Blocks until the server is closed (by {@link #close()} or a client's SHUTDOWN). */
    public void awaitClose() throws InterruptedException {
        closedLatch.await();
    }

    /** Stops accepting, ends every session and removes the socket and region files. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (listener != null) {
                listener.close();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing listener", e);
        }
        for (Session s : new ArrayList<>(sessions.values())) {
            s.close();
        }
        if (timer != null) {
            timer.shutdownNow();
        }
        if (files != null) {
            files.delete(boundSocket);
        }
        closedLatch.countDown();
    }

    /**
     * Ties {@code resource} to the session whose request the calling thread is executing: it is
     * closed when that session ends, and so when the server stops. Returns what unties it again
     * (call it when the resource is closed first, so that the session does not keep it). Outside
     * any request (a library used by JVM code) nothing is tied and the returned action does nothing.
     * The Arrow data plane ties its shared-memory arenas this way, so that a client that made one and
     * went away leaves nothing in {@code /dev/shm}.
     */
    public static Runnable closeWithSession(AutoCloseable resource) {
        RequestLoop current = RequestLoop.current();
        if (current == null) {
            return () -> { };
        }
        return current.session().own(resource);
    }

    // Package-private for sessions, request loops and tests.

    Invoker invoker() {
        return invoker;
    }

    Allowlist allowlist() {
        return config.allowlist();
    }

    ClassLoader classLoader() {
        return classes.loader();
    }

    long maxSessionBytes() {
        return config.maxSessionBytes();
    }

    /** How deep callbacks may nest on a channel thread before the server refuses the next one (§5.1). */
    int maxCallbackDepth() {
        return config.maxCallbackDepth();
    }

    SecureRandom random() {
        return random;
    }

    Collection<Session> sessions() {
        return sessions.values();
    }

    /**
     * The requests the sessions other than {@code except} (an id in hex, or null) have started, or
     * -1 while one of them runs: the same value before and after a period means no client was
     * served in it.
     */
    long clientActivity(String except) {
        long sum = 0;
        for (Session s : sessions.values()) {
            if (s.idHex().equals(except)) {
                continue;
            }
            long a = s.activity();
            if (a < 0) {
                return -1;
            }
            sum += a;
        }
        return sum;
    }

    Session session(String idHex) {
        return sessions.get(idHex);
    }

    void sessionStarted(Session s) {
        sessions.put(s.idHex(), s);
    }

    void sessionEnded(Session s) {
        sessions.remove(s.idHex());
    }

    /** See {@link ClassLookup#find}. */
    Class<?> findClass(String name) throws InterruptedException {
        return classes.find(name);
    }
}
