// Py4J server used by the Gatun benchmarks (bench/bridges.py).
//
// py4j.ClientServer has no main(), so this mirrors what PySpark does in its
// default "pinned thread" mode (org.apache.spark.api.python.Py4JServer):
// a ClientServer on an ephemeral loopback port with an auth token.
// Launched in single-file source mode:
//     java -cp py4j0.10.9.9.jar bench/Py4JBenchServer.java
// Prints "PY4J_PORT <port>" on stdout once listening, and exits when its
// stdin reaches EOF (i.e. when the Python process that launched it dies),
// like PySpark's --die-on-broken-pipe.
import java.net.InetAddress;
import py4j.ClientServer;

public class Py4JBenchServer {
    public static void main(String[] args) throws Exception {
        ClientServer.ClientServerBuilder builder = new ClientServer.ClientServerBuilder()
            .javaPort(0)
            .javaAddress(InetAddress.getLoopbackAddress())
            .autoStartJavaServer(false);
        String secret = System.getenv("PY4J_BENCH_SECRET");
        if (secret != null && !secret.isEmpty()) {
            builder.authToken(secret);
        }
        ClientServer server = builder.build();
        server.startServer();
        System.out.println("PY4J_PORT " + server.getJavaServer().getListeningPort());
        System.out.flush();
        while (System.in.read() != -1) {
            // wait for EOF
        }
        server.shutdown();
        System.exit(0);
    }
}
