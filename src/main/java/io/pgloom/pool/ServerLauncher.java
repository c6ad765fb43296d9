package io.pgloom.pool;

/** Starts a new server connection for a pool. Called under the pool lock: it must do no I/O. */
@FunctionalInterface
public interface ServerLauncher {
    /** Creates the entry (in LOGIN state) and starts its thread, which reports back to the pool. */
    PoolEntry launch(Pool pool);
}
