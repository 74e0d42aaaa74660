package dev.gatun.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The client end of one channel: builds requests, waits for replies, answers callbacks. */
final class LocalChannel implements AutoCloseable {
    /** A reply frame, decoded. */
    record Reply(int type, Object raw, long throwable, String className, String message, String stack,
                 ErrorCode code) {
        Object value() {
            if (type != FrameType.RETURN) {
                throw new IllegalStateException("expected RETURN, got " + this);
            }
            return raw;
        }

        ClientValues.Ref ref() {
            return (ClientValues.Ref) value();
        }

        ClientValues.ClassRef classRef() {
            return (ClientValues.ClassRef) value();
        }
    }

    /** What the client does with a CALLBACK: return a value, or throw {@link CallbackFailure}. */
    interface Callbacks {
        Object call(LocalChannel channel, long id, String method, Object[] args) throws Exception;
    }

    /** Makes the client answer CALLBACK_ERROR. */
    static final class CallbackFailure extends Exception {
        final long throwable;
        final String pythonType;

        CallbackFailure(long throwable, String pythonType, String message) {
            super(message);
            this.throwable = throwable;
            this.pythonType = pythonType;
        }
    }

    final int id;
    final Path file;
    final Channel channel;
    private final Map<String, Integer> names = new HashMap<>();
    private Callbacks callbacks = (c, id, m, a) -> {
        throw new IllegalStateException("unexpected callback " + m);
    };

    LocalChannel(int id, Path file, Channel channel) {
        this.id = id;
        this.file = file;
        this.channel = channel;
    }

    LocalChannel onCallback(Callbacks handler) {
        this.callbacks = handler;
        return this;
    }

    FrameWriter begin(int type) {
        return channel.begin(type);
    }

    FrameWriter name(FrameWriter w, String name) {
        Integer known = names.get(name);
        if (known != null) {
            return w.i32(known);
        }
        int id = names.size();
        names.put(name, id);
        byte[] utf8 = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return w.i32(id | NameTable.DEFINE_BIT).u16(utf8.length).raw(utf8);
    }

    private static FrameWriter target(FrameWriter w, Object target) {
        if (target instanceof ClientValues.ClassRef c) {
            return w.u8(FrameType.TARGET_CLASS).i64(c.id());
        }
        return w.u8(FrameType.TARGET_OBJECT).i64(((ClientValues.Ref) target).handle());
    }

    private static void args(FrameWriter w, Object[] args) {
        w.u16(args.length);
        for (Object a : args) {
            ClientValues.write(w, a);
        }
    }

    Reply call(Object target, String method, Object... args) throws IOException {
        FrameWriter w = target(begin(FrameType.CALL), target);
        name(w, method);
        args(w, args);
        return exchange();
    }

    Reply newObject(ClientValues.ClassRef c, Object... args) throws IOException {
        args(begin(FrameType.NEW).i64(c.id()), args);
        return exchange();
    }

    Reply getField(Object target, String field) throws IOException {
        name(target(begin(FrameType.GET_FIELD), target), field);
        return exchange();
    }

    Reply setField(Object target, String field, Object value) throws IOException {
        FrameWriter w = name(target(begin(FrameType.SET_FIELD), target), field);
        ClientValues.write(w, value);
        return exchange();
    }

    Reply resolveClass(String name) throws IOException {
        begin(FrameType.RESOLVE_CLASS).string(name);
        return exchange();
    }

    ClientValues.ClassRef cls(String name) throws IOException {
        return resolveClass(name).classRef();
    }

    Reply resolveMember(ClientValues.ClassRef c, String name) throws IOException {
        name(begin(FrameType.RESOLVE_MEMBER).i64(c.id()), name);
        return exchange();
    }

    Reply release(long... handles) throws IOException {
        FrameWriter w = begin(FrameType.RELEASE).i32(handles.length);
        for (long h : handles) {
            w.i64(h);
        }
        return exchange();
    }

