package dev.gatun.server;

import java.util.ArrayDeque;

/**
 * The idle callback channels of a session (protocol §5.2). A JVM thread that is not serving the
 * session takes one for the length of a callback and gives it back afterwards.
 */
final class CallbackPool {
    private final ArrayDeque<RequestLoop> idle = new ArrayDeque<>();
    private boolean closed;

    synchronized void offer(RequestLoop channel) {
        if (closed) {
            channel.close();
            return;
        }
        idle.push(channel); // most recently used first: its client thread and memory are warm
        notifyAll();
    }

    /** Waits for an idle callback channel. */
    synchronized RequestLoop take() {
        while (true) {
            if (closed) {
                throw new CallbackException("the session is closed; no callback channel");
            }
            RequestLoop channel = idle.poll();
            if (channel == null) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CallbackException("interrupted while waiting for an idle callback channel", e);
                }
            } else if (channel.isOpen()) {
                return channel;
            }
        }
    }

    synchronized void close() {
        closed = true;
        idle.clear();
        notifyAll();
    }
}
