package dev.gatun.server;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;

/**
 * Serves one channel: receives requests, executes them, answers (protocol §3). Runs on the channel's
 * own thread for the channel's life ({@link #run}), and is re-entrant: a callback made while a request
 * executes ({@link #callback}) sends CALLBACK and serves the client's nested requests on the same
 * thread until CALLBACK_RETURN or CALLBACK_ERROR. A callback channel, once idle in the pool, is driven
 * by whichever JVM thread takes it for a callback.
 */
final class RequestLoop implements RequestHandler {
    private static final System.Logger LOG = System.getLogger(RequestLoop.class.getName());
    /** The channel whose request this thread is executing, so callbacks can nest on it. */
    private static final ThreadLocal<RequestLoop> CURRENT = new ThreadLocal<>();

    private final Session session;
    private final int id;
    private final Channel channel;
    private final ObjectRegistry registry;
    private final ClassTable classes;
    private final Invoker invoker;
    private final NameTable names = new NameTable();

    /** The thread executing a request of this channel, the one CANCEL interrupts; guarded by itself. */
    private final Object cancelLock = new Object();
    private Thread executing;
    /** Requests this channel has started, and those in progress (nested ones too, and across their
     *  callbacks); guarded by cancelLock (counted where the lock is taken anyway). */
    private long started;
    private int inProgress;

    private int callbackDepth;
    /** A channel thread's stack bounds it; a foreign thread's stack is unknown, only its overflow is caught. */
    private final int maxCallbackDepth;
    private Object callbackValue;
    private Throwable callbackFailure;

    RequestLoop(Session session, int id, Channel channel) {
        this.session = session;
        this.id = id;
        this.channel = channel;
        this.registry = session.registry();
        this.classes = session.classes();
        this.invoker = session.server().invoker();
        this.maxCallbackDepth = session.server().maxCallbackDepth();
    }

    static RequestLoop current() {
        return CURRENT.get();
    }

    Session session() {
        return session;
    }

