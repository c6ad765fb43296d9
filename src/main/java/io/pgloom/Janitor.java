package io.pgloom;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientTimeouts;
import io.pgloom.log.Log;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolRegistry;
import java.util.concurrent.locks.LockSupport;

/**
 * The one periodic task, on one virtual thread, about three times a second (PgBouncer's
 * full_maint_period): pool upkeep (connect, idle and lifetime timeouts, min_pool_size, reserve
 * pool) and client timeouts, all against the one monotonic clock. Also runs the registered
 * periodic jobs (stats line, shutdown progress).
 */
final class Janitor {
    static final long TICK_NANOS = 1_000_000_000L / 3;

    private final PoolRegistry pools;
    private final ClientRegistry clients;
    private final Runnable[] extra;
    private final java.util.function.BooleanSupplier suspended;
    private volatile boolean stopped;
    private Thread thread;

    /** @param suspended while true (SUSPEND), nothing is touched, so nothing surprises the successor */
    Janitor(PoolRegistry pools, ClientRegistry clients, java.util.function.BooleanSupplier suspended, Runnable... extra) {
        this.suspended = suspended;
        this.pools = pools;
        this.clients = clients;
        this.extra = extra;
    }

    void start() {
        thread = Thread.ofVirtual().name("janitor").start(this::loop);
    }

    void stop() {
        stopped = true;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
    }

    private void loop() {
        long next = System.nanoTime();
        while (!stopped) {
            next += TICK_NANOS;
            try {
                tick();
            } catch (RuntimeException e) {
                Log.bug("janitor tick failed", e);
            }
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            } else {
                next = System.nanoTime();
            }
        }
    }

    void tick() {
        if (suspended.getAsBoolean()) {
            return;
        }
        for (Pool p : pools.poolList()) {
            p.maintain();
        }
        pools.evictForWaiters();
        long now = pools.clock().nanos();
        for (ClientConnection c : clients.all()) {
            ClientTimeouts.check(c, now, pools.general());
        }
        for (Runnable r : extra) {
            r.run();
        }
    }
}
