package dev.gatun.server;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Flyweight over the mapped shared-memory file of one channel (protocol §2).
 *
 * <p>The header is written once by the server before the client maps the file. The sequence and
 * parked words are the only memory both processes write concurrently; they are accessed through
 * VarHandles so that each access has exactly the ordering the protocol asks for.
 */
final class ShmRegion {
    static final int MAGIC = 0x4D485347; // "GSHM" read as a little-endian u32
    static final int LAYOUT_VERSION = 1;
    static final int DATA_OFFSET = 512;
    static final int CLIENT_SEQ = 64;
    static final int SERVER_SEQ = 128;
    static final int CLIENT_PARKED = 192;
    static final int SERVER_PARKED = 256;
    static final long MIN_SIZE = 64 * 1024;
    static final long MAX_SIZE = 1024L * 1024 * 1024;

    private static final VarHandle LONGS =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final MappedByteBuffer buffer;
    private final ByteBuffer data;

    private ShmRegion(MappedByteBuffer buffer) {
        this.buffer = buffer;
        buffer.order(ByteOrder.LITTLE_ENDIAN);
        this.data = buffer.slice(DATA_OFFSET, buffer.capacity() - DATA_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Creates the file (mode 0600, must not exist), sizes it, maps it and writes the header. */
    static ShmRegion create(Path file, long size) throws IOException {
        checkSize(size);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            fc.truncate(size);
            allocate(fc, size);
            ShmRegion region = new ShmRegion(fc.map(FileChannel.MapMode.READ_WRITE, 0, size));
            region.writeHeader(size);
            return region;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /**
     * Gives every page of the file its memory now, by writing a zero byte into each 4 KiB page
     * through the file (not the mapping; the kernel zero-fills the rest of the page): on a full
     * {@code /dev/shm} this fails here with an IOException ("No space left on device"), which
     * refuses the channel, instead of a SIGBUS in whichever process first touches an unbacked page
     * of the mapping (issue 13: the Python client died of it).
     */
    private static void allocate(FileChannel fc, long size) throws IOException {
        ByteBuffer zero = ByteBuffer.allocateDirect(1);
        for (long pos = 0; pos < size; pos += 4096) {
            zero.clear();
            while (zero.hasRemaining()) {
                fc.write(zero, pos);
            }
        }
    }

    /** Maps an existing region and checks its header (the client's side of the hand-shake). */
    static ShmRegion open(Path file) throws IOException {
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ShmRegion region = new ShmRegion(fc.map(FileChannel.MapMode.READ_WRITE, 0, fc.size()));
            region.checkHeader(fc.size());
            return region;
        }
    }

    static void checkSize(long size) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("region size " + size + " is outside the allowed range "
                    + MIN_SIZE + ".." + MAX_SIZE + " bytes");
        }
    }

    private void writeHeader(long size) {
        buffer.putInt(0, MAGIC);
        buffer.putInt(4, LAYOUT_VERSION);
        buffer.putLong(8, size);
        buffer.putInt(16, DATA_OFFSET);
        buffer.putInt(20, (int) (size - DATA_OFFSET));
        VarHandle.fullFence();
    }

    private void checkHeader(long fileSize) throws IOException {
        if (buffer.getInt(0) != MAGIC || buffer.getInt(4) != LAYOUT_VERSION || buffer.getLong(8) != fileSize
                || buffer.getInt(16) != DATA_OFFSET || buffer.getInt(20) != fileSize - DATA_OFFSET) {
            throw new IOException("shared-memory region has a bad header");
        }
    }

    /** The data area: one frame at offset 0. Shared by reader and writer of the channel. */
    ByteBuffer data() {
        return data;
    }

    int dataCapacity() {
        return data.capacity();
    }

    long size() {
        return buffer.capacity();
    }

    long getSeqAcquire(int offset) {
        return (long) LONGS.getAcquire(buffer, offset);
    }

    void setSeqRelease(int offset, long value) {
        LONGS.setRelease(buffer, offset, value);
    }

    int getParkedVolatile(int offset) {
        return (int) INTS.getVolatile(buffer, offset);
    }

    void setParkedVolatile(int offset, int value) {
        INTS.setVolatile(buffer, offset, value);
    }

    boolean casParked(int offset, int expected, int value) {
        return INTS.compareAndSet(buffer, offset, expected, value);
    }
}