    Reply instanceOf(Object value, ClientValues.ClassRef c) throws IOException {
        FrameWriter w = begin(FrameType.INSTANCE_OF);
        ClientValues.write(w, value);
        w.i64(c.id());
        return exchange();
    }

    Reply newArray(ClientValues.ClassRef component, int... dims) throws IOException {
        FrameWriter w = begin(FrameType.NEW_ARRAY).i64(component.id()).u8(dims.length);
        for (int d : dims) {
            w.i32(d);
        }
        return exchange();
    }

    Reply arrayLength(ClientValues.Ref array) throws IOException {
        begin(FrameType.ARRAY).i64(array.handle()).u8(FrameType.ARRAY_LENGTH);
        return exchange();
    }

    Reply arrayGet(ClientValues.Ref array, int index) throws IOException {
        begin(FrameType.ARRAY).i64(array.handle()).u8(FrameType.ARRAY_GET).i32(index);
        return exchange();
    }

    Reply arraySet(ClientValues.Ref array, int index, Object value) throws IOException {
        ClientValues.write(begin(FrameType.ARRAY).i64(array.handle()).u8(FrameType.ARRAY_SET).i32(index), value);
        return exchange();
    }

    Reply arraySlice(ClientValues.Ref array, int start, int stop) throws IOException {
        begin(FrameType.ARRAY).i64(array.handle()).u8(FrameType.ARRAY_SLICE).i32(start).i32(stop);
        return exchange();
    }

    Reply sessionInfo() throws IOException {
        begin(FrameType.SESSION_INFO);
        return exchange();
    }

    /** Sends the request built since {@link #begin}, answers callbacks, and returns the reply. */
    Reply exchange() throws IOException {
        channel.send();
        return awaitReply();
    }

    private Reply awaitReply() throws IOException {
        while (true) {
            int type = channel.receive();
            if (type != FrameType.CALLBACK) {
                return decode(type, channel.reader());
            }
            answerCallback();
        }
    }

    private void answerCallback() throws IOException {
        FrameReader r = channel.reader();
        long callbackId = r.i64();
        String method = r.string();
        Object[] args = r.args(ClientValues.REPLIES);
        Object result;
        try {
            result = callbacks.call(this, callbackId, method, args);
        } catch (CallbackFailure f) {
            begin(FrameType.CALLBACK_ERROR).i64(f.throwable).string(f.pythonType).string(f.getMessage());
            channel.send();
            return;
        } catch (Exception e) {
            begin(FrameType.CALLBACK_ERROR).i64(0).string(e.getClass().getSimpleName()).string(String.valueOf(e.getMessage()));
            channel.send();
            return;
        }
        ClientValues.write(begin(FrameType.CALLBACK_RETURN), result);
        channel.send();
    }

    /** SERVE_CALLBACKS, then answer callbacks until the channel closes (run it on its own thread). */
    void serveCallbacks() {
        try {
            begin(FrameType.SERVE_CALLBACKS);
            channel.send();
            while (true) {
                int type = channel.receive();
                if (type != FrameType.CALLBACK) {
                    throw new IllegalStateException("callback channel got " + decode(type, channel.reader()));
                }
                answerCallback();
            }
        } catch (IOException e) {
            // closed: done serving
        }
    }

    static Reply decode(int type, FrameReader r) {
        switch (type) {
            case FrameType.RETURN:
                return new Reply(type, r.value(ClientValues.REPLIES), 0, null, null, null, null);
            case FrameType.THROW:
                return new Reply(type, null, r.i64(), r.string(), r.string(), r.string(), null);
            case FrameType.ERROR: {
                ErrorCode code = ErrorCode.of(r.u16());
                return new Reply(type, null, 0, null, r.string(), null, code);
            }
            default:
                throw new IllegalStateException("unexpected reply type " + FrameType.name(type));
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
