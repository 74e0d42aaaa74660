package dev.gatun.server;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client's session (protocol §1.1, §6): its objects, class ids, callback proxies, channels and
 * callback pool. Opened by the control connection and ended when that connection closes.
 */
final class Session implements ValueDecoder, Channel.Budget {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    private final GatunServer server;
    private final byte[] id;
    private final SocketChannel control;
    private final ObjectRegistry registry;
    private final ClassTable classes = new ClassTable();
    private final CallbackPool pool = new CallbackPool();
    private final ExecutionTime executionTime = new ExecutionTime();
    private final ConcurrentHashMap<Integer, RequestLoop> channels = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Object> callbacks = new ConcurrentHashMap<>();
    /** Resources closed with the session ({@link GatunServer#closeWithSession}). */
    private final java.util.Set<AutoCloseable> owned = ConcurrentHashMap.newKeySet();
    private final AtomicInteger nextChannelId = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Bytes of the chunked messages the session's channels are receiving or just received (§4.3). */
    private final java.util.concurrent.atomic.AtomicLong receiving = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong cancelsHandled = new java.util.concurrent.atomic.AtomicLong();

    Session(GatunServer server, byte[] id, SocketChannel control) {
        this.server = server;
        this.id = id;
        this.control = control;
        this.registry = new ObjectRegistry(server.random());
    }

    String idHex() {
        return HexFormat.of().formatHex(id);
    }

    /** The requests this session's channels have started, or -1 while one runs ({@link RequestLoop#activity}). */
    long activity() {
        long sum = 0;
        for (RequestLoop channel : channels.values()) {
            long a = channel.activity();
            if (a < 0) {
                return -1;
            }
            sum += a;
        }
        return sum;
    }

    GatunServer server() {
        return server;
    }

    ExecutionTime executionTime() {
        return executionTime;
    }

    ObjectRegistry registry() {
        return registry;
    }

    ClassTable classes() {
        return classes;
    }

    CallbackPool pool() {
        return pool;
    }

    int nextChannelId() {
        return nextChannelId.incrementAndGet();
    }

    /** Registers a new channel; false (and the channel closed) if the session ended meanwhile. */
    boolean addChannel(RequestLoop channel) {
        channels.put(channel.id(), channel);
        if (closed.get()) {
            channels.remove(channel.id());
            channel.close();
            return false;
        }
        return true;
    }

    /** Closes {@code resource} when the session ends; the returned action forgets it. */
    Runnable own(AutoCloseable resource) {
        owned.add(resource);
        if (closed.get() && owned.remove(resource)) {
            closeOwned(resource); // the session ended meanwhile
        }
        return () -> owned.remove(resource);
    }

    private static void closeOwned(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "closing " + resource + " at the end of its session failed", e);
        }
    }

    void channelEnded(RequestLoop channel) {
        channels.remove(channel.id());
    }

    int channelCount() {
        return channels.size();
    }

    void cancel(int channelId) {
        RequestLoop channel = channels.get(channelId);
        if (channel != null) {
            channel.cancel();
        }
        cancelsHandled.incrementAndGet();
    }

    /**
     * How many CANCELs this session has acted on. CANCEL is asynchronous (nothing answers it): a
     * test that must know one has been handled before its next request waits on this.
     */
    long cancelsHandled() {
        return cancelsHandled.get();
    }

    boolean isClosed() {
        return closed.get();
    }

    /** Ends the session: closes every channel and the control connection, drops every object. */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        pool.close();
        for (RequestLoop channel : new ArrayList<>(channels.values())) {
            channel.close();
            // A killed client's call would otherwise run to its end for nobody, holding its thread.
            channel.cancel();
        }
        channels.clear();
        try {
            control.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing control connection", e);
        }
        for (AutoCloseable resource : new ArrayList<>(owned)) {
            if (owned.remove(resource)) {
                closeOwned(resource);
            }
        }
        registry.clear();
        classes.clear();
        callbacks.clear();
        server.sessionEnded(this);
    }

    /**
     * Sends a callback to the client and waits for its result (§5): nested on the channel this thread
     * is serving for this session, else on an idle callback channel.
     */
    Object callback(long callbackId, String method, Object[] args) throws Throwable {
        RequestLoop current = RequestLoop.current();
        if (current != null && current.session() == this) {
            return current.callback(callbackId, method, args);
        }
        RequestLoop channel = pool.take();
        try {
            return channel.callback(callbackId, method, args);
        } finally {
            if (channel.isOpen()) {
                pool.offer(channel);
            }
        }
    }

    // Channel.Budget: what the session's channels may hold of messages they receive in chunks.

    @Override
    public boolean reserve(long bytes) {
        long max = server.maxSessionBytes();
        while (true) {
            long now = receiving.get();
            if (bytes > max - now) {
                return false;
            }
            if (receiving.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    @Override
    public void release(long bytes) {
        receiving.addAndGet(-bytes);
    }

    @Override
    public String describe() {
        return receiving.get() + " bytes are being received already, the maximum is " + server.maxSessionBytes()
                + " (--max-session-bytes)";
    }

    // ValueDecoder: what handles, class ids and callbacks in a request's values mean in this session.

    @Override
    public Object object(long handle) {
        return registry.get(handle);
    }

    @Override
    public Object classRef(long classId, String name) {
        return classes.get(classId);
    }

    @Override
    public Object callback(long callbackId, String[] interfaces) {
        Object proxy = callbacks.get(callbackId);
        if (proxy != null) {
            return proxy;
        }
        if (interfaces.length == 0) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "callback " + Long.toUnsignedString(callbackId)
                    + " declares no interface");
        }
        Class<?>[] types = new Class<?>[interfaces.length];
        for (int i = 0; i < types.length; i++) {
            Class<?> c;
            try {
                c = server.findClass(interfaces[i]);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the request's end clears it
                throw new GatunException(ErrorCode.BAD_ARGUMENT, e.getMessage());
            }
            if (c == null) {
                throw new GatunException(ErrorCode.NO_SUCH_CLASS, "no such interface: " + interfaces[i]);
            }
            if (!c.isInterface()) {
                throw new GatunException(ErrorCode.BAD_ARGUMENT, c.getName() + " is not an interface");
            }
            server.allowlist().check(c);
            types[i] = c;
        }
        try {
            proxy = Proxy.newProxyInstance(server.classLoader(), types, new CallbackHandler(this, callbackId, types));
        } catch (IllegalArgumentException e) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot implement " + String.join(", ", interfaces)
                    + " in one proxy: " + e.getMessage());
        }
        Object raced = callbacks.putIfAbsent(callbackId, proxy);
        return raced != null ? raced : proxy;
    }
}
