package dev.gatun.arrow;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.memory.util.MemoryUtil;

/**
 * A session's Arrow arena (spec/arrow.md §2): one shared-memory file, mapped by the JVM and the
 * client, in which Arrow IPC messages are written once and read in place by the other side.
 *
 * <p>The allocator lives here, in the JVM, and only here: the client never allocates, it asks
 * ({@link #allocate}) and hands spans back by writing one word of the span header. Every offset
 * that comes from the client is looked up in the span table before it is used, so a client cannot
 * make the JVM read or write outside the spans it was given.
 */
public final class ArrowArena implements AutoCloseable {
    /** "GARN" read as a little-endian u32. */
    static final int MAGIC = 0x4E524147;
    static final int LAYOUT_VERSION = 1;
    /** Arena header size; the first span starts here. */
    static final int DATA_OFFSET = 256;
    /** Span header size; a span's payload starts this far after its offset. */
    static final int SPAN_HEADER = 64;
    /** Span header word written by the JVM when it lends a span to the client. */
    static final int LENT = 1;
    /** The same word, written by the client when no view of the span is left on its side. */
    static final int RETURNED = 2;

    static final long MIN_SIZE = 1L << 20;
    /** The largest mapping a {@link MappedByteBuffer} can hold is just under 2 GiB. */
    static final long HARD_MAX_SIZE = 1L << 30;
    /** System property: the largest arena a client may ask for (default and ceiling 1 GiB). */
    public static final String MAX_SIZE_PROPERTY = "gatun.arrow.maxArenaBytes";

    private static final VarHandle INTS =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private enum Kind { WRITABLE, READING, EXPORTING, LENT }

    private static final class Span {
        final long offset;
        long size;
        Kind kind;

        Span(long offset, long size, Kind kind) {
            this.offset = offset;
            this.size = size;
            this.kind = kind;
        }
    }

    private final MappedByteBuffer buffer;
    private final long address;
    private final long size;
    private final Path file;
    private final BufferAllocator allocator = new RootAllocator(Long.MAX_VALUE);
    /** Free ranges, offset to length, never adjacent (coalesced on free). */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private final Map<Long, Span> spans = new HashMap<>();
    private final List<Span> lent = new ArrayList<>();
    private boolean closed;

    private ArrowArena(MappedByteBuffer buffer, long size, Path file) {
        this.buffer = buffer;
        this.size = size;
        this.file = file;
        buffer.order(ByteOrder.LITTLE_ENDIAN);
        this.address = MemoryUtil.getByteBufferAddress(buffer);
        buffer.putInt(0, MAGIC);
        buffer.putInt(4, LAYOUT_VERSION);
        buffer.putLong(8, size);
        buffer.putInt(16, DATA_OFFSET);
        free.put((long) DATA_OFFSET, size - DATA_OFFSET);
        VarHandle.fullFence();
    }

    /**
     * Creates an arena of {@code size} bytes in a fresh private directory (0700, file 0600), on
     * {@code /dev/shm} when it exists. The client maps {@link #path()} and then calls
     * {@link #mapped()}, which deletes the file.
     */
    public static ArrowArena create(long size) throws IOException {
        long max = Math.min(HARD_MAX_SIZE, Long.getLong(MAX_SIZE_PROPERTY, HARD_MAX_SIZE));
        if (size < MIN_SIZE || size > max) {
            throw new IllegalArgumentException("Arrow arena size " + size + " is outside the allowed range "
                    + MIN_SIZE + ".." + max + " bytes (-D" + MAX_SIZE_PROPERTY + " sets the maximum)");
        }
        Path shm = Paths.get("/dev/shm");
        Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Paths.get(System.getProperty("java.io.tmpdir"));
        Path dir = Files.createTempDirectory(parent, "gatun-arrow-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve("arena");
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                fc.truncate(size);
                return new ArrowArena(fc.map(FileChannel.MapMode.READ_WRITE, 0, size), size, file);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
            throw e;
        }
    }

    /** The file the client maps; gone after {@link #mapped()}. */
    public String path() {
        return file.toString();
    }

