package dev.gatun.server;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * The InvocationHandler behind a callback proxy (protocol §5): interface methods go to the client,
 * the methods of Object are answered here, since identity is a JVM matter.
 */
final class CallbackHandler implements InvocationHandler {
    private static final Object[] NO_ARGS = new Object[0];

    private final Session session;
    private final long callbackId;
    /**
     * The callback id as Py4J's handler spells it: Spark's streaming checkpoints
     * ({@code PythonTransformFunctionSerializer}) read a private String field named {@code id} of the
     * proxy's handler by reflection and hand it to Python, which looks it up in
     * {@code gateway_property.pool}. Unused here otherwise.
     */
    @SuppressWarnings("unused")
    private final String id;
    private final Class<?>[] interfaces;

    CallbackHandler(Session session, long callbackId, Class<?>[] interfaces) {
        this.session = session;
        this.callbackId = callbackId;
        this.id = Long.toUnsignedString(callbackId);
        this.interfaces = interfaces;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (method.getDeclaringClass() == Object.class) {
            switch (method.getName()) {
                case "equals":
                    return proxy == args[0];
                case "hashCode":
                    return System.identityHashCode(proxy);
                default:
                    return "GatunCallback[id=" + id + ", "
                            + Arrays.stream(interfaces).map(Class::getName).toList() + "]";
            }
        }
        Object result = session.callback(callbackId, method.getName(), args == null ? NO_ARGS : args);
        Class<?> type = method.getReturnType();
        if (type == void.class) {
            return null;
        }
        if (result == null && type.isPrimitive()) {
            throw new CallbackException("callback " + method.getName() + " returned None, but "
                    + method.getDeclaringClass().getName() + "." + method.getName() + " returns " + type);
        }
        try {
            return ArgumentCost.coerce(result, type);
        } catch (GatunException e) {
            throw new CallbackException("callback " + method.getName() + " returned a value of the wrong type: "
                    + e.getMessage());
        }
    }
}
