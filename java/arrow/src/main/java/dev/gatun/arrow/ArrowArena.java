package dev.gatun.arrow;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
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
 *
 * <p>An arena made by {@link #create} is a session's <em>root</em>; {@link #extend} makes further
 * <em>extension</em> arenas of the same family, which only an {@link ArrowExporter} writes into
 * (after {@link ArrowExporter#continueIn}): they let a whole table larger than the root stay in
 * shared memory (spec/arrow.md §4.1). The JVM writes an extension's fresh pages with positional
 * writes to the file, which it keeps open until the exporter moves on, ends or is closed; then it
 * closes the file, unless the root keeps retired extensions for reuse ({@link #keepSpares}). An
 * exporter may then continue in such a retired extension again once the client returned every
 * span of it: the JVM maps it and rewrites its existing pages through that mapping.
 *
 * <p>This class holds the arena's lifetime, its span table and its locking; the parts it uses live
 * beside it: {@link ArenaFiles} (the files and the JVM's mappings), {@link FreeRanges} (the
 * allocator), {@link Span} (a span and its states) and {@link SpareList} (the retired extensions a
 * root keeps).
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
    static final int LENT = Span.LENT;
    /** The same word, written by the client when no view of the span is left on its side. */
    static final int RETURNED = Span.RETURNED;

    static final long MIN_SIZE = 1L << 20;
    /** The largest mapping a {@link MappedByteBuffer} can hold is just under 2 GiB. */
    static final long HARD_MAX_SIZE = 1L << 30;
    /** System property: the largest arena a client may ask for (default and ceiling 1 GiB). */
    public static final String MAX_SIZE_PROPERTY = "gatun.arrow.maxArenaBytes";

    /** A root's mapping; null for an extension. */
    private final MappedByteBuffer buffer;
    /** An extension's file, open while its exporter writes into it or it is kept; null for a root. */
    private final FileChannel channel;
    /**
     * A root's file, open until the root closes: the JVM writes a span over pages that no one wrote
     * yet through it, because a write into the mapping would fault where tmpfs has no page to give
     * (an InternalError, thrown wherever the JVM notices it), while a positional write fails
     * cleanly and the exporter falls back to the protocol. Null for an extension.
     */
    private final FileChannel rootFile;
    /** A recycled extension's mapping in the JVM, while its file is open; else null. */
    private MappedByteBuffer mapping;
    /**
     * The bytes the JVM wrote so far ({@code offset + 64 + length} of its furthest lent span): the
     * pages below exist, so a root or a recycled extension rewrites them through its mapping; a
     * mapping would fault where tmpfs has no page to give, a positional write fails cleanly.
     */
    private long touched;
    private final long address;
    private final long size;
    private final Path file;
    /** The arena {@link #create} made; this one itself for a root. */
    private final ArrowArena root;
    private final BufferAllocator allocator;
    private final FreeRanges free = new FreeRanges();
    private final Map<Long, Span> spans = new HashMap<>();
    private final List<Span> lent = new ArrayList<>();
    /** {@link #close()} was called: no more spans, never reused. */
    private boolean closed;
    /** Unties this arena from the session that made it, which would otherwise close it at its end. */
    private final Runnable untie;
    /** An extension's exporter left it: no more spans until an exporter recycles it. */
    private boolean retired;
    /** A retired extension the root keeps (its file open) for an exporter to recycle. */
    private boolean kept;
    private boolean clientMapped;
    /** The exporter writing into this extension (it called continueIn), or null. */
    private ArrowExporter owner;
    /** Root: the retired extensions it keeps open; null for an extension. */
    private final SpareList spares;

    private ArrowArena(MappedByteBuffer buffer, FileChannel channel, FileChannel rootFile, long size, Path file,
            ArrowArena root) throws IOException {
        this.buffer = buffer;
        this.channel = channel;
        this.rootFile = rootFile;
        this.size = size;
        this.file = file;
        this.root = root == null ? this : root;
        this.allocator = root == null ? new RootAllocator(Long.MAX_VALUE) : root.allocator;
        this.spares = root == null ? new SpareList() : null;
        ByteBuffer header = ByteBuffer.allocate(DATA_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(0, MAGIC);
        header.putInt(4, LAYOUT_VERSION);
        header.putLong(8, size);
        header.putInt(16, DATA_OFFSET);
        if (buffer != null) {
            buffer.order(ByteOrder.LITTLE_ENDIAN);
            this.address = MemoryUtil.getByteBufferAddress(buffer);
            buffer.put(0, header, 0, DATA_OFFSET);
        } else {
            this.address = 0;
            ArenaFiles.writeFully(channel, header, 0);
        }
        free.reset(DATA_OFFSET, size - DATA_OFFSET);
        VarHandle.fullFence();
        this.untie = tieToSession(this);
    }

    /**
     * A client that made an arena and went away (or never mapped it) would leave its file in
     * {@code /dev/shm}: the session that made it closes it when it ends, and so when the server stops.
     */
    private static Runnable tieToSession(ArrowArena arena) {
        try {
            return dev.gatun.server.GatunServer.closeWithSession(arena);
        } catch (LinkageError e) { // a JVM without the Gatun server: nothing to tie to
            return () -> { };
        }
    }

    /**
     * Creates an arena of {@code size} bytes in a fresh private directory (0700, file 0600), on
     * {@code /dev/shm} when it exists. The client maps {@link #path()} and then calls
     * {@link #mapped()}, which deletes the file.
     */
    public static ArrowArena create(long size) throws IOException {
        return make(size, null);
    }

    /** The largest arena (root or extension) this server creates, in bytes. */
    public static long maxSize() {
        return Math.min(HARD_MAX_SIZE, Long.getLong(MAX_SIZE_PROPERTY, HARD_MAX_SIZE));
    }

    /**
     * Creates an extension arena of {@code size} bytes in this arena's family, mapped by the client
     * like a root ({@link #path()}, then {@link #mapped()}) and then handed to
     * {@link ArrowExporter#continueIn}. Throws {@link IllegalStateException} when the file system
     * of the arena files has less free space than {@code size} or refuses the file, so that the client takes its
     * fallback before a transfer rather than a write failing in the middle of one.
     */
    public ArrowArena extend(long size) throws IOException {
        synchronized (root) {
            root.checkOpen();
        }
        ArrowArena ext;
        try {
            ext = make(size, root);
        } catch (IOException e) {
            // Making the sparse file writes its last byte: on a full tmpfs, the first thing to fail.
            throw new IllegalStateException("no room for another Arrow arena of " + size + " bytes: " + e.getMessage(), e);
        }
        long usable = Files.getFileStore(ext.file).getUsableSpace();
        if (usable < size) {
            ext.close();
            throw new IllegalStateException("no room for another Arrow arena of " + size + " bytes: "
                    + usable + " bytes free in " + ext.file.getParent().getParent());
        }
        return ext;
    }

    private static ArrowArena make(long size, ArrowArena root) throws IOException {
        long max = maxSize();
        if (size < MIN_SIZE || size > max) {
            throw new IllegalArgumentException("Arrow arena size " + size + " is outside the allowed range "
                    + MIN_SIZE + ".." + max + " bytes (-D" + MAX_SIZE_PROPERTY + " sets the maximum)");
        }
        ArenaFiles.Opened f = ArenaFiles.create(size, root != null);
        try {
            if (root != null) {
                return new ArrowArena(null, f.channel(), null, size, f.file(), root);
            }
            FileChannel fc = f.channel();
            return new ArrowArena(fc.map(FileChannel.MapMode.READ_WRITE, 0, size), null, fc, size, f.file(), null);
        } catch (IOException | RuntimeException e) {
            f.channel().close();
            ArenaFiles.delete(f.file());
            throw e;
        }
    }

    /** The file the client maps; gone after {@link #mapped()}. */
    public String path() {
        return file.toString();
    }

    /** The client has mapped the file: delete it (and its directory) so nothing else can open it. */
    public void mapped() throws IOException {
        synchronized (this) {
            clientMapped = !closed;
        }
        deleteFile();
    }

    private void deleteFile() throws IOException {
        ArenaFiles.delete(file);
    }

    /** The arena's size in bytes. */
    public long size() {
        return size;
    }

    /**
     * True if {@code [address, address + length)} lies inside this arena's mapping in the JVM
     * (always false for an extension: readers never load vectors from one).
     */
    public boolean contains(long address, long length) {
        return buffer != null && length >= 0 && address >= this.address && address - this.address <= size - length;
    }

    /**
     * Reserves a span with room for {@code payloadBytes} for the client to write into (Python to
     * JVM). Returns the span's offset, or -1 when the arena has no such room now.
     */
    public synchronized long allocate(long payloadBytes) {
        checkOpen();
        checkRoot("allocate");
        Span s = take(payloadBytes, Span.Kind.WRITABLE);
        return s == null ? -1 : s.offset;
    }

    /** Gives back a span from {@link #allocate} that the client will not hand over after all. */
    public synchronized void abandon(long offset) {
        Span s = spans.get(offset);
        if (s != null && s.kind == Span.Kind.WRITABLE) {
            release(s);
        }
    }

    /**
     * Keeps the files of retired extensions of this root's family open, as long as the bytes
     * written into them total at most {@code bytes} (the oldest are closed beyond that), so that an
     * exporter can continue in one again once the client returned all its spans (spec/arrow.md
     * §4.1): rewriting existing pages costs a fraction of allocating fresh ones. 0, the default,
     * closes an extension's file as soon as its exporter leaves it.
     */
    public void keepSpares(long bytes) throws IOException {
        checkRoot("keepSpares");
        if (bytes < 0) {
            throw new IllegalArgumentException("keepSpares needs a byte count >= 0, got " + bytes);
        }
        synchronized (this) {
            checkOpen();
            spares.budget(bytes);
            trimSpares();
        }
    }

    /**
     * Stops giving out spans and deletes the file if it is still there. Memory still viewed on
     * either side stays mapped until the last view is gone; the JVM closes an extension's file
     * (and unmaps a recycled one) once no span is being written (its spans are only lent to the
     * client, which maps them). Closing a root closes the extensions it keeps for reuse.
     */
    @Override
    public void close() throws IOException {
        untie.run();
        synchronized (root) {
            if (root == this) {
                closed = true;
                spares.budget(0);
                trimSpares();
                rootFile.close();
            } else {
                synchronized (this) {
                    closed = true;
                    retired = true;
                    unkeep();
                    closeFileIfIdle();
                }
            }
        }
        deleteFile();
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

    /** Refuses an extension where only a root will do (readers, client allocations, open). */
    void checkRoot(String what) {
        if (root != this) {
            throw new IllegalArgumentException(what + " needs the session's arena, not an extension"
                    + " (an extension only takes the batches of the exporter that continued into it)");
        }
    }

    boolean isRoot() {
        return root == this;
    }

    boolean sameFamily(ArrowArena other) {
        return other.root == root;
    }

    /*
     * Locking: an extension's retirement, reuse and closing change the root's list of kept
     * extensions too, so they hold the root's monitor, then the extension's; span operations hold
     * only the arena's own monitor. Nothing takes the root's monitor while holding an extension's.
     */

    /**
     * Makes {@code exporter} the only writer of this extension; the client must have mapped it.
     * A retired extension the root keeps is recycled for it ({@link #recycle}). A root may be
     * continued into by any exporter of its family.
     */
    void claim(ArrowExporter exporter) {
        synchronized (root) {
            synchronized (this) {
                checkOpen();
                if (root == this) {
                    return;
                }
                if (!clientMapped) {
                    throw new IllegalArgumentException("the client has not mapped this Arrow arena yet (mapped() was not called)");
                }
                if (retired) {
                    recycle(exporter);
                    return;
                }
                if (owner != null && owner != exporter) {
                    throw new IllegalArgumentException("this Arrow arena extension is already written by another exporter");
                }
                owner = exporter;
            }
        }
    }

    /**
     * Hands a retired, kept extension to a new exporter, empty: only once every span it lent says
     * {@code RETURNED}, i.e. no view of the client's reads it any more, so rewriting it changes no
     * data anyone sees. Maps it, to rewrite its existing pages through the mapping.
     */
    private void recycle(ArrowExporter exporter) {
        if (!kept) {
            throw new IllegalStateException("this Arrow arena extension was retired and its file closed (the session"
                    + " keeps no more retired extensions than keepSpares allows): make a new one with extend()");
        }
        if (mapping == null) {
            try {
                mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
            } catch (IOException e) {
                throw new IllegalStateException("cannot map this Arrow arena extension for reuse: " + e.getMessage(), e);
            }
            mapping.order(ByteOrder.LITTLE_ENDIAN);
            // Fills the new mapping's page table for the pages that exist: a read maps up to 16 of
            // them per fault (the kernel's fault-around), where a first write faults on each one
            // (measured: halves the first reuse of 1 GiB). Nothing beyond them, which a read of
            // tmpfs through a shared mapping would allocate.
            mapping.slice(0, (int) writtenPagesEnd()).load();
        }
        for (Span s : spans.values()) {
            if (s.kind != Span.Kind.LENT || !s.returned(mapping)) {
                throw new IllegalStateException("this Arrow arena extension cannot be reused yet: the span at "
                        + s.offset + " is still in use (the client has not returned it)");
            }
        }
        spans.clear();
        free.reset(DATA_OFFSET, size - DATA_OFFSET);
        unkeep();
        retired = false;
        owner = exporter;
    }

    /**
     * {@code by}, this extension's exporter, is done with it: no more spans. The root keeps it for
     * reuse if its budget allows; otherwise the JVM closes its file as soon as no span is being
     * written (lent spans are the client's, in its own mapping).
     */
    void retire(ArrowExporter by) throws IOException {
        synchronized (root) {
            synchronized (this) {
                // An exporter that ended here long ago must not retire it under its next writer.
                if (root == this || owner != by || retired) {
                    return;
                }
                retired = true;
                // Not with a span still being written (a racing misuse): its bytes are not counted yet.
                if (!closed && !root.closed && root.spares.admits(touched) && channel.isOpen() && noSpanInFlight()) {
                    kept = true;
                    root.spares.add(this, touched);
                }
                closeFileIfIdle();
            }
            root.trimSpares();
        }
    }

    /** Root, holding its monitor: closes the oldest kept extensions beyond the spare budget. */
    private void trimSpares() throws IOException {
        for (ArrowArena oldest; (oldest = spares.overBudget()) != null; ) {
            synchronized (oldest) {
                oldest.unkeep();
                oldest.closeFileIfIdle();
            }
        }
    }

    /** Holding the root's monitor and this one's: takes this extension off the root's kept list. */
    private void unkeep() {
        if (kept) {
            kept = false;
            root.spares.remove(this, touched);
        }
    }

    /** Whether every span is lent (the others are being written, through the file or the mapping). */
    private boolean noSpanInFlight() {
        for (Span s : spans.values()) {
            if (s.kind != Span.Kind.LENT) {
                return false;
            }
        }
        return true;
    }

    private void closeFileIfIdle() throws IOException {
        if (channel == null || !retired || kept || !channel.isOpen() || !noSpanInFlight()) {
            return;
        }
        if (mapping != null) {
            ArenaFiles.unmap(mapping);
            mapping = null;
        }
        channel.close();
    }

    /**
     * The end of the pages holding the bytes written so far: they exist (tmpfs keeps a page once
     * written, until the file goes), whatever the page size (4 KiB or more).
     */
    private long writtenPagesEnd() {
        return Math.min(size, (touched + 4095) & ~4095L);
    }

    /** Whether the JVM holds the extension's file open (for tests: a retired one must not, unless kept). */
    synchronized boolean holdsFile() {
        return channel != null && channel.isOpen();
    }

    /** Whether the JVM maps this extension (for tests: only while a recycled one's file is open). */
    synchronized boolean mappedInJvm() {
        return mapping != null;
    }

    /** Whether the lent span at {@code offset} was written through the JVM's mapping (for tests). */
    synchronized boolean writtenThroughMapping(long offset) {
        Span s = spans.get(offset);
        return s != null && s.throughMapping;
    }

    /** Whether the root keeps this retired extension for reuse (for tests). */
    synchronized boolean isKept() {
        return kept;
    }

    /** Where the exporter writes a span's payload of at most {@code max} bytes. */
    synchronized WritableByteChannel spanWriter(long offset, long max) {
        ByteBuffer view = mappedView(spans.get(offset));
        if (view != null) {
            return new ArenaFiles.BufferChannel(view.slice((int) offset + SPAN_HEADER, (int) max));
        }
        return new ArenaFiles.FileSpanChannel(file(), offset + SPAN_HEADER, max);
    }

    /**
     * The JVM's mapping a span is written through: the root's, or a recycled extension's for a span
     * over pages that exist; null where the span is written through the file.
     */
    private ByteBuffer mappedView(Span s) {
        if (buffer != null) {
            return s == null || s.kind != Span.Kind.EXPORTING || s.throughMapping ? buffer : null;
        }
        return s != null && s.throughMapping ? mapping : null;
    }

    /** The file positional writes go to: a root's, or an extension's. */
    private FileChannel file() {
        return buffer != null ? rootFile : channel;
    }

    /**
     * The span a client says it wrote (Python to JVM): must be one it got from {@link #allocate}
     * and not yet handed over; its payload length (span header, +8) must fit the span.
     * Returns {offset of payload, payload length}; the span now belongs to the JVM reader.
     */
    synchronized long[] takeWritten(long offset) {
        Span s = spans.get(offset);
        if (s == null || s.kind != Span.Kind.WRITABLE) {
            throw new IllegalArgumentException("offset " + offset + " is not a span this arena gave out for writing");
        }
        long length = buffer.getLong((int) offset + 8);
        if (length < 0 || length > s.size - SPAN_HEADER) {
            release(s);
            throw new IllegalArgumentException("span at " + offset + " claims " + length
                    + " payload bytes but holds " + (s.size - SPAN_HEADER));
        }
        s.kind = Span.Kind.READING;
        // A span reserved before its size was known gives back what the payload does not use.
        long used = align64(SPAN_HEADER + length);
        if (used < s.size) {
            Span tail = new Span(offset + used, s.size - used, Span.Kind.WRITABLE);
            s.size = used;
            spans.put(tail.offset, tail);
            release(tail);
        }
        return new long[] {offset + SPAN_HEADER, length};
    }

    /** A span for the JVM to write an IPC message into (JVM to Python), or null if none fits now. */
    synchronized long exportSpan(long payloadBytes) {
        checkOpen();
        if (retired) {
            throw new IllegalStateException("this Arrow arena extension is retired: its exporter left it");
        }
        Span s = take(payloadBytes, Span.Kind.EXPORTING);
        if (s == null) {
            return -1;
        }
        // A root or a recycled extension: memcpy into pages that exist (several times faster than
        // making new ones); fresh pages beyond take positional writes, which fail cleanly on a
        // full tmpfs.
        s.throughMapping = (buffer != null || mapping != null) && s.offset + SPAN_HEADER + payloadBytes <= writtenPagesEnd();
        return s.offset;
    }

    /** Writes an exported span's length and marks it lent to the client, after its payload is written. */
    synchronized void lend(long offset, long length) throws IOException {
        Span s = spans.get(offset);
        ByteBuffer view = mappedView(s);
        if (view != null) {
            s.lendIn(view, length);
        } else {
            ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(0, LENT);
            header.putLong(8, length);
            ArenaFiles.writeFully(file(), header, offset);
        }
        s.kind = Span.Kind.LENT;
        touched = Math.max(touched, offset + SPAN_HEADER + length);
        if (buffer != null) {
            lent.add(s);
            return;
        }
        // Not in the lent list: an extension's spans are not reclaimed one by one, only all
        // together when it is recycled.
        closeFileIfIdle();
    }

    /** Frees a span the JVM holds (a reader moved past it, or an export was not handed out). */
    synchronized void free(long offset) {
        Span s = spans.get(offset);
        if (s != null && s.kind != Span.Kind.LENT) {
            release(s);
        }
        try {
            closeFileIfIdle();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Span take(long payloadBytes, Span.Kind kind) {
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

    private Span firstFit(long need, Span.Kind kind) {
        long off = free.take(need);
        if (off < 0) {
            return null;
        }
        Span s = new Span(off, need, kind);
        spans.put(off, s);
        if (buffer != null) {
            buffer.putInt((int) off, 0);
            buffer.putLong((int) off + 8, 0);
        }
        return s;
    }

    /** Frees every lent span whose header the client set to RETURNED; true if any was. */
    private boolean reclaimReturned() {
        boolean any = false;
        for (Iterator<Span> it = lent.iterator(); it.hasNext(); ) {
            Span s = it.next();
            if (s.returned(buffer)) {
                it.remove();
                release(s);
                any = true;
            }
        }
        return any;
    }

    private void release(Span s) {
        spans.remove(s.offset);
        free.give(s.offset, s.size);
    }

    /** Bytes not held by any span (for tests and diagnostics); reclaims returned spans first. */
    public synchronized long freeBytes() {
        reclaimReturned();
        return free.total();
    }

    private static long align64(long n) {
        return (n + 63) & ~63L;
    }
}
