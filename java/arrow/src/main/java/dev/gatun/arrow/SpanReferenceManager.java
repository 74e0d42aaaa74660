package dev.gatun.arrow;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OwnershipTransferResult;
import org.apache.arrow.memory.ReferenceManager;

/**
 * Reference counting for the ArrowBufs that view one arena span in place. Arrow's vectors retain
 * the buffers they load and release them when cleared or closed; when the count reaches zero the
 * span goes back to the arena. Nothing here owns memory of an allocator: the arena's mapping
 * outlives every buffer.
 *
 * <p>Code that drops a reader without closing it never releases its buffers. Every buffer over
 * the span refers to this object, so once it is unreachable no buffer can view the span either,
 * and a Cleaner gives the span back then.
 */
final class SpanReferenceManager implements ReferenceManager {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Frees the span once, whether the count reached zero or the manager was collected. */
    private static final class Freer implements Runnable {
        private final ArrowArena arena;
        private final long spanOffset;

        Freer(ArrowArena arena, long spanOffset) {
            this.arena = arena;
            this.spanOffset = spanOffset;
        }

        @Override
        public void run() {
            arena.free(spanOffset);
        }
    }

    private final ArrowArena arena;
    private final long spanOffset;
    private final long length;
    private final AtomicInteger count = new AtomicInteger(1);
    private final Cleaner.Cleanable freer;

    SpanReferenceManager(ArrowArena arena, long spanOffset, long length) {
        this.arena = arena;
        this.spanOffset = spanOffset;
        this.length = length;
        this.freer = CLEANER.register(this, new Freer(arena, spanOffset));
    }

    /** The first buffer over the span's payload; it holds the initial reference. */
    ArrowBuf payload(long payloadAddress) {
        return new ArrowBuf(this, null, length, payloadAddress);
    }

    @Override
    public int getRefCount() {
        return count.get();
    }

    @Override
    public boolean release() {
        return release(1);
    }

    @Override
    public boolean release(int decrement) {
        if (decrement < 1) {
            throw new IllegalArgumentException("release by " + decrement);
        }
        int left = count.addAndGet(-decrement);
        if (left < 0) {
            count.addAndGet(decrement);
            throw new IllegalStateException("arena span at " + spanOffset + " released more often than retained");
        }
        if (left == 0) {
            freer.clean();
            return true;
        }
        return false;
    }

    @Override
    public void retain() {
        retain(1);
    }

    @Override
    public void retain(int increment) {
        if (increment < 1) {
            throw new IllegalArgumentException("retain by " + increment);
        }
        // A buffer whose span went back to the arena must not come back to life.
        int prev;
        do {
            prev = count.get();
            if (prev == 0) {
                throw new IllegalStateException("arena span at " + spanOffset + " was already released");
            }
        } while (!count.compareAndSet(prev, prev + increment));
    }

    @Override
    public ArrowBuf retain(ArrowBuf srcBuffer, BufferAllocator targetAllocator) {
        retain();
        return deriveBuffer(srcBuffer, 0, srcBuffer.capacity());
    }

    @Override
    public ArrowBuf deriveBuffer(ArrowBuf sourceBuffer, long index, long length) {
        if (index < 0 || length < 0 || index > sourceBuffer.capacity() - length) {
            throw new IndexOutOfBoundsException("slice " + index + "+" + length + " of a buffer of "
                    + sourceBuffer.capacity() + " bytes");
        }
        return new ArrowBuf(this, null, length, sourceBuffer.memoryAddress() + index);
    }

    @Override
    public OwnershipTransferResult transferOwnership(ArrowBuf sourceBuffer, BufferAllocator targetAllocator) {
        ArrowBuf transferred = retain(sourceBuffer, targetAllocator);
        return new OwnershipTransferResult() {
            @Override
            public boolean getAllocationFit() {
                return true;
            }

            @Override
            public ArrowBuf getTransferredBuffer() {
                return transferred;
            }
        };
    }

    @Override
    public BufferAllocator getAllocator() {
        return arena.allocator();
    }

    @Override
    public long getSize() {
        return length;
    }

    @Override
    public long getAccountedSize() {
        return 0;
    }
}
