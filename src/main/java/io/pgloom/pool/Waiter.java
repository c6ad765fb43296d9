package io.pgloom.pool;

import java.util.concurrent.locks.Condition;

/**
 * A client waiting for a server: its place in the pool's FIFO queue and the slot the pool hands a
 * server into. One per client, reused for each wait. Guarded by the pool lock.
 */
public final class Waiter {
    final Condition condition;
    final Object owner;
    PoolEntry assigned;
    String failure;
    String failureSqlState;
    long sinceNanos;
    boolean queued;
    /**
     * Queued by {@link Pool#acquireInline}: woken by running {@link #resumer} after the pool's
     * lock is released, not by signalling a thread. Cleared when the outcome is taken.
     */
    boolean inline;
    /** The next waiter to resume once the lock is released (a list guarded by the lock). */
    Waiter nextResume;
    private Runnable resumer;

    Waiter(Condition condition, Object owner) {
        this.condition = condition;
        this.owner = owner;
    }

    /** What wakes an inline wait (runs on the thread that hands the server over, outside the lock). */
    public void resumer(Runnable r) {
        resumer = r;
    }

    Runnable resumer() {
        return resumer;
    }

    /**
     * Right after {@link Pool#acquireInline} returned null, by its caller: whether the waiter is
     * queued inline. A wake-up racing with this read runs the resumer, which asks again.
     */
    public boolean waitingInline() {
        return inline && queued;
    }

    /** The SQLSTATE of the failure that ended the last wait. */
    public String failureSqlState() {
        return failureSqlState;
    }

    public long sinceNanos() {
        return sinceNanos;
    }

    public Object owner() {
        return owner;
    }
}
