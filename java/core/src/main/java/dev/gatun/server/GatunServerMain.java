package dev.gatun.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;

/** {@code java -jar gatun-core.jar [options]}: runs a standalone server until it is stopped. */
public final class GatunServerMain {
    private static final String USAGE = String.join("\n",
            "usage: java -jar gatun-core.jar [options]",
            "",
            "  --socket-dir DIR         directory for the socket (created 0700; default: a new private temp dir)",
            "  --info-file PATH         write the connection info JSON there (atomically, mode 0600);",
            "                           without it the JSON is printed on stdout",
            "  --allowlist SPEC         classes clients may use: comma-separated entries a.b.C, a.b.*, a.b.**, **,",
            "                           a.b.C#member (one member of a denied class), -entry (deny), 'default'",
            "                           (the built-in list), or @FILE (one entry per line, # comments);",
            "                           default: 'default' (spec/security.md)",
            "  --region-bytes N         shared-memory region size per channel (65536..1073741824; default 4194304)",
            "  --max-message-bytes N    largest message (default 2147483000)",
            "  --max-session-bytes N    largest total of the chunked messages one session may be receiving at",
            "                           once, over all its channels (default: --max-message-bytes)",
            "  --allow-shutdown         let a client stop the server (control SHUTDOWN)",
            "  --exit-on-stdin-eof      exit when stdin is closed (the server dies with its parent)",
            "  --warm-up N              requests the server makes to itself at start so the JIT compiles its",
            "                           request path before clients need it (default 30000; 0: none)",
            "  --wait-policy NAME       how channel threads wait for requests: adaptive (default), park, spin:MICROS",
            "  --help                   print this and exit");

    /** Requests of the start-up warm-up: enough to reach the compiled steady state (measured: ~14,000). */
    public static final int DEFAULT_WARM_UP = 30_000;

    private GatunServerMain() {
    }

    /** Thrown for a bad command line: reported with the usage, exit status 2. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** The parsed command line. */
    static final class Options {
        Path socketDir;
        Path infoFile;
        Allowlist allowlist = Allowlist.standard();
        long regionBytes = GatunServer.DEFAULT_REGION_BYTES;
        long maxMessageBytes = GatunServer.DEFAULT_MAX_MESSAGE_BYTES;
        long maxSessionBytes;
        boolean allowShutdown;
        boolean exitOnStdinEof;
        int warmUp = DEFAULT_WARM_UP;
        String waitPolicy = WaitPolicy.DEFAULT;
        boolean help;

        GatunServer.Builder builder() {
            return GatunServer.builder().socketDir(socketDir).allowlist(allowlist).regionBytes(regionBytes)
                    .maxMessageBytes(maxMessageBytes).maxSessionBytes(maxSessionBytes).allowShutdown(allowShutdown)
                    .warmUp(warmUp).waitPolicy(waitPolicy);
        }
    }

    static Options parse(String[] args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            switch (arg) {
                case "--help", "-h" -> o.help = true;
                case "--allow-shutdown" -> o.allowShutdown = true;
                case "--exit-on-stdin-eof" -> o.exitOnStdinEof = true;
                case "--socket-dir", "--info-file", "--allowlist", "--region-bytes", "--max-message-bytes",
                     "--max-session-bytes", "--warm-up", "--wait-policy" -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException(arg + " needs a value");
                        }
                        value = args[++i];
                    }
                    setOption(o, arg, value);
                }
                default -> throw new UsageException("unknown option: " + args[i]);
            }
        }
        return o;
    }

    private static void setOption(Options o, String name, String value) throws UsageException {
        try {
            switch (name) {
                case "--socket-dir" -> o.socketDir = Path.of(value);
                case "--info-file" -> o.infoFile = Path.of(value);
                case "--allowlist" -> o.allowlist = Allowlist.parse(value);
                case "--region-bytes" -> {
                    o.regionBytes = Long.parseLong(value);
                    ShmRegion.checkSize(o.regionBytes);
                }
                case "--max-session-bytes" -> {
                    o.maxSessionBytes = Long.parseLong(value);
                    GatunServer.builder().maxSessionBytes(o.maxSessionBytes);
                }
                case "--wait-policy" -> {
                    WaitPolicy.factory(value);
                    o.waitPolicy = value;
                }
                case "--warm-up" -> {
                    o.warmUp = Integer.parseInt(value);
                    GatunServer.builder().warmUp(o.warmUp);
                }
                default -> {
                    o.maxMessageBytes = Long.parseLong(value);
                    ServerConfig.checkMaxMessageBytes(o.maxMessageBytes);
                }
            }
        } catch (NumberFormatException e) {
            throw new UsageException(name + ": not a number: " + value);
        } catch (IllegalArgumentException e) {
            throw new UsageException(name + ": " + e.getMessage());
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err));
    }

    /** Runs the server until it is closed; returns the exit status. */
    static int run(String[] args, InputStream stdin, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = parse(args);
        } catch (UsageException e) {
            err.println("gatun: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (options.help) {
            out.println(USAGE);
            return 0;
        }
        GatunServer server = options.builder().build();
        try {
            server.start();
            if (options.infoFile != null) {
                server.writeConnectionInfo(options.infoFile);
            } else {
                out.println(server.connectionInfo().toJson());
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            err.println("gatun: cannot start the server: " + e.getMessage());
            server.close();
            return 1;
        }
        Thread hook = new Thread(server::close, "gatun-shutdown"); // SIGTERM: still remove the socket and regions
        Runtime.getRuntime().addShutdownHook(hook);
        if (options.exitOnStdinEof) {
            Thread watcher = new Thread(() -> {
                drain(stdin);
                server.close();
            }, "gatun-stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        try {
            server.awaitClose();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs anyway, and close() is idempotent
        }
        return 0;
    }

    private static void drain(InputStream in) {
        byte[] sink = new byte[256];
        try {
            while (in.read(sink) >= 0) {
                // nothing: only the end of the stream matters
            }
        } catch (IOException e) {
            // a broken stdin counts as closed
        }
    }
}
