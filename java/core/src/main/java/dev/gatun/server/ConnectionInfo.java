package dev.gatun.server;

import java.nio.file.Path;

/** What a client needs to connect (protocol §1): written as JSON to the connection-info file. */
public record ConnectionInfo(int protocol, Path socket, String token, long pid) {
    public String toJson() {
        return "{\"protocol\": " + protocol + ", \"socket\": " + quote(socket.toString()) + ", \"token\": \""
                + token + "\", \"pid\": " + pid + "}";
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    @Override
    public String toString() {
        return "ConnectionInfo[protocol=" + protocol + ", socket=" + socket + ", pid=" + pid + "]"; // no token in logs
    }
}