    int id() {
        return id;
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing channel " + id, e);
        }
    }

    /** The channel thread's life: serve requests until the client closes, or the channel turns into a callback channel. */
    void run() {
        boolean toPool = false;
        try {
            toPool = serve(false);
        } catch (ChannelClosedException e) {
            LOG.log(System.Logger.Level.DEBUG, "channel " + id + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "channel " + id + " failed", e);
        } catch (Error e) {
            // Not one request's failure (execute answers those): the channel's own work failed, in the
            // middle of a frame, so it cannot answer in step any more. Close it and say why.
            try {
                LOG.log(System.Logger.Level.ERROR, "channel " + id + " closed: the server failed serving it: " + e);
            } catch (Throwable ignored) {
                // out of memory even for the log line: the close below still tells the client
            }
        } finally {
            if (toPool) {
                session.pool().offer(this);
            } else {
                close();
                channel.releaseBudget();
                session.channelEnded(this);
            }
        }
    }

    /** CANCEL: interrupt the thread executing a request of this channel, if any. */
    void cancel() {
        synchronized (cancelLock) {
            if (executing != null) {
                executing.interrupt();
            }
        }
    }

    /** Sets the thread CANCEL interrupts; {@code requests} is +1 when a request starts, -1 when it ends. */
    private Thread setExecuting(Thread t, int requests) {
        synchronized (cancelLock) {
            Thread previous = executing;
            executing = t;
            inProgress += requests;
            if (requests > 0) {
                started++;
            }
            return previous;
        }
    }

    /**
     * The requests this channel has started, or -1 while one is in progress (waiting on its
     * callbacks too): a value that stays the same across a period means the channel served
     * nothing all through it (the warm-up's "no client is being served").
     */
    long activity() {
        synchronized (cancelLock) {
            return inProgress > 0 ? -1 : started;
        }
    }

    /**
     * Serves frames until the one this level waits for: a callback result when {@code inCallback},
     * else SERVE_CALLBACKS (returns true).
     */
    private boolean serve(boolean inCallback) throws IOException {
        while (true) {
            int type;
            try {
                type = channel.receive();
            } catch (GatunException e) {
                answerError(e);
                continue;
            }
            if (inCallback && (type == FrameType.CALLBACK_RETURN || type == FrameType.CALLBACK_ERROR)) {
                takeCallbackResult(type);
                return false;
            }
            if (!inCallback && type == FrameType.SERVE_CALLBACKS) {
                if (channel.reader().remaining() == 0) {
                    return true;
                }
                answerError(GatunException.protocol("SERVE_CALLBACKS carries a payload"));
            }
            execute(type);
        }
    }

    private void takeCallbackResult(int type) throws IOException {
        try {
            RequestDecoder.decode(type, channel.reader(), names, session, this);
        } catch (GatunException e) {
            if (e.code() == ErrorCode.PROTOCOL) {
                answerError(e);
            }
            callbackFailure = new CallbackException("the callback's result was refused: " + e.getMessage());
        }
    }

    /** Executes one request and sends its answer. */
    private void execute(int type) throws IOException {
        RequestLoop outer = CURRENT.get();
        CURRENT.set(this);
        Thread previous = setExecuting(Thread.currentThread(), 1);
        GatunException refusal = null;
        long start = ExecutionTime.ENABLED ? System.nanoTime() : 0;
        try {
            RequestDecoder.decode(type, channel.reader(), names, session, this);
        } catch (GatunException e) {
            refusal = e;
        } catch (StackOverflowError e) {
            // No log here: this frame is as deep as the overflow let it be, and logging takes stack.
            refusal = new GatunException(ErrorCode.LIMIT, "the JVM thread's stack overflowed serving "
                    + FrameType.name(type) + (callbackDepth > 0 ? " inside " + callbackDepth + " nested callbacks" : ""));
        } catch (OutOfMemoryError e) {
            refusal = new GatunException(ErrorCode.LIMIT, "the server ran out of memory serving " + FrameType.name(type)
                    + ": " + e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "channel " + id + ": " + FrameType.name(type) + " failed", e);
            refusal = new GatunException(ErrorCode.BAD_ARGUMENT, "the server failed on this request: " + e);
        } finally {
            setExecuting(previous, -1);
            // A CANCEL that came late must not hit the next wait: an interrupt during a socket read closes the socket.
            Thread.interrupted();
            CURRENT.set(outer);
        }
        if (ExecutionTime.ENABLED && outer == null) {
            session.executionTime().add(System.nanoTime() - start);
        }
        if (refusal != null) {
            answerError(refusal);
        } else {
            channel.send();
        }
    }

    private void answerError(GatunException e) throws IOException {
        channel.begin(FrameType.ERROR).u16(e.code().code).string(String.valueOf(e.getMessage()));
        channel.send();
        if (e.code() == ErrorCode.PROTOCOL) {
            LOG.log(System.Logger.Level.WARNING, "channel " + id + ": protocol error: " + e.getMessage());
            close();
            throw new ChannelClosedException("protocol error: " + e.getMessage());
        }
    }

    /**
     * Calls back into the client on this channel and serves its nested requests until the result.
     * Throws what the callback threw; a CallbackException if the channel failed (it is then closed).
     */
    Object callback(long callbackId, String method, Object[] args) throws Throwable {
        if (callbackDepth >= maxCallbackDepth) {
            // Refused before anything is sent, so the channel stays in step; the stack overflow this
            // prevents could strike anywhere, in the middle of a frame too.
            throw new CallbackException("callback " + method + " refused: callbacks nested " + callbackDepth
                    + " deep on channel " + id + ", the most this server's channel threads have stack for");
        }
        Thread previous = setExecuting(null, 0);
        boolean interrupted = Thread.interrupted();
        callbackDepth++;
        Object value;
        Throwable failure;
        try {
            FrameWriter w = channel.begin(FrameType.CALLBACK).i64(callbackId).string(method).u16(args.length);
            for (Object a : args) {
                w.result(a, registry);
            }
            channel.send();
            serve(true);
            value = callbackValue;
            failure = callbackFailure;
        } catch (IOException e) {
            close();
            throw new CallbackException("callback " + method + " failed: the client's channel is gone ("
                    + e.getMessage() + ")", e);
        } catch (GatunException e) {
            throw new CallbackException("callback " + method + " could not be sent: " + e.getMessage());
        } catch (StackOverflowError e) {
            // Out of stack between frames (execute answers the overflows inside a request): where the
            // exchange stands is unknown, so the channel closes and the caller gets an exception.
            close();
            throw new CallbackException("callback " + method + " failed: the JVM thread's stack overflowed with "
                    + callbackDepth + " callbacks nested on channel " + id + ", which is closed");
        } finally {
            callbackValue = null;
            callbackFailure = null;
            callbackDepth--;
            setExecuting(previous, 0);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (failure != null) {
            throw failure;
        }
        return value;
    }

    private void returnValue(Object v) {
        channel.begin(FrameType.RETURN).result(v, registry);
    }

    private void returnThrow(Throwable t) {
        channel.begin(FrameType.THROW).i64(registry.register(t)).string(t.getClass().getName())
                .string(safeMessage(t)).string(stackText(t));
    }

    private static String safeMessage(Throwable t) {
        try {
            String m = t.getMessage();
            return m == null ? "" : m;
        } catch (RuntimeException e) {
            return "(getMessage failed: " + e + ")";
        }
    }

    private static String stackText(Throwable t) {
        StringWriter out = new StringWriter();
        try (PrintWriter p = new PrintWriter(out)) {
            t.printStackTrace(p);
        } catch (RuntimeException e) {
            out.write("(printStackTrace failed: " + e + ")");
        }
        return out.toString();
    }

    private Class<?> staticTarget(long classId) {
        Class<?> c = classes.get(classId);
        invoker.allowlist().checkReachable(c);
        return c;
    }

    // RequestHandler: the requests. Each writes its answer into the channel once the work is done.

    @Override
    public void call(int targetKind, long target, String name, Object[] args) {
        try {
            if (targetKind == FrameType.TARGET_CLASS) {
                returnValue(invoker.call(staticTarget(target), null, name, args));
            } else {
                Object o = registry.get(target);
                returnValue(invoker.call(o.getClass(), o, name, args));
            }
        } catch (InvocationTargetException e) {
            returnThrow(e.getCause());
        }
    }

    @Override
    public void newInstance(long classId, Object[] args) {
        try {
            returnValue(invoker.construct(staticTarget(classId), args));
        } catch (InvocationTargetException e) {
            returnThrow(e.getCause());
        }
    }

    private Field field(int targetKind, long target, String name) {
        if (targetKind == FrameType.TARGET_CLASS) {
            return invoker.field(staticTarget(target), name, true);
        }
        return invoker.field(registry.get(target).getClass(), name, false);
    }

    @Override
    public void getField(int targetKind, long target, String name) {
        Field f = field(targetKind, target, name);
        try {
            returnValue(f.get(targetKind == FrameType.TARGET_CLASS ? null : registry.get(target)));
        } catch (IllegalAccessException e) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "cannot read " + f + ": " + e.getMessage());
        }
    }

    @Override
    public void setField(int targetKind, long target, String name, Object value) {
        Field f = field(targetKind, target, name);
        try {
            f.set(targetKind == FrameType.TARGET_CLASS ? null : registry.get(target), ArgumentCost.coerce(value, f.getType()));
        } catch (IllegalAccessException e) {
            throw new GatunException(ErrorCode.NOT_ALLOWED, "cannot write " + f + " (final?): " + e.getMessage());
        }
        returnValue(null);
    }

    @Override
    public void resolveClass(String name) {
        Class<?> c;
        try {
            c = session.server().findClass(name);
        } catch (InterruptedException e) {
            returnThrow(e); // CANCEL, answered like any interrupted call (§7)
            return;
        }
        if (c == null) {
            returnValue(null);
            return;
        }
        invoker.allowlist().checkReachable(c);
        channel.begin(FrameType.RETURN).classRef(classes.idOf(c), c.getName());
    }

    @Override
    public void resolveMember(long classId, String name) {
        Class<?> c = staticTarget(classId);
        try {
            if (java.lang.reflect.Modifier.isStatic(c.getField(name).getModifiers())) {
                returnValue(2);
                return;
            }
        } catch (NoSuchFieldException e) {
            // not a field: a method or a nested class, maybe
        }
        if (invoker.hasStaticMethod(c, name)) {
            returnValue(1);
            return;
        }
        for (Class<?> nested : c.getClasses()) {
            if (nested.getSimpleName().equals(name)) {
                invoker.allowlist().check(nested);
                channel.begin(FrameType.RETURN).classRef(classes.idOf(nested), nested.getName());
                return;
            }
        }
        returnValue(null);
    }

    @Override
    public void release(long[] handles) {
        for (long h : handles) {
            registry.release(h);
        }
        returnValue(null);
    }

    @Override
    public void instanceOf(Object value, long classId) {
        returnValue(classes.get(classId).isInstance(value));
    }

    @Override
    public void newArray(long componentClassId, int[] dims) {
        Class<?> component = classes.get(componentClassId);
        invoker.allowlist().check(component); // arrays need the whole class, not one member of it
        if (dims.length == 0) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "NEW_ARRAY needs at least one dimension");
        }
        for (int d : dims) {
            if (d < 0) {
                throw new GatunException(ErrorCode.BAD_ARGUMENT, "array length " + Integer.toUnsignedString(d)
                        + " is over the maximum " + Integer.MAX_VALUE);
            }
        }
        Object array;
        try {
            array = Array.newInstance(component, dims);
        } catch (IllegalArgumentException e) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "cannot make an array of " + component.getName()
                    + ": " + e.getMessage());
        }
        channel.begin(FrameType.RETURN).objectRef(registry.register(array), ValueTag.SHAPE_ARRAY);
    }

    @Override
    public void array(long handle, int op, int index, int stop, Object value) {
        Object array = registry.get(handle);
        if (!array.getClass().isArray()) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "object " + Long.toUnsignedString(handle) + " is a "
                    + array.getClass().getName() + ", not an array");
        }
        int length = Array.getLength(array);
        switch (op) {
            case FrameType.ARRAY_LENGTH:
                returnValue(length);
                return;
            case FrameType.ARRAY_GET:
                returnValue(Array.get(array, checkIndex(index, length)));
                return;
            case FrameType.ARRAY_SET:
                Array.set(array, checkIndex(index, length),
                        ArgumentCost.coerce(value, array.getClass().getComponentType()));
                returnValue(null);
                return;
            default: {
                int start = Math.max(0, Math.min(index, length));
                int end = Math.max(start, Math.min(stop, length));
                FrameWriter w = channel.begin(FrameType.RETURN).u8(ValueTag.LIST).i32(end - start);
                for (int i = start; i < end; i++) {
                    w.result(Array.get(array, i), registry);
                }
            }
        }
    }

    private static int checkIndex(int index, int length) {
        if (index < 0 || index >= length) {
            throw new GatunException(ErrorCode.BAD_ARGUMENT, "index " + index + " is out of range for an array of length " + length);
        }
        return index;
    }

    @Override
    public void sessionInfo() {
        channel.begin(FrameType.RETURN).u8(ValueTag.LIST).i32(2)
                .u8(ValueTag.LONG).i64(registry.size())
                .u8(ValueTag.LONG).i64(session.channelCount());
    }

    @Override
    public void callbackReturn(Object value) {
        requireCallback(FrameType.CALLBACK_RETURN);
        callbackValue = value;
    }

    @Override
    public void callbackError(long throwable, String pythonType, String message) {
        requireCallback(FrameType.CALLBACK_ERROR);
        Object t = null;
        if (throwable != 0) {
            try {
                t = registry.get(throwable);
            } catch (GatunException e) {
                // released or unknown: report the client's exception instead
            }
        }
        callbackFailure = t instanceof Throwable ? (Throwable) t : new CallbackException(pythonType, message);
    }

    private void requireCallback(int type) {
        if (callbackDepth == 0) {
            throw GatunException.protocol(FrameType.name(type) + " but no callback is waiting");
        }
    }

    @Override
    public void serveCallbacks() {
        throw GatunException.protocol("SERVE_CALLBACKS while a callback is running");
    }

    @Override
    public void continueFrame() {
        throw GatunException.protocol("CONTINUE, but no chunked message is being sent");
    }
}
