package dev.gatun.arrow;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The files behind arenas and their mappings in the JVM: where they are made, how they are unlinked
 * and unmapped, and how span bytes reach an extension's file without a mapping.
 */
final class ArenaFiles {
    /** {@code sun.misc.Unsafe.invokeCleaner}, bound, or null where the JDK does not offer it. */
    private static final MethodHandle INVOKE_CLEANER = findInvokeCleaner();

    private ArenaFiles() {
    }

    /**
     * A new, empty, private file ({@code rw-------}) of {@code size} bytes in a new private directory
     * ({@code rwx------}), on {@code /dev/shm} where there is one, opened for reading and writing.
     * {@code sparse}: given its size by one zero byte at its end (no memory until written), because
     * truncate() never grows a file; else by truncate(), ready for mapping.
     */
    static Opened create(long size, boolean sparse) throws IOException {
        Path shm = Paths.get("/dev/shm");
        Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Paths.get(System.getProperty("java.io.tmpdir"));
        // The PID in the name lets a later server remove what a killed one left (ServerFiles.sweepDeadDirs in gatun-core).
        Path dir = Files.createTempDirectory(parent, "gatun-arrow-" + ProcessHandle.current().pid() + "-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve("arena");
        FileChannel fc = null;
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (sparse) {
                writeFully(fc, ByteBuffer.allocate(1), size - 1);
            } else {
                fc.truncate(size);
            }
            return new Opened(file, fc);
        } catch (IOException | RuntimeException e) {
            if (fc != null) {
                fc.close();
            }
            delete(file);
            throw e;
        }
    }

    /** An arena's new file, open. */
    record Opened(Path file, FileChannel channel) {
    }

    /** Deletes an arena's file and its private directory, if they are still there. */
    static void delete(Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(file.getParent());
    }

    private static MethodHandle findInvokeCleaner() {
        try {
            Class<?> unsafe = Class.forName("sun.misc.Unsafe");
            Field instance = unsafe.getDeclaredField("theUnsafe");
            instance.setAccessible(true);
            return MethodHandles.lookup()
                    .findVirtual(unsafe, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                    .bindTo(instance.get(null));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Unmaps a mapping nothing uses any more, now, so that the JVM does not pin the shared memory
     * until a garbage collection that may not come for long. Java 17 has no public way; where
     * {@code sun.misc.Unsafe.invokeCleaner} is missing or refused, the collector unmaps it.
     */
    static void unmap(MappedByteBuffer m) {
        if (INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invokeExact((ByteBuffer) m);
        } catch (Throwable e) {
            // Refused (e.g. --sun-misc-unsafe-memory-access=deny): left to the collector.
        }
    }

    static void writeFully(FileChannel channel, ByteBuffer src, long position) throws IOException {
        while (src.hasRemaining()) {
            position += channel.write(src, position);
        }
    }

    /** A channel that fills a fixed ByteBuffer (a span of a mapped arena) and refuses to overflow it. */
    static final class BufferChannel implements WritableByteChannel {
        private final ByteBuffer dst;

        BufferChannel(ByteBuffer dst) {
            this.dst = dst;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            if (n > dst.remaining()) {
                throw new IOException("Arrow IPC message larger than its computed size");
            }
            dst.put(src);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    /**
     * Positional writes into a span of an extension's file, refusing to overflow the span. Writing
     * to fresh tmpfs pages this way costs about half of what first-touch page faults through a
     * mapping cost (measured: 1.5-1.7 against 0.7-0.8 GB/s for 1 GiB on the 2-core test VM).
     */
    static final class FileSpanChannel implements WritableByteChannel {
        /**
         * The JDK writes a heap buffer through a temporary direct buffer of the same size that it
         * caches per thread; slices of this size keep that buffer small.
         */
        private static final int HEAP_CHUNK = 1 << 20;
        private final FileChannel file;
        private long position;
        private final long end;

        FileSpanChannel(FileChannel file, long position, long max) {
            this.file = file;
            this.position = position;
            this.end = position + max;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            if (n > end - position) {
                throw new IOException("Arrow IPC message larger than its computed size");
            }
            while (src.hasRemaining()) {
                int take = src.isDirect() ? src.remaining() : Math.min(src.remaining(), HEAP_CHUNK);
                ByteBuffer part = src.slice(src.position(), take);
                writeFully(file, part, position);
                position += take;
                src.position(src.position() + take);
            }
            return n;
        }

        @Override
        public boolean isOpen() {
            return file.isOpen();
        }

        @Override
        public void close() {
        }
    }
}
