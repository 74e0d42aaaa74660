package dev.gatun.server;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
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
 * <p>Threads (all daemon): one accept thread; one per connection, which does the hand-shake and then
 * stays the connection's thread (control reader, or pinned channel thread); one timer for
 * hand-shake timeouts.
 */
public final class GatunServer implements AutoCloseable {
    public static final int PROTOCOL_VERSION = 1;
    public static final long DEFAULT_REGION_BYTES = 4L * 1024 * 1024;
    public static final long DEFAULT_MAX_MESSAGE_BYTES = 2_147_483_000L;
    static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /**
     * The stack of a connection's thread, which becomes the channel's thread: nested callbacks
     * (§5.1) take about 3-5 KB of it per level, so the default 1 MB overflowed at 200-400 levels,
     * well before a client runs out of its own stack (CPython, with its recursion limit raised,
     * crashes on its C stack between 6,000 and 8,000 levels). Reserved address space: only the
     * pages a deep nesting touches take memory.
     */
    static final long DEFAULT_CONNECTION_STACK_BYTES = 128L * 1024 * 1024;
    /**
     * The stack one level of nested callbacks may take, with a wide margin over the measured 3-5 KB,
     * so that the depth limit ({@link #maxCallbackDepth()}) is reached before the stack overflows.
     */
    static final long STACK_BYTES_PER_CALLBACK = 16 * 1024;

    private static final System.Logger LOG = System.getLogger(GatunServer.class.getName());
    private static final byte[] MAGIC = {'G', 'A', 'T', 'N'};
    private static final int KIND_SESSION = 1;
    private static final int KIND_CHANNEL = 2;
    private static final int CONTROL_CANCEL = 0x01;
    private static final int CONTROL_CLOSE = 0x02;
    private static final int CONTROL_SHUTDOWN = 0x03;
    private static final int MAPPED = 0x01;
    private static final FileAttribute<Set<PosixFilePermission>> DIR_0700 =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    /** WELCOME statuses (§1.2). */
    static final int OK = 0;
    static final int AUTH_FAILED = 1;
    static final int UNSUPPORTED_VERSION = 2;
    static final int MALFORMED = 3;
    static final int UNKNOWN_SESSION = 4;
    static final int LIMIT_REACHED = 5;

    private final Path requestedSocketDir;
    private final Allowlist allowlist;
    private final int warmUpRequests;
    private final IdleCores warmUpIdle;
    /** The start-up warm-up's outcome (requests made); complete at once when there is none. */
    private volatile CompletableFuture<Integer> warmUp = CompletableFuture.completedFuture(0);
    private final long regionBytes;
    private final long maxMessageBytes;
    private final long maxSessionBytes;
    private final long connectionStackBytes;
    private final Supplier<WaitPolicy> waitPolicies;
    private final byte[] token;
    private final boolean allowShutdown;
    private final ClassLoader classLoader;
    private final SecureRandom random = new SecureRandom();
    private final Invoker invoker;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch closedLatch = new CountDownLatch(1);

    private Path socketDir;
    private boolean ownSocketDir;
    private Path socketPath;
    /** The socket file this server created; only that one is deleted on close. */
    private Path boundSocket;
    private Path shmDir;
    private ServerSocketChannel listener;
    private ScheduledExecutorService timer;

    private GatunServer(Builder b) {
        this.requestedSocketDir = b.socketDir;
        this.allowlist = b.allowlist;
        this.warmUpRequests = b.warmUpRequests;
        this.warmUpIdle = b.warmUpIdle;
        this.regionBytes = b.regionBytes;
        this.maxMessageBytes = b.maxMessageBytes;
        this.maxSessionBytes = b.maxSessionBytes > 0 ? b.maxSessionBytes : b.maxMessageBytes;
        this.connectionStackBytes = b.connectionStackBytes;
        this.waitPolicies = b.waitPolicies;
        this.allowShutdown = b.allowShutdown;
        this.classLoader = b.classLoader != null ? b.classLoader : defaultClassLoader();
        this.invoker = new Invoker(allowlist);
        if (b.token != null) {
            this.token = b.token.clone();
        } else {
            this.token = new byte[32];
            random.nextBytes(token);
        }
    }

