package io.pgloom.server;

import io.pgloom.pool.Pool;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks one host of a comma-separated {@code host} list, round-robin per pool (PgBouncer's
 * {@code load_balance_hosts = round-robin}). Thread-safe.
 */
final class HostList {
    private HostList() {
    }

    private static final ConcurrentHashMap<Pool, AtomicInteger> COUNTERS = new ConcurrentHashMap<>();

    static String pick(String hosts, Pool pool) {
        if (hosts.indexOf(',') < 0) {
            return hosts.trim();
        }
        String[] parts = hosts.split(",");
        int n = COUNTERS.computeIfAbsent(pool, p -> new AtomicInteger()).getAndIncrement();
        return parts[Math.floorMod(n, parts.length)].trim();
    }
}