    /** The client has mapped the file: delete it (and its directory) so nothing else can open it. */
    public void mapped() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(file.getParent());
    }

    /** The arena's size in bytes. */
    public long size() {
        return size;
    }

    /** True if {@code [address, address + length)} lies inside this arena's mapping. */
    public boolean contains(long address, long length) {
        return length >= 0 && address >= this.address && address - this.address <= size - length;
    }

    /**
     * Reserves a span with room for {@code payloadBytes} for the client to write into (Python to
     * JVM). Returns the span's offset, or -1 when the arena has no such room now.
     */
    public synchronized long allocate(long payloadBytes) {
        checkOpen();
        Span s = take(payloadBytes, Kind.WRITABLE);
        return s == null ? -1 : s.offset;
    }

    /** Gives back a span from {@link #allocate} that the client will not hand over after all. */
    public synchronized void abandon(long offset) {
        Span s = spans.get(offset);
        if (s != null && s.kind == Kind.WRITABLE) {
            release(s);
        }
    }

    /**
     * Stops giving out spans and deletes the file if it is still there. Memory still viewed on
     * either side stays mapped until the last view is gone.
     */
    @Override
    public synchronized void close() throws IOException {
        closed = true;
        mapped();
    }

    // --- for the readers and exporters of this package ---------------------------------------

    BufferAllocator allocator() {
        return allocator;
    }

    long address() {
        return address;
    }

    ByteBuffer buffer() {
        return buffer;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this Arrow arena is closed");
        }
    }

    /**
     * The span a client says it wrote (Python to JVM): must be one it got from {@link #allocate}
     * and not yet handed over; its payload length (span header, +8) must fit the span.
     * Returns {offset of payload, payload length}; the span now belongs to the JVM reader.
     */
    synchronized long[] takeWritten(long offset) {
        Span s = spans.get(offset);
        if (s == null || s.kind != Kind.WRITABLE) {
            throw new IllegalArgumentException("offset " + offset + " is not a span this arena gave out for writing");
        }
        long length = buffer.getLong((int) offset + 8);
        if (length < 0 || length > s.size - SPAN_HEADER) {
            release(s);
            throw new IllegalArgumentException("span at " + offset + " claims " + length
                    + " payload bytes but holds " + (s.size - SPAN_HEADER));
        }
        s.kind = Kind.READING;
        // A span reserved before its size was known gives back what the payload does not use.
        long used = align64(SPAN_HEADER + length);
        if (used < s.size) {
            Span tail = new Span(offset + used, s.size - used, Kind.WRITABLE);
            s.size = used;
            spans.put(tail.offset, tail);
            release(tail);
        }
        return new long[] {offset + SPAN_HEADER, length};
    }

    /** A span for the JVM to write an IPC message into (JVM to Python), or null if none fits now. */
    synchronized long exportSpan(long payloadBytes) {
        checkOpen();
        Span s = take(payloadBytes, Kind.EXPORTING);
        return s == null ? -1 : s.offset;
    }

    /** Marks an exported span as lent to the client, after its payload and length are written. */
    synchronized void lend(long offset, long length) {
        Span s = spans.get(offset);
        buffer.putLong((int) offset + 8, length);
        s.kind = Kind.LENT;
        lent.add(s);
        INTS.setRelease(buffer, (int) offset, LENT);
    }

    /** Frees a span the JVM holds (a reader moved past it, or an export was not handed out). */
    synchronized void free(long offset) {
        Span s = spans.get(offset);
        if (s != null && s.kind != Kind.LENT) {
            release(s);
        }
    }

    private Span take(long payloadBytes, Kind kind) {
        if (payloadBytes < 0 || payloadBytes > size) {
            return null;
        }
        long need = align64(payloadBytes + SPAN_HEADER);
        Span s = firstFit(need, kind);
        if (s == null && reclaimReturned()) {
            s = firstFit(need, kind);
        }
        return s;
    }

    private Span firstFit(long need, Kind kind) {
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long off = e.getKey();
            long len = e.getValue();
            if (len >= need) {
                // Read before removing: TreeMap may reuse the removed entry's node for its successor.
                free.remove(off);
                if (len > need) {
                    free.put(off + need, len - need);
                }
                Span s = new Span(off, need, kind);
                spans.put(off, s);
                buffer.putInt((int) off, 0);
                buffer.putLong((int) off + 8, 0);
                return s;
            }
        }
        return null;
    }

    /** Frees every lent span whose header the client set to RETURNED; true if any was. */
    private boolean reclaimReturned() {
        boolean any = false;
        for (Iterator<Span> it = lent.iterator(); it.hasNext(); ) {
            Span s = it.next();
            // Acquire: the client's reads of the span happen before its RETURNED store, and our
            // next writes into the span come after this load.
            if ((int) INTS.getAcquire(buffer, (int) s.offset) == RETURNED) {
                it.remove();
                release(s);
                any = true;
            }
        }
        return any;
    }

    private void release(Span s) {
        spans.remove(s.offset);
        long off = s.offset;
        long len = s.size;
        Map.Entry<Long, Long> before = free.floorEntry(off);
        if (before != null && before.getKey() + before.getValue() == off) {
            free.remove(before.getKey());
            off = before.getKey();
            len += before.getValue();
        }
        Long after = free.get(off + len);
        if (after != null) {
            free.remove(off + len);
            len += after;
        }
        free.put(off, len);
    }

    /** Bytes not held by any span (for tests and diagnostics); reclaims returned spans first. */
    public synchronized long freeBytes() {
        reclaimReturned();
        long n = 0;
        for (long v : free.values()) {
            n += v;
        }
        return n;
    }

    private static long align64(long n) {
        return (n + 63) & ~63L;
    }
}
