package dev.gatun.server;

import java.util.Arrays;

/**
 * The member names a client defined on one channel (protocol §3.2 {@code Name}): after the first
 * use a name costs four bytes on the wire and an array load here.
 */
final class NameTable {
    /** Clients number names from 0 upwards; a larger id is a broken or hostile client. */
    static final int MAX_ID = 1 << 20;
    static final int DEFINE_BIT = 0x80000000;

    private String[] names = new String[64];

    void define(int id, String name) {
        if (id >= MAX_ID) {
            throw GatunException.protocol("name id " + id + " is over the maximum " + (MAX_ID - 1));
        }
        if (id >= names.length) {
            names = Arrays.copyOf(names, Math.max(id + 1, names.length * 2));
        }
        names[id] = name;
    }

    String get(int id) {
        String name = id >= 0 && id < names.length ? names[id] : null;
        if (name == null) {
            throw GatunException.protocol("name id " + id + " was never defined on this channel");
        }
        return name;
    }
}