    static void checkMaxMessageBytes(long bytes) {
        if (bytes < 64 || bytes > DEFAULT_MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("max message bytes must be between 64 and " + DEFAULT_MAX_MESSAGE_BYTES
                    + ", not " + bytes);
        }
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
            checkMaxMessageBytes(bytes);
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
            return new GatunServer(this);
        }
    }

    /** Creates the directories and the socket and starts accepting. */
    public GatunServer start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        try {
            prepareSocketDir();
            shmDir = privateShmDir();
            socketPath = socketDir.resolve("gatun.sock");
            removeStaleSocket();
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(socketPath));
            boundSocket = socketPath;
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "gatun-timer"));
        // The log formatter reads the time-zone data file on first use: load it now, so that a
        // warning logged when the process is out of file descriptors does not fail for want of one.
        java.util.TimeZone.getDefault();
        daemon(this::acceptLoop, "gatun-accept").start();
        if (warmUpRequests > 0) {
            WarmUp w = new WarmUp(this, warmUpRequests, warmUpIdle);
            warmUp = w.done;
            daemon(w, "gatun-warm-up").start();
        }
        return this;
    }

    private void prepareSocketDir() throws IOException {
        if (requestedSocketDir == null) {
            socketDir = Files.createTempDirectory("gatun-", DIR_0700);
            ownSocketDir = true;
            return;
        }
        socketDir = requestedSocketDir.toAbsolutePath();
        if (Files.notExists(socketDir)) {
            Files.createDirectories(socketDir.getParent());
            Files.createDirectory(socketDir, DIR_0700);
            ownSocketDir = true;
            return;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(socketDir);
        if (!perms.equals(PosixFilePermissions.fromString("rwx------"))) {
            throw new IOException("socket directory " + socketDir + " must have mode 0700 (it has "
                    + PosixFilePermissions.toString(perms) + ")");
        }
    }

    /** A 0700 directory under /dev/shm for the regions; the socket directory where there is none. */
    private Path privateShmDir() throws IOException {
        Path devShm = Path.of("/dev/shm");
        if (Files.isDirectory(devShm) && Files.isWritable(devShm)) {
            try {
                sweepDeadDirs(devShm);
                return Files.createTempDirectory(devShm, SHM_PREFIX + ProcessHandle.current().pid() + "-", DIR_0700);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.INFO, "cannot use /dev/shm, regions go to " + socketDir + ": " + e);
            }
        }
        return socketDir;
    }

    /**
     * What Gatun makes in {@code /dev/shm}: {@code gatun-PID-*} (a server's regions, unlinked once
     * mapped) and {@code gatun-arrow-PID-*} (an Arrow arena until the client maps it). The PID is the
     * process that made it, so that what a killed process left can be told from what lives.
     */
    static final String SHM_PREFIX = "gatun-";
    private static final java.util.regex.Pattern SHM_DIR =
            java.util.regex.Pattern.compile("gatun-(?:arrow-)?([0-9]+)-.+");

    /**
     * Removes the directories of dead processes from {@code shm} (a server killed with SIGKILL
     * cannot remove its own): those whose PID runs no process, or a process that started after the
     * directory last changed (the PID was reused). Only this user's directories; a directory of a
     * live process is never touched.
     */
    static int sweepDeadDirs(Path shm) {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(shm, SHM_PREFIX + "*")) {
            Object me = Files.getAttribute(Path.of("/proc/self"), "unix:uid"); // this process's user
            for (Path dir : entries) {
                java.util.regex.Matcher m = SHM_DIR.matcher(dir.getFileName().toString());
                if (!m.matches() || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        || !me.equals(Files.getAttribute(dir, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
                    continue;
                }
                if (isDead(Long.parseLong(m.group(1)), Files.getLastModifiedTime(dir).toInstant())) {
                    deleteTree(dir);
                    removed += Files.exists(dir) ? 0 : 1;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "sweeping " + shm + ": " + e);
        }
        return removed;
    }

    private static boolean isDead(long pid, java.time.Instant lastChanged) {
        java.util.Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        java.util.Optional<java.time.Instant> started = process.get().info().startInstant();
        // Start times are rounded to clock ticks: a second's margin keeps a live maker's directory.
        return started.isPresent() && started.get().isAfter(lastChanged.plusSeconds(1));
    }

    private void removeStaleSocket() throws IOException {
        if (!Files.exists(socketPath)) {
            return;
        }
        boolean alive;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            alive = probe.connect(UnixDomainSocketAddress.of(socketPath));
        } catch (IOException e) {
            alive = false;
        }
        if (alive) {
            throw new IOException("a server is already listening on " + socketPath);
        }
        Files.delete(socketPath); // nobody answers: a socket file left by a dead server
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public ConnectionInfo connectionInfo() {
        if (socketPath == null) {
            throw new IllegalStateException("not started");
        }
        return new ConnectionInfo(PROTOCOL_VERSION, socketPath, HexFormat.of().formatHex(token),
                ProcessHandle.current().pid());
    }

    /** Writes the connection info JSON atomically (temporary file in the same directory, then rename), mode 0600. */
    public void writeConnectionInfo(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), ".gatun-info-", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(tmp, connectionInfo().toJson() + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public Path socketPath() {
        return socketPath;
    }

    /** The name of the wait policy every channel uses ({@link Builder#waitPolicy}). */
    public String waitPolicy() {
        return waitPolicies.get().name();
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
        deleteQuietly(boundSocket);
        if (shmDir != null && !shmDir.equals(socketDir)) {
            deleteTree(shmDir);
        }
        if (ownSocketDir) {
            deleteTree(socketDir);
        }
        closedLatch.countDown();
    }

    private static void deleteTree(Path dir) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                deleteQuietly(f);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "listing " + dir, e);
        }
        deleteQuietly(dir);
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "deleting " + p, e);
        }
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
        return allowlist;
    }

    ClassLoader classLoader() {
        return classLoader;
    }

    long maxSessionBytes() {
        return maxSessionBytes;
    }

    /** How deep callbacks may nest on a channel thread before the server refuses the next one (§5.1). */
    int maxCallbackDepth() {
        return (int) Math.max(1, connectionStackBytes / STACK_BYTES_PER_CALLBACK);
    }

    SecureRandom random() {
        return random;
    }

    Collection<Session> sessions() {
        return sessions.values();
    }

    void sessionEnded(Session s) {
        sessions.remove(s.idHex());
    }

    /** The longest class name RESOLVE_CLASS and CALLBACK interfaces may carry, in UTF-8 bytes (protocol §3.2). */
    static final int MAX_CLASS_NAME_BYTES = 1024;
    /** How many of a name's last dots are tried as nesting ({@code $}): no real class nests deeper. */
    static final int MAX_NESTING_TRIES = 16;

    /**
     * The class with this name: {@code a.b.C}, {@code a.b.C$D} or {@code a.b.C.D} (tried as nested
     * classes from the right), or a primitive type name; null if there is none.
     *
     * <p>Each try costs a class-loader lookup of the whole name, so both the name's length and the
     * number of tries are bounded: trying every dot of a long dotted name was quadratic (8,000
     * parts took seconds of CPU). A CANCEL (an interrupt) stops it between tries.
     */
    Class<?> findClass(String name) throws InterruptedException {
        Class<?> primitive = PRIMITIVES.get(name);
        if (primitive != null) {
            return primitive;
        }
        // A UTF-8 byte count is at least the char count and at most three times it.
        if (name.length() > MAX_CLASS_NAME_BYTES
                || (name.length() * 3 > MAX_CLASS_NAME_BYTES
                        && name.getBytes(StandardCharsets.UTF_8).length > MAX_CLASS_NAME_BYTES)) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "a class name of " + name.getBytes(StandardCharsets.UTF_8).length
                    + " bytes is over the maximum of " + MAX_CLASS_NAME_BYTES + " bytes");
        }
        char[] candidate = name.toCharArray();
        int dot = candidate.length;
        for (int tries = 0; ; tries++) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("the lookup of class " + name + " was cancelled");
            }
            String attempt = new String(candidate);
            try {
                return Class.forName(attempt, false, classLoader);
            } catch (ClassNotFoundException e) {
                // The next dot to the left becomes '$': a.b.C.D, then a.b.C$D, then a.b$C$D, ...
                do {
                    dot--;
                } while (dot > 0 && candidate[dot] != '.');
                if (dot <= 0 || tries >= MAX_NESTING_TRIES) {
                    return null;
                }
                candidate[dot] = '$';
            } catch (LinkageError e) {
                throw new GatunException(ErrorCode.NO_SUCH_CLASS, "class " + attempt + " cannot be loaded: " + e);
            }
        }
    }

    private static final Map<String, Class<?>> PRIMITIVES = Map.of(
            "boolean", boolean.class, "byte", byte.class, "char", char.class, "short", short.class,
            "int", int.class, "long", long.class, "float", float.class, "double", double.class);

    private void acceptLoop() {
        long backOff = 0;
        while (!closed.get()) {
            SocketChannel connection;
            try {
                connection = listener.accept();
                backOff = 0;
            } catch (java.nio.channels.ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed.get()) {
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
            Thread t = new Thread(null, () -> serveConnection(connection), "gatun-handshake", connectionStackBytes);
            t.setDaemon(true);
            t.start();
        }
    }

    /** Hand-shake, then this thread stays with the connection: control reader or channel thread. */
    private void serveConnection(SocketChannel connection) {
        ScheduledFuture<?> timeout;
        try {
            timeout = timer.schedule(() -> closeQuietly(connection), HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) { // the server is closing
            closeQuietly(connection);
            return;
        }
        try {
            ByteBuffer hello = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
            Hello h = new Hello(0, null, 0, 8, null);
            while (h.needed() > 0) {
                if (!readFully(connection, hello, h.needed())) {
                    refuse(connection, MALFORMED, "malformed hello: too short");
                    return;
                }
                h = judgeHello(hello.array(), h.needed(), token);
            }
            if (h.status() != OK) {
                refuse(connection, h.status(), h.message());
                return;
            }
            if (h.kind() == KIND_SESSION) {
                Session session = openSession(connection);
                timeout.cancel(false);
                serveControl(session, connection);
                return;
            }
            Session session = sessions.get(h.session());
            if (session == null) {
                refuse(connection, UNKNOWN_SESSION, "unknown session");
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
            closeQuietly(connection);
        } finally {
            timeout.cancel(false);
        }
    }

    /**
     * What the first bytes of a HELLO (§1.2) say: {@code needed > 0}, read that many bytes and ask
     * again; else a refusal ({@code status} and {@code message}) or OK with the kind and, for a
     * channel, the session id in hex.
     */
    record Hello(int status, String message, int kind, int needed, String session) {
    }

    /**
     * Judges {@code b[0, n)}, the first bytes of a HELLO. Pure (no I/O), so that it can be fuzzed; it
     * never asks for more than 56 bytes and never reads past what it asked for. The token is compared
     * in constant time.
     */
    static Hello judgeHello(byte[] b, int n, byte[] token) {
        if (n < 8) {
            return new Hello(OK, null, 0, 8, null);
        }
        if (!MessageDigest.isEqual(MAGIC, java.util.Arrays.copyOf(b, 4))) {
            return new Hello(MALFORMED, "malformed hello: bad magic", 0, 0, null);
        }
        int version = (b[4] & 0xFF) | (b[5] & 0xFF) << 8;
        if (version != PROTOCOL_VERSION) {
            return new Hello(UNSUPPORTED_VERSION, "unsupported protocol version " + version
                    + "; this server speaks version " + PROTOCOL_VERSION, 0, 0, null);
        }
        int kind = b[6] & 0xFF;
        if (kind != KIND_SESSION && kind != KIND_CHANNEL) {
            return new Hello(MALFORMED, "malformed hello: unknown kind " + kind, 0, 0, null);
        }
        if (n < 40) {
            return new Hello(OK, null, kind, 40, null);
        }
        if (!MessageDigest.isEqual(token, java.util.Arrays.copyOfRange(b, 8, 40))) {
            return new Hello(AUTH_FAILED, "authentication failed", kind, 0, null);
        }
        if (kind == KIND_SESSION) {
            return new Hello(OK, null, kind, 0, null);
        }
        if (n < 56) {
            return new Hello(OK, null, kind, 56, null);
        }
        return new Hello(OK, null, kind, 0, HexFormat.of().formatHex(b, 40, 56));
    }

    private static boolean readFully(SocketChannel c, ByteBuffer b, int upTo) throws IOException {
        b.limit(upTo);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static void refuse(SocketChannel c, int status, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(3 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) status).putShort((short) text.length).put(text).flip();
        try {
            while (b.hasRemaining()) {
                c.write(b);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "sending refusal", e);
        }
        drainAndClose(c);
    }

    /** What a refused client may still send before it reads the refusal and closes (its hello is 56 bytes). */
    private static final int MAX_DRAIN_BYTES = 64 * 1024;

    /**
     * Closing a Unix socket with unread bytes resets the connection: the client then reads
     * ECONNRESET instead of EOF after the refusal, or fails with EPIPE writing the rest of its hello
     * before it reads the refusal at all. So: EOF to the client first, then read and drop what it
     * still sends until it closes. Bounded in bytes here and in time by the hand-shake timeout,
     * which closes the connection under this read.
     */
    private static void drainAndClose(SocketChannel c) {
        try {
            c.shutdownOutput();
            ByteBuffer sink = ByteBuffer.allocate(512);
            for (int drained = 0; drained < MAX_DRAIN_BYTES; drained += sink.position()) {
                sink.clear();
                if (c.read(sink) < 0) {
                    break;
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "draining a refused connection: " + e);
        }
        closeQuietly(c);
    }

    private static void writeAll(SocketChannel c, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing connection", e);
        }
    }

    private Session openSession(SocketChannel connection) throws IOException {
        byte[] id = new byte[16];
        random.nextBytes(id);
        Session session = new Session(this, id, connection);
        sessions.put(session.idHex(), session);
        if (closed.get()) {
            session.close();
            throw new IOException("server closed");
        }
        ByteBuffer welcome = ByteBuffer.allocate(25).order(ByteOrder.LITTLE_ENDIAN);
        welcome.put((byte) OK).put(id).putLong(maxMessageBytes);
        try {
            writeAll(connection, welcome);
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
        ShmRegion region;
        try {
            region = ShmRegion.create(file, regionBytes);
        } catch (IOException e) {
            refuse(connection, LIMIT_REACHED, "cannot create a shared-memory region of " + regionBytes + " bytes: " + e);
            return null;
        }
        try {
            byte[] path = file.toString().getBytes(StandardCharsets.UTF_8);
            ByteBuffer welcome = ByteBuffer.allocate(1 + 4 + 8 + 4 + path.length).order(ByteOrder.LITTLE_ENDIAN);
            welcome.put((byte) OK).putInt(id).putLong(regionBytes).putInt(path.length).put(path);
            writeAll(connection, welcome);
            ByteBuffer mapped = ByteBuffer.allocate(1);
            if (!readFully(connection, mapped, 1) || mapped.get(0) != MAPPED) {
                closeQuietly(connection);
                return null;
            }
        } finally {
            Files.deleteIfExists(file);
        }
        Channel channel = new Channel(region, connection, true, maxMessageBytes, waitPolicies.get());
        channel.budget(session);
        return new RequestLoop(session, id, channel);
    }

    /** Reads the control connection until CLOSE, SHUTDOWN or EOF; then the session ends (§1.3). */
    private void serveControl(Session session, SocketChannel connection) {
        Thread.currentThread().setName("gatun-control-" + session.idHex().substring(0, 8));
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (true) {
                b.clear();
                if (!readFully(connection, b, 1)) {
                    return;
                }
                int type = b.get(0) & 0xFF;
                if (type == CONTROL_CANCEL) {
                    b.clear();
                    if (!readFully(connection, b, 4)) {
                        return;
                    }
                    session.cancel(b.getInt(0));
                } else if (type == CONTROL_CLOSE) {
                    return;
                } else if (type == CONTROL_SHUTDOWN) {
                    if (allowShutdown) {
                        LOG.log(System.Logger.Level.INFO, "shutdown requested by a client");
                        close();
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
