// The JVM side of bench/arrow_bench.py, compiled by it against gatun-arrow.jar and put on the
// class path of both the Gatun server and the Py4J server (the same code serves all three paths).
package gatunbench;

import dev.gatun.arrow.ArrowArena;
import dev.gatun.arrow.ArrowExporter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Schema;

/** Consumers and producers of Arrow batches for the benchmark. */
public final class ArrowBenchHelper {
    private static final BufferAllocator ALLOCATOR = new RootAllocator();
    private static List<byte[]> stored = new ArrayList<>();
    private static Schema schema;
    private static ServerSocket server;

    private ArrowBenchHelper() {
    }

    /** Loads every batch of the reader (in place for a Gatun ArenaReader); returns the rows. */
    public static long drain(ArrowReader reader) throws IOException {
        long rows = 0;
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        while (reader.loadNextBatch()) {
            rows += root.getRowCount();
        }
        reader.close();
        return rows;
    }

    /** Keeps the reader's batches as IPC messages on the heap, as Spark holds collected results. */
    public static int store(ArrowReader reader) throws IOException {
        List<byte[]> batches = ArrowExporter.encodeBatches(reader);
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        schema = root.getSchema();
        stored = batches;
        reader.close();
        return batches.size();
    }

    /** Gatun JVM to Python: the stored batches, copied into the arena as they are. */
    public static ArrowExporter exporter(ArrowArena arena) {
        return ArrowExporter.fromIpcBatches(arena, schema, stored.iterator());
    }

    /** Opens a loopback TCP listener for the socket paths; returns its port. */
    public static int listen() throws IOException {
        if (server != null) {
            server.close();
        }
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        return server.getLocalPort();
    }

    /** Socket Python to JVM: accepts one connection and reads an IPC stream with ArrowStreamReader. */
    public static long drainSocket() throws IOException {
        try (Socket s = server.accept();
                ArrowStreamReader reader = new ArrowStreamReader(new BufferedInputStream(s.getInputStream(), 65536),
                        ALLOCATOR)) {
            long rows = 0;
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            while (reader.loadNextBatch()) {
                rows += root.getRowCount();
            }
            return rows;
        }
    }

    /** Socket JVM to Python: accepts one connection and writes the stored batches as an IPC stream. */
    public static void serveStored() throws IOException {
        try (Socket s = server.accept();
                OutputStream out = new BufferedOutputStream(s.getOutputStream(), 65536)) {
            WriteChannel ch = new WriteChannel(Channels.newChannel(out));
            MessageSerializer.serialize(ch, schema);
            for (byte[] b : stored) {
                ch.write(b);
            }
            ch.writeIntLittleEndian(MessageSerializer.IPC_CONTINUATION_TOKEN);
            ch.writeIntLittleEndian(0);
        }
    }

    /** Py4J Python to JVM: the stream's schema as an IPC message. */
    public static void setSchema(byte[] message) throws IOException {
        schema = MessageSerializer.deserializeSchema(new ReadChannel(Channels.newChannel(new ByteArrayInputStream(message))));
    }

    /** Py4J Python to JVM: loads one batch from its IPC bytes into vectors; returns its rows. */
    public static int loadBatch(byte[] message) throws IOException {
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, ALLOCATOR);
                ArrowRecordBatch b = MessageSerializer.deserializeRecordBatch(
                        new ReadChannel(Channels.newChannel(new ByteArrayInputStream(message))), ALLOCATOR)) {
            new VectorLoader(root).load(b);
            return root.getRowCount();
        }
    }

    /** Py4J setup: starts a new stored stream of the schema last set. */
    public static void clearStored() {
        stored = new ArrayList<>();
    }

    /** Py4J setup: stores one batch's IPC bytes. */
    public static void keep(byte[] message) {
        stored.add(message);
    }

    /** Py4J JVM to Python: the stored schema as an IPC message. */
    public static byte[] storedSchema() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), schema);
        return out.toByteArray();
    }

    /** Py4J JVM to Python: how many batches are stored. */
    public static int storedCount() {
        return stored.size();
    }

    /** Py4J JVM to Python: one stored batch's IPC bytes. */
    public static byte[] storedBatch(int i) {
        return stored.get(i);
    }
}
