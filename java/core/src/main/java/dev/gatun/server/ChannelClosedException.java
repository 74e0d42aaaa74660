package dev.gatun.server;

import java.io.IOException;

/** The peer of a channel is gone (EOF on its socket) or the channel was closed locally. */
final class ChannelClosedException extends IOException {
    ChannelClosedException(String message) {
        super(message);
    }
}
