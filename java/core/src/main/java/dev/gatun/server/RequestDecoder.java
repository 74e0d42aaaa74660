package dev.gatun.server;

/**
 * Decodes one client-to-server message (protocol §3.2) and hands it to a {@link RequestHandler}.
 *
 * <p>A {@code Name} is always read before anything that can be refused (an unknown handle in the
 * arguments, say), so a refused request still defines its names, as the client expects.
 */
final class RequestDecoder {
    private RequestDecoder() {
    }

    static void decode(int type, FrameReader r, NameTable names, ValueDecoder values, RequestHandler h) {
        switch (type) {
            case FrameType.CALL: {
                int kind = targetKind(r);
                long target = r.i64();
                String name = r.name(names);
                Object[] args = r.args(values);
                r.expectEnd(type);
                h.call(kind, target, name, args);
                return;
            }
            case FrameType.NEW: {
                long classId = r.i64();
                Object[] args = r.args(values);
                r.expectEnd(type);
                h.newInstance(classId, args);
                return;
            }
            case FrameType.GET_FIELD: {
                int kind = targetKind(r);
                long target = r.i64();
                String name = r.name(names);
                r.expectEnd(type);
                h.getField(kind, target, name);
                return;
            }
            case FrameType.SET_FIELD: {
                int kind = targetKind(r);
                long target = r.i64();
                String name = r.name(names);
                Object value = r.value(values);
                r.expectEnd(type);
                h.setField(kind, target, name, value);
                return;
            }
            case FrameType.RESOLVE_CLASS: {
                String name = r.string();
                r.expectEnd(type);
                h.resolveClass(name);
                return;
            }
            case FrameType.RESOLVE_MEMBER: {
                long classId = r.i64();
                String name = r.name(names);
                r.expectEnd(type);
                h.resolveMember(classId, name);
                return;
            }
            case FrameType.RELEASE: {
                long[] handles = new long[r.count(8)];
                for (int i = 0; i < handles.length; i++) {
                    handles[i] = r.i64();
                }
                r.expectEnd(type);
                h.release(handles);
                return;
            }
            case FrameType.INSTANCE_OF: {
                Object value = r.value(values);
                long classId = r.i64();
                r.expectEnd(type);
                h.instanceOf(value, classId);
                return;
            }
            case FrameType.NEW_ARRAY: {
                long classId = r.i64();
                int[] dims = new int[r.u8()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = r.i32();
                }
                r.expectEnd(type);
                h.newArray(classId, dims);
                return;
            }
            case FrameType.ARRAY: {
                long handle = r.i64();
                int op = r.u8();
                int index = 0;
                int stop = 0;
                Object value = null;
                switch (op) {
                    case FrameType.ARRAY_LENGTH:
                        break;
                    case FrameType.ARRAY_GET:
                        index = r.i32();
                        break;
                    case FrameType.ARRAY_SET:
                        index = r.i32();
                        value = r.value(values);
                        break;
                    case FrameType.ARRAY_SLICE:
                        index = r.i32();
                        stop = r.i32();
                        break;
                    default:
                        throw GatunException.protocol("unknown ARRAY op " + op);
                }
                r.expectEnd(type);
                h.array(handle, op, index, stop, value);
                return;
            }
            case FrameType.SESSION_INFO:
                r.expectEnd(type);
                h.sessionInfo();
                return;
            case FrameType.CALLBACK_RETURN: {
                Object value = r.value(values);
                r.expectEnd(type);
                h.callbackReturn(value);
                return;
            }
            case FrameType.CALLBACK_ERROR: {
                long throwable = r.i64();
                String pythonType = r.string();
                String message = r.string();
                r.expectEnd(type);
                h.callbackError(throwable, pythonType, message);
                return;
            }
            case FrameType.SERVE_CALLBACKS:
                r.expectEnd(type);
                h.serveCallbacks();
                return;
            case FrameType.CONTINUE:
                r.expectEnd(type);
                h.continueFrame();
                return;
            default:
                throw GatunException.protocol("unknown request type " + FrameType.name(type));
        }
    }

    private static int targetKind(FrameReader r) {
        int kind = r.u8();
        if (kind != FrameType.TARGET_OBJECT && kind != FrameType.TARGET_CLASS) {
            throw GatunException.protocol("unknown target kind " + kind);
        }
        return kind;
    }
}
