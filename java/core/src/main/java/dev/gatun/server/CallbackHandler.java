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
    private final long id;
    private final Class<?>[] interfaces;

    CallbackHandler(Session session, long id, Class<?>[] interfaces) {
        this.session = session;
        this.id = id;
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
                    return "GatunCallback[id=" + Long.toUnsignedString(id) + ", "
                            + Arrays.stream(interfaces).map(Class::getName).toList() + "]";
            }
        }
        Object result = session.callback(id, method.getName(), args == null ? NO_ARGS : args);
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
