package dev.gatun.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A standalone server in a JVM of its own (GatunServerMain from this build), for what needs a process. */
final class ChildServer implements AutoCloseable {
    final Process process;
    final ConnectionInfo info;

    private ChildServer(Process process, ConnectionInfo info) {
        this.process = process;
        this.info = info;
    }

    static ChildServer start(List<String> jvmArgs, String... serverArgs) throws IOException {
        Path classes;
        try {
            classes = Path.of(GatunServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", classes.toString(), GatunServerMain.class.getName(), "--exit-on-stdin-eof",
                "--warm-up", "0"));
        cmd.addAll(List.of(serverArgs));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        // Without --info-file the server prints its connection info as one line once it listens.
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        Matcher m = Pattern.compile("\"socket\": \"([^\"]+)\", \"token\": \"([0-9a-f]{64})\", \"pid\": (\\d+)")
                .matcher(line == null ? "" : line);
        if (!m.find()) {
            p.destroyForcibly();
            throw new IOException("the child server did not start: " + line);
        }
        return new ChildServer(p, new ConnectionInfo(1, Path.of(m.group(1)), m.group(2), Long.parseLong(m.group(3))));
    }

    @Override
    public void close() throws Exception {
        process.getOutputStream().close(); // --exit-on-stdin-eof
        if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
