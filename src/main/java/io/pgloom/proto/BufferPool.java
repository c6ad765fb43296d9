package io.pgloom.proto;

import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Read buffers of one size ({@code pkt_buf}) shared by all connections: a connection that goes
 * idle gives its buffer back before it waits, and takes one again when data arrives, so an idle
 * client holds no buffer at all (PgBouncer's model). Keeps at most {@code maxRetained} spare
 * buffers. Thread-safe.
 */
public final class BufferPool {
    private final int size;
    private final int maxRetained;
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();

    public BufferPool(int size, int maxRetained) {
        this.size = size;
        this.maxRetained = maxRetained;
    }

    public int bufferSize() {
        return size;
    }

    public byte[] take() {
        lock.lock();
        try {
            byte[] b = spare.pollFirst();
            if (b != null) {
                return b;
            }
        } finally {
            lock.unlock();
        }
        return new byte[size];
    }

    public void give(byte[] b) {
        if (b.length != size) {
            return;
        }
        lock.lock();
        try {
            if (spare.size() < maxRetained) {
                spare.addFirst(b);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Spare buffers held now (SHOW MEM). */
    public int spareCount() {
        lock.lock();
        try {
            return spare.size();
        } finally {
            lock.unlock();
        }
    }
}
