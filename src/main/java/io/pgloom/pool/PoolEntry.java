package io.pgloom.pool;

/**
 * The pool's view of one server connection: its state and the times the pool decides by. The
 * state fields are guarded by the owning {@link Pool}'s lock and change only in
 * {@link Pool#moveTo}; {@link #close} may be called from any thread without a lock.
 */
public abstract class PoolEntry {
    /** Guarded by the pool lock. */
    ServerState state = ServerState.LOGIN;
    /** When it was launched (monotonic nanos). */
    final long createdNanos;
    /** When it last went idle (0: handed straight to a waiting client); guarded by the pool lock. */
    long idleSinceNanos;
    /** Close it instead of reusing it (RECONNECT, changed database settings); guarded by the pool lock. */
    boolean closeNeeded;
    /** Cancel requests in flight against it; guarded by the pool lock. */
    int cancelsInFlight;
    /** Links of the {@link EntryList} of its state; guarded by the pool lock. */
    PoolEntry listPrev;
    PoolEntry listNext;
    /** Lifetime after which it is closed when unused, with jitter; fixed at launch. */
    final long lifetimeNanos;

    protected PoolEntry(long createdNanos, long lifetimeNanos) {
        this.createdNanos = createdNanos;
        this.lifetimeNanos = lifetimeNanos;
    }

    /** Closes the connection, logging the reason once; its thread then reports {@link Pool#serverClosed}. */
    public abstract void close(String reason);

    /** A stable id for logs and SHOW SERVERS. */
    public abstract long id();

    public ServerState state() {
        return state;
    }

    public long createdNanos() {
        return createdNanos;
    }

    public long idleSinceNanos() {
        return idleSinceNanos;
    }

    public boolean closeNeeded() {
        return closeNeeded;
    }
}
