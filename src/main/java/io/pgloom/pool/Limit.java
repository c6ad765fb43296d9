package io.pgloom.pool;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A count that must never exceed a maximum, shared by several pools (max_db_connections,
 * max_user_connections and their client twins). Lock-free: a slot is taken with a CAS only if it
 * keeps the count within the maximum. Thread-safe.
 */
public final class Limit {
    private final AtomicInteger count = new AtomicInteger();
    private volatile int max;

    /** @param max 0 means unlimited */
    public Limit(int max) {
        this.max = max;
    }

    public boolean tryAcquire() {
        while (true) {
            int c = count.get();
            int m = max;
            if (m > 0 && c >= m) {
                return false;
            }
            if (count.compareAndSet(c, c + 1)) {
                return true;
            }
        }
    }

    /** Takes a slot regardless of the maximum (takeover adopts what already exists). */
    public void forceAcquire() {
        count.incrementAndGet();
    }

    public void release() {
        int after = count.decrementAndGet();
        assert after >= 0 : "limit released more often than acquired";
    }

    public int count() {
        return count.get();
    }

    public int max() {
        return max;
    }

    public void setMax(int max) {
        this.max = max;
    }

    public boolean atMax() {
        int m = max;
        return m > 0 && count.get() >= m;
    }
}
