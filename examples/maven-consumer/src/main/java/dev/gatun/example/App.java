package dev.gatun.example;

import dev.gatun.arrow.ArrowArena;
import dev.gatun.server.GatunServer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Embeds the Gatun server in this JVM, lets it make real requests to itself over its socket and
 * shared memory (the start-up warm-up), and names an Arrow schema through gatun-arrow's
 * dependencies. Prints the connection file a Python or Go client would attach with.
 */
public final class App {
    public static void main(String[] args) throws Exception {
        GatunServer server = GatunServer.builder().warmUp(2000).build().start();
        try {
            int requests = server.warmUp().get(120, TimeUnit.SECONDS);
            System.out.println("server up, socket " + server.socketPath() + ", warm-up requests: " + requests);
            if (requests <= 0) {
                throw new IllegalStateException("the warm-up made no requests");
            }
            Schema schema = new Schema(List.of(Field.nullable("x", new ArrowType.Int(64, true))));
            System.out.println("arrow schema " + schema + ", arena limit " + ArrowArena.maxSize() + " bytes");
            try {
                Class.forName("org.slf4j.nop.NOPServiceProvider");
                throw new IllegalStateException("slf4j-nop reached this project through gatun-arrow");
            } catch (ClassNotFoundException expected) {
                System.out.println("no logging binding forced on this project");
            }
        } finally {
            server.close();
        }
        System.out.println("OK");
    }
}
