package dev.gatun.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chunked exchange of spec/vectors/frames.json through the server's real {@link Channel}: the test
 * plays the client with the vector's exact frames on a region whose data capacity is the vector's,
 * and checks every frame the server's chunk assembler and chunker write.
 */
class ChunkedVectorTest {
    private static final HexFormat HEX = HexFormat.of();

    private ShmRegion region;
    private SocketChannel clientSocket;
    private long sent;
    private long seen;

    @Test
    void refusedOnTheFirstChunk(@TempDir Path dir) throws Exception {
        JsonObject chunked = VectorsTest.vectors().getAsJsonObject("chunked");
        mapRegion(dir, chunked.get("data_capacity").getAsInt());
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(address)) {
            clientSocket = SocketChannel.open(address);
            SocketChannel serverSocket = listener.accept();
            Channel server = new Channel(region, serverSocket, true, chunked.get("refused_limit").getAsLong(),
                    WaitPolicy.factory(WaitPolicy.DEFAULT).get());
            Thread serving = new Thread(() -> {
                try {
                    server.receive();
                } catch (GatunException e) { // what RequestLoop answers: the ERROR in place of CONTINUE
                    server.begin(FrameType.ERROR).u16(e.code().code).string(e.getMessage());
                    try {
                        server.send();
                    } catch (IOException io) {
                        throw new RuntimeException(io);
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, "chunked-refusal-server");
            serving.start();
            play(chunked.getAsJsonArray("refused_steps"), true);
            serving.join(30_000);
            serverSocket.close();
            clientSocket.close();
        }
    }

    private void mapRegion(Path dir, int capacity) throws IOException {
        Path file = dir.resolve("region");
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(ShmRegion.MAGIC).putInt(ShmRegion.LAYOUT_VERSION).putLong(ShmRegion.DATA_OFFSET + capacity)
                    .putInt(ShmRegion.DATA_OFFSET).putInt(capacity).flip();
            fc.write(header, 0);
            fc.truncate(ShmRegion.DATA_OFFSET + capacity);
            fc.write(ByteBuffer.allocate(1), ShmRegion.DATA_OFFSET + capacity - 1);
        }
        region = ShmRegion.open(file);
        assertEquals(capacity, region.dataCapacity());
    }

    @Test
    void chunkedExchange(@TempDir Path dir) throws Exception {
        JsonObject chunked = VectorsTest.vectors().getAsJsonObject("chunked");
        mapRegion(dir, chunked.get("data_capacity").getAsInt());
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(address)) {
            clientSocket = SocketChannel.open(address);
            SocketChannel serverSocket = listener.accept();
            Channel server = new Channel(region, serverSocket, true, GatunServer.DEFAULT_MAX_MESSAGE_BYTES,
                    WaitPolicy.factory(WaitPolicy.DEFAULT).get());
            byte[] answer = HEX.parseHex(chunked.getAsJsonObject("answer").getAsJsonObject("body")
                    .getAsJsonObject("value").get("bytes").getAsString());
            byte[] requestBytes = HEX.parseHex(chunked.getAsJsonObject("request").getAsJsonObject("body")
                    .getAsJsonArray("args").get(0).getAsJsonObject().get("bytes").getAsString());
            CompletableFuture<Object[]> decoded = new CompletableFuture<>();
            Thread serving = new Thread(() -> {
                try {
                    int type = server.receive(); // assembles the chunks, answering CONTINUE
                    Object[][] args = new Object[1][];
                    RequestDecoder.decode(type, server.reader(), new NameTable(), ClientValues.MODEL,
                            new VectorsServerTest.RequestHandlerAdapter() {
                                @Override
                                public void call(int targetKind, long target, String name, Object[] a) {
                                    args[0] = new Object[] {FrameType.name(type), name, a[0]};
                                }
                            });
                    decoded.complete(args[0]);
                    server.begin(FrameType.RETURN).result(99, null);
                    server.send();
                    server.receive(); // the next request, answered in chunks
                    server.begin(FrameType.RETURN).u8(ValueTag.BYTES).bytes(answer);
                    server.send();
                } catch (IOException | RuntimeException e) {
                    decoded.completeExceptionally(e);
                }
            }, "chunked-vector-server");
            serving.start();
            play(chunked.getAsJsonArray("steps"), true);
            Object[] call = decoded.get(30, TimeUnit.SECONDS);
            assertEquals("CALL", call[0]);
            assertEquals("hashCode", call[1]);
            assertArrayEquals(requestBytes, (byte[]) call[2]);
            clientSend(HEX.parseHex("00000000" + "0b000000" + "0000000000000000")); // SESSION_INFO
            play(chunked.getAsJsonArray("answer_steps"), false);
            serving.join(30_000);
            serverSocket.close();
            clientSocket.close();
        }
    }

    /** Sends the client's steps and checks that the server wrote exactly the server's steps. */
    private void play(JsonArray steps, boolean clientFirst) throws IOException {
        boolean clientTurn = clientFirst;
        for (JsonElement e : steps) {
            JsonObject step = e.getAsJsonObject();
            byte[] frame = HEX.parseHex(step.get("hex").getAsString());
            boolean fromClient = step.get("direction").getAsString().equals("client_to_server");
            assertEquals(clientTurn, fromClient, "turns alternate");
            if (fromClient) {
                clientSend(frame);
            } else {
                assertEquals(HEX.formatHex(frame), HEX.formatHex(clientReceive()));
            }
            clientTurn = !clientTurn;
        }
    }

    private void clientSend(byte[] frame) throws IOException {
        region.data().put(0, frame);
        region.setSeqRelease(ShmRegion.CLIENT_SEQ, ++sent);
        java.lang.invoke.VarHandle.fullFence();
        if (region.getParkedVolatile(ShmRegion.SERVER_PARKED) == 1
                && region.casParked(ShmRegion.SERVER_PARKED, 1, 0)) {
            clientSocket.write(ByteBuffer.wrap(new byte[] {1}));
        }
    }

    /** Waits (never parking, so the server never rings) for the server's next frame and copies it. */
    private byte[] clientReceive() {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (region.getSeqAcquire(ShmRegion.SERVER_SEQ) == seen) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the server sent nothing");
            }
            Thread.yield();
        }
        seen = region.getSeqAcquire(ShmRegion.SERVER_SEQ);
        ByteBuffer data = region.data();
        int length = data.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        byte[] frame = new byte[FrameType.HEADER_BYTES + length];
        data.get(0, frame);
        return frame;
    }
}
