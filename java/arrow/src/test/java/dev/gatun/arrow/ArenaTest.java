package dev.gatun.arrow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The arena, its reader and exporter inside one JVM, with this test playing the client: it writes
 * IPC messages into spans the way the Python client does and reads exported spans back.
 */
class ArenaTest {
    private BufferAllocator allocator;
    private ArrowArena arena;

    @BeforeEach
    void setUp() throws IOException {
        allocator = new RootAllocator();
        arena = ArrowArena.create(ArrowArena.MIN_SIZE);
    }

    @AfterEach
    void tearDown() throws IOException {
        arena.close();
        allocator.close();
    }

    private VectorSchemaRoot sample(int rows, long base) {
        BigIntVector ids = new BigIntVector("id", allocator);
        VarCharVector names = new VarCharVector("name", allocator);
        ids.allocateNew(rows);
        names.allocateNew(rows);
        for (int i = 0; i < rows; i++) {
            ids.set(i, base + i);
            if (i % 3 == 0) {
                names.setNull(i);
            } else {
                names.setSafe(i, ("n" + (base + i)).getBytes());
            }
        }
        ids.setValueCount(rows);
        names.setValueCount(rows);
        return new VectorSchemaRoot(List.of(ids, names));
    }

    private static byte[] message(VectorSchemaRoot root) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ArrowRecordBatch batch = new VectorUnloader(root).getRecordBatch()) {
            MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), batch);
        }
        return out.toByteArray();
    }

    /** What the client does for one batch: ask for a span, write the message and its length. */
    private long writeSpan(byte[] msg) {
        long off = arena.allocate(msg.length);
        assertTrue(off >= 0);
        arena.buffer().put((int) off + ArrowArena.SPAN_HEADER, msg);
        arena.buffer().putLong((int) off + 8, msg.length);
        return off;
    }

    /** Tells the source to write this message into the span the reader reserved. */
    private record Reserved(byte[] message) {
    }

    private final class QueueSource implements BatchSource {
        final Deque<Object> queue = new ArrayDeque<>();
        boolean closed;

        @Override
        public Object next(long reserved, long capacity) {
            Object next = queue.poll();
            if (next instanceof Reserved r) {
                assertTrue(reserved >= 0 && capacity >= r.message.length);
                arena.buffer().put((int) reserved + ArrowArena.SPAN_HEADER, r.message);
                arena.buffer().putLong((int) reserved + 8, r.message.length);
                return reserved;
            }
            return next;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void readerLoadsSpansInPlaceAndFreesThemWhenItMovesOn() throws IOException {
        long empty = arena.freeBytes();
        QueueSource source = new QueueSource();
        List<VectorSchemaRoot> roots = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            roots.add(sample(100, b * 100L));
        }
        byte[] schema = IpcMessages.writeSchema(roots.get(0).getSchema());
        try (ArenaReader reader = ArenaReader.open(arena, schema, source)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            for (int b = 0; b < 3; b++) {
                source.queue.add(writeSpan(message(roots.get(b))));
                assertTrue(reader.loadNextBatch());
                assertEquals(roots.get(b).contentToTSVString(), root.contentToTSVString());
                ArrowBuf data = ((BigIntVector) root.getVector("id")).getDataBuffer();
                assertTrue(arena.contains(data.memoryAddress(), data.capacity()), "vector data is in the arena");
                assertTrue(arena.freeBytes() < empty);
            }
            assertFalse(reader.loadNextBatch());
            assertEquals(empty, arena.freeBytes(), "every span went back once the reader moved on");
        }
        assertFalse(source.closed, "an exhausted source is not called again to close");
        roots.forEach(VectorSchemaRoot::close);
    }

    @Test
    void spansOfAReaderDroppedWithoutCloseComeBackAfterGc() throws Exception {
        long empty = arena.freeBytes();
        try (VectorSchemaRoot data = sample(1000, 0)) {
            QueueSource source = new QueueSource();
            ArenaReader reader = ArenaReader.open(arena, IpcMessages.writeSchema(data.getSchema()), source);
            source.queue.add(writeSpan(message(data)));
            assertTrue(reader.loadNextBatch());
            assertTrue(arena.freeBytes() < empty);
            reader = null;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (arena.freeBytes() < empty && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
        }
        assertEquals(empty, arena.freeBytes());
    }

    @Test
    void reservedSpanIsUsedAndShrunkToItsPayload() throws IOException {
        long empty = arena.freeBytes();
        QueueSource source = new QueueSource();
        try (VectorSchemaRoot data = sample(1000, 0);
                ArenaReader reader = ArenaReader.open(arena, IpcMessages.writeSchema(data.getSchema()), source)) {
            byte[] msg = message(data);
            source.queue.add(new Reserved(msg));
            assertTrue(reader.loadNextBatch());
            assertEquals(data.contentToTSVString(), reader.getVectorSchemaRoot().contentToTSVString());
            assertEquals(empty - ((ArrowArena.SPAN_HEADER + msg.length + 63) / 64 * 64), arena.freeBytes());
            assertFalse(reader.loadNextBatch());
            assertEquals(empty, arena.freeBytes());
        }
    }

    @Test
    void batchMessagesAreCopiedOutAsTheClientWroteThem() throws IOException {
        long empty = arena.freeBytes();
        QueueSource source = new QueueSource();
        try (VectorSchemaRoot a = sample(50, 0); VectorSchemaRoot b = sample(7, 1000)) {
            byte[] schema = IpcMessages.writeSchema(a.getSchema());
            byte[] first = message(a);
            byte[] second = message(b);
            // A span as pyarrow writes it (the schema message first), then the bytes fallback.
            byte[] withSchema = new byte[schema.length + first.length];
            System.arraycopy(schema, 0, withSchema, 0, schema.length);
            System.arraycopy(first, 0, withSchema, schema.length, first.length);
            source.queue.add(writeSpan(withSchema));
            source.queue.add(second);
            try (ArenaReader reader = ArenaReader.open(arena, schema, source)) {
                assertArrayEquals(first, reader.nextBatchMessage());
                assertEquals(empty, arena.freeBytes(), "the span went back as soon as it was copied");
                assertArrayEquals(second, reader.nextBatchMessage());
                assertNull(reader.nextBatchMessage());
                source.queue.add(writeSpan(schema)); // no record batch in it
            }
            try (ArenaReader reader = ArenaReader.open(arena, schema, source)) {
                IOException e = assertThrows(IOException.class, reader::nextBatchMessage);
                assertTrue(e.getMessage().contains("no Arrow record batch"), e.getMessage());
            }
        }
    }

    @Test
    void readerAcceptsBytesAndRefusesForeignOffsets() throws IOException {
        QueueSource source = new QueueSource();
        try (VectorSchemaRoot data = sample(10, 0);
                ArenaReader reader = ArenaReader.open(arena, IpcMessages.writeSchema(data.getSchema()), source)) {
            source.queue.add(message(data));
            assertTrue(reader.loadNextBatch());
            assertEquals(data.contentToTSVString(), reader.getVectorSchemaRoot().contentToTSVString());
            source.queue.add(12345L);
            assertThrows(IllegalArgumentException.class, reader::loadNextBatch);
            long off = writeSpan(message(data));
            arena.buffer().putLong((int) off + 8, 1L << 40);
            source.queue.add(off);
            assertThrows(IllegalArgumentException.class, reader::loadNextBatch);
        }
    }

    @Test
    void closedReaderRefusesUse() throws IOException {
        QueueSource source = new QueueSource();
        try (VectorSchemaRoot data = sample(10, 0)) {
            ArenaReader reader = ArenaReader.open(arena, IpcMessages.writeSchema(data.getSchema()), source);
            reader.close();
            assertTrue(source.closed, "a reader closed early lets the source drop its data");
            IllegalStateException e = assertThrows(IllegalStateException.class, reader::loadNextBatch);
            assertTrue(e.getMessage().contains("closed"));
        }
    }

    @Test
    void exporterLendsSpansUntilTheClientReturnsThem() throws IOException {
        long empty = arena.freeBytes();
        try (VectorSchemaRoot data = sample(1000, 0)) {
            byte[] expected = message(data);
            ArrowExporter ex = ArrowExporter.open(arena, data);
            long off = ex.next();
            assertTrue(off >= ArrowArena.DATA_OFFSET);
            assertEquals(ArrowArena.LENT, arena.buffer().getInt((int) off));
            long len = arena.buffer().getLong((int) off + 8);
            byte[] got = new byte[(int) len];
            arena.buffer().get((int) off + ArrowArena.SPAN_HEADER, got);
            assertArrayEquals(expected, got);
            assertEquals(ArrowExporter.END, ex.next());
            assertTrue(arena.freeBytes() < empty, "a lent span stays taken");
            arena.buffer().putInt((int) off, ArrowArena.RETURNED);
            assertEquals(empty, arena.freeBytes());
            ex.close();
        }
    }

    @Test
    void exporterSaysNoRoomAndFallsBackToBytes() throws IOException {
        try (VectorSchemaRoot big = sample(200_000, 0)) {
            ArrowExporter ex = ArrowExporter.open(arena, big);
            assertEquals(ArrowExporter.NO_ROOM, ex.next());
            assertArrayEquals(message(big), ex.nextBytes());
            assertNull(ex.nextBytes());
            ex.close();
        }
    }

    @Test
    void ipcBatchesAreCopiedAsTheyAre() throws IOException {
        try (VectorSchemaRoot data = sample(10, 5)) {
            byte[] msg = message(data);
            ArrowExporter ex = ArrowExporter.fromIpcBatches(arena, data.getSchema(), List.of(msg, msg).iterator());
            for (int i = 0; i < 2; i++) {
                long off = ex.next();
                byte[] got = new byte[msg.length];
                arena.buffer().get((int) off + ArrowArena.SPAN_HEADER, got);
                assertArrayEquals(msg, got);
            }
            assertEquals(ArrowExporter.END, ex.next());
        }
    }

    @Test
    void arenaFileIsPrivateAndGoesAwayOnceMapped() throws IOException {
        Path file = Path.of(arena.path());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------",
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
        arena.mapped();
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(file.getParent()));
    }

    @Test
    void allocatorNeverHandsOutOverlappingSpans() {
        long empty = arena.freeBytes();
        java.util.Random random = new java.util.Random(42);
        java.util.TreeMap<Long, Long> live = new java.util.TreeMap<>();
        for (int i = 0; i < 20_000; i++) {
            if (!live.isEmpty() && (random.nextBoolean() || live.size() > 40)) {
                Long victim = live.keySet().stream().skip(random.nextInt(live.size())).findFirst().orElseThrow();
                live.remove(victim);
                arena.abandon(victim);
                continue;
            }
            long payload = random.nextInt(40_000);
            long off = arena.allocate(payload);
            if (off < 0) {
                continue;
            }
            long end = off + ArrowArena.SPAN_HEADER + payload;
            assertTrue(end <= arena.size());
            java.util.Map.Entry<Long, Long> below = live.floorEntry(off);
            assertTrue(below == null || below.getValue() <= off, "overlaps the span below");
            Long above = live.ceilingKey(off);
            assertTrue(above == null || above >= end, "overlaps the span above");
            live.put(off, end);
        }
        live.keySet().forEach(arena::abandon);
        assertEquals(empty, arena.freeBytes());
    }

    @Test
    void sizeLimitsAreEnforced() {
        assertThrows(IllegalArgumentException.class, () -> ArrowArena.create(1024));
        assertThrows(IllegalArgumentException.class, () -> ArrowArena.create(4L << 30));
    }

    /** What the client does with a new arena: map its file (a mapping of its own), then say so. */
    private static ByteBuffer clientMap(ArrowArena a) throws IOException {
        assertEquals(a.size(), Files.size(Path.of(a.path())), "the client checks the file's size");
        MappedByteBuffer m;
        try (FileChannel fc = FileChannel.open(Path.of(a.path()), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            m = fc.map(FileChannel.MapMode.READ_WRITE, 0, a.size());
        }
        a.mapped();
        return m.order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] lentPayload(ByteBuffer mapping, long off) {
        assertEquals(ArrowArena.LENT, mapping.getInt((int) off));
        byte[] got = new byte[(int) mapping.getLong((int) off + 8)];
        mapping.get((int) off + ArrowArena.SPAN_HEADER, got);
        return got;
    }

    @Test
    void exporterContinuesInExtensionsWhoseFilesTheJvmClosesWhenDone() throws IOException {
        try (VectorSchemaRoot data = sample(20_000, 0)) {
            byte[] msg = message(data);
            int n = 16;  // several times the 1 MiB root arena, every batch kept by the "client"
            assertTrue((long) n * msg.length > 4 * arena.size());
            ArrowExporter ex = ArrowExporter.fromIpcBatches(arena, data.getSchema(),
                    java.util.Collections.nCopies(n, msg).iterator());
            ByteBuffer current = arena.buffer();
            List<ArrowArena> extensions = new ArrayList<>();
            int got = 0;
            while (true) {
                long off = ex.next();
                if (off == ArrowExporter.END) {
                    break;
                }
                if (off == ArrowExporter.NO_ROOM) {
                    long need = ex.pendingSize();
                    assertTrue(need > msg.length && need <= msg.length + 2 * ArrowArena.SPAN_HEADER);
                    ArrowArena ext = arena.extend(2 * ArrowArena.MIN_SIZE);
                    current = clientMap(ext);
                    ex.continueIn(ext);
                    if (!extensions.isEmpty()) {
                        assertFalse(extensions.get(extensions.size() - 1).holdsFile(), "a left extension's file stays open");
                    }
                    extensions.add(ext);
                    continue;
                }
                assertArrayEquals(msg, lentPayload(current, off));
                got++;
            }
            assertEquals(n, got);
            assertTrue(extensions.size() >= 2);
            for (ArrowArena ext : extensions) {
                assertFalse(ext.holdsFile(), "the JVM holds an extension's file after the export ended");
                assertFalse(ext.contains(0, 1));
                assertThrows(IllegalStateException.class, () -> ext.exportSpan(10));
            }
            ex.close();
        }
    }

    @Test
    void largeHeapAndDirectBatchesArriveWholeInAnExtension() throws IOException {
        try (VectorSchemaRoot big = sample(200_000, 7)) {
            byte[] msg = message(big);
            assertTrue(msg.length > 2 << 20, "larger than the heap write chunk");
            ArrowArena ext = arena.extend(4 * ArrowArena.MIN_SIZE);
            ByteBuffer client = clientMap(ext);
            // Heap bytes (fromIpcBatches) and Arrow's direct buffers (a root) take different writes.
            for (ArrowExporter ex : List.of(ArrowExporter.fromIpcBatches(arena, big.getSchema(), List.of(msg).iterator()),
                    ArrowExporter.open(arena, big))) {
                ArrowArena target = ext.holdsFile() ? ext : arena.extend(4 * ArrowArena.MIN_SIZE);
                ByteBuffer view = target == ext ? client : clientMap(target);
                ex.continueIn(target);
                long off = ex.next();
                assertTrue(off >= ArrowArena.DATA_OFFSET);
                assertArrayEquals(msg, lentPayload(view, off));
                assertEquals(ArrowExporter.END, ex.next());
                assertFalse(target.holdsFile());
            }
        }
    }

    @Test
    void continueInRefusesArenasItMustNotWriteInto() throws IOException {
        try (VectorSchemaRoot data = sample(10, 0); ArrowArena otherSession = ArrowArena.create(ArrowArena.MIN_SIZE)) {
            ArrowExporter ex = ArrowExporter.open(arena, data);
            ArrowArena foreign = otherSession.extend(ArrowArena.MIN_SIZE);
            clientMap(foreign);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ex.continueIn(foreign));
            assertTrue(e.getMessage().contains("session"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ex.continueIn(otherSession));
            assertThrows(IllegalArgumentException.class, () -> ex.continueIn(null));

            ArrowArena unmapped = arena.extend(ArrowArena.MIN_SIZE);
            e = assertThrows(IllegalArgumentException.class, () -> ex.continueIn(unmapped));
            assertTrue(e.getMessage().contains("mapped"), e.getMessage());
            unmapped.close();

            ArrowArena closed = arena.extend(ArrowArena.MIN_SIZE);
            clientMap(closed);
            closed.close();
            assertThrows(IllegalStateException.class, () -> ex.continueIn(closed));

            ArrowArena ext = arena.extend(ArrowArena.MIN_SIZE);
            clientMap(ext);
            ex.continueIn(ext);
            ArrowExporter second = ArrowExporter.open(arena, data);
            e = assertThrows(IllegalArgumentException.class, () -> second.continueIn(ext));
            assertTrue(e.getMessage().contains("another exporter"), e.getMessage());
            // An extension is only the exporter's: no reader, client allocation or other exporter.
            assertThrows(IllegalArgumentException.class, () -> ext.allocate(10));
            assertThrows(IllegalArgumentException.class,
                    () -> ArenaReader.open(ext, IpcMessages.writeSchema(data.getSchema()), new QueueSource()));
            assertThrows(IllegalArgumentException.class, () -> ArrowExporter.open(ext, data));
            assertThrows(IllegalArgumentException.class, () -> arena.extend(ArrowArena.HARD_MAX_SIZE * 2));
            // Back to the root: the extension is retired.
            ex.continueIn(arena);
            assertFalse(ext.holdsFile());
            assertTrue(ex.next() >= ArrowArena.DATA_OFFSET);
            ex.close();
            second.close();
            foreign.close();
        }
    }

    /** Pulls every batch of {@code ex} into {@code ext} (already continued into); returns the span offsets. */
    private static List<Long> drain(ArrowExporter ex, ByteBuffer client, byte[] expected) throws IOException {
        List<Long> offsets = new ArrayList<>();
        for (long off = ex.next(); off != ArrowExporter.END; off = ex.next()) {
            assertTrue(off >= ArrowArena.DATA_OFFSET, "no room in the extension: " + off);
            assertArrayEquals(expected, lentPayload(client, off));
            offsets.add(off);
        }
        return offsets;
    }

    /** How many mappings of the arena's (deleted) file this process has. */
    private static long mappingsOf(ArrowArena a) throws IOException {
        try (java.util.stream.Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains(a.path())).count();
        }
    }

    private static ArrowExporter copies(ArrowArena arena, VectorSchemaRoot schemaOf, byte[] msg, int n) {
        return ArrowExporter.fromIpcBatches(arena, schemaOf.getSchema(), java.util.Collections.nCopies(n, msg).iterator());
    }

    @Test
    void keptExtensionIsRecycledOnlyOnceEverySpanIsReturned() throws IOException {
        arena.keepSpares(64L << 20);
        try (VectorSchemaRoot first = sample(2000, 10_000); VectorSchemaRoot second = sample(2000, 20_000)) {
            byte[] a = message(first);
            byte[] b = message(second);
            assertEquals(a.length, b.length);
            ArrowArena ext = arena.extend(4 * ArrowArena.MIN_SIZE);
            ByteBuffer client = clientMap(ext);
            assertEquals(1, mappingsOf(ext), "this test's client mapping");
            ArrowExporter ex = copies(arena, first, a, 2);
            ex.continueIn(ext);
            List<Long> spans = drain(ex, client, a);
            assertEquals(2, spans.size());
            assertTrue(ext.holdsFile() && ext.isKept(), "the root keeps a retired extension within its budget");
            assertFalse(ext.mappedInJvm(), "the JVM maps an extension only to recycle it");
            assertThrows(IllegalStateException.class, () -> ext.exportSpan(10));

            // The client still views the second span: nobody may rewrite the extension.
            client.putInt((int) (long) spans.get(0), ArrowArena.RETURNED);
            ArrowExporter next = copies(arena, second, b, 4);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> next.continueIn(ext));
            assertTrue(e.getMessage().contains("still in use"), e.getMessage());
            assertTrue(ext.isKept(), "a refused reuse leaves the extension kept");
            assertArrayEquals(a, lentPayload(client, spans.get(1)), "the span still viewed is unchanged");

            client.putInt((int) (long) spans.get(1), ArrowArena.RETURNED);
            next.continueIn(ext);
            assertFalse(ext.isKept());
            assertTrue(ext.mappedInJvm());
            assertEquals(2, mappingsOf(ext), "the client's mapping and the JVM's own");
            // The old exporter, ended in this extension, must not retire it under its new writer.
            ex.close();
            List<Long> again = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                long off = next.next();
                assertTrue(off >= ArrowArena.DATA_OFFSET);
                assertArrayEquals(b, lentPayload(client, off));
                again.add(off);
            }
            assertEquals(spans, again.subList(0, 2), "the same spans again, from the start");
            // Pages written before are rewritten through the JVM's mapping, fresh ones with file writes.
            assertTrue(ext.writtenThroughMapping(again.get(0)) && ext.writtenThroughMapping(again.get(1)));
            assertFalse(ext.writtenThroughMapping(again.get(2)) || ext.writtenThroughMapping(again.get(3)));
            assertEquals(ArrowExporter.END, next.next());
            assertTrue(ext.isKept() && ext.mappedInJvm(), "kept again, still mapped for its next reuse");

            ext.close();
            assertFalse(ext.holdsFile() || ext.mappedInJvm(), "closing a kept extension unmaps it and closes its file");
            assertEquals(1, mappingsOf(ext), "the JVM's mapping is gone at once (Unsafe.invokeCleaner), the client's stays");
            ArrowExporter third = copies(arena, first, a, 1);
            e = assertThrows(IllegalStateException.class, () -> third.continueIn(ext));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            // The client's mapping still holds the last data it was lent.
            assertArrayEquals(b, lentPayload(client, again.get(3)));
            next.close();
            third.close();
        }
    }

    /** An extension filled with two copies of {@code msg} and retired, its spans all returned by the client. */
    private ArrowArena filledAndReturned(VectorSchemaRoot data, byte[] msg) throws IOException {
        ArrowArena ext = arena.extend(2 * ArrowArena.MIN_SIZE);
        ByteBuffer client = clientMap(ext);
        ArrowExporter ex = copies(arena, data, msg, 2);
        ex.continueIn(ext);
        for (long off : drain(ex, client, msg)) {
            client.putInt((int) off, ArrowArena.RETURNED);
        }
        ex.close();
        return ext;
    }

    @Test
    void extensionsBeyondTheSpareBudgetAreClosedOldestFirstAndRefused() throws IOException {
        try (VectorSchemaRoot data = sample(2000, 0)) {
            byte[] msg = message(data);
            // Without keepSpares an extension's file closes when its exporter leaves: no reuse.
            ArrowArena unkept = filledAndReturned(data, msg);
            assertFalse(unkept.holdsFile() || unkept.isKept());
            ArrowExporter ex = copies(arena, data, msg, 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ex.continueIn(unkept));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());

            // Room for the bytes of two filled extensions, not three: the oldest goes.
            arena.keepSpares(5L * msg.length);
            ArrowArena oldest = filledAndReturned(data, msg);
            ArrowArena middle = filledAndReturned(data, msg);
            assertTrue(oldest.isKept() && middle.isKept());
            ArrowArena newest = filledAndReturned(data, msg);
            assertFalse(oldest.isKept() || oldest.holdsFile(), "the oldest kept extension is closed beyond the budget");
            assertTrue(middle.isKept() && newest.isKept());
            e = assertThrows(IllegalStateException.class, () -> ex.continueIn(oldest));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            ex.continueIn(middle);
            assertFalse(middle.isKept());

            // keepSpares(0) lets go of every kept one; closing the root too.
            arena.keepSpares(0);
            assertFalse(newest.isKept() || newest.holdsFile());
            arena.keepSpares(64L << 20);
            ArrowArena last = filledAndReturned(data, msg);
            assertTrue(last.isKept());
            assertThrows(IllegalArgumentException.class, () -> arena.keepSpares(-1));
            assertThrows(IllegalArgumentException.class, () -> last.keepSpares(1));
            arena.close();
            assertFalse(last.isKept() || last.holdsFile(), "closing the root closes the extensions it keeps");
            ex.close();
        }
    }
}
