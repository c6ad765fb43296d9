package io.pgloom.pool;

import io.pgloom.config.PoolMode;

/**
 * The effective limits and timeouts of one pool, resolved from user › database › general
 * settings. Immutable; RELOAD installs a new one.
 *
 * @param poolSize 0 means unlimited
 */
public record PoolSettings(PoolMode mode, int poolSize, int minPoolSize, int reservePoolSize, long reservePoolTimeoutNanos,
        long serverIdleTimeoutNanos, long serverLifetimeNanos, long serverConnectTimeoutNanos, long serverLoginRetryNanos,
        boolean roundRobin) {
}
