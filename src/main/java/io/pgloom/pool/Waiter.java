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
    /** Set by a pause or resume so a waiting client looks again. */
    boolean wake;

    Waiter(Condition condition, Object owner) {
        this.condition = condition;
        this.owner = owner;
    }

    public long sinceNanos() {
        return sinceNanos;
    }

    public Object owner() {
        return owner;
    }
}
