package io.pgloom;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting for a condition in unit tests: polled with a deadline, never a fixed sleep. */
public final class Polling {
    private Polling() {
    }

    /** Polls a condition with a deadline (PgBouncer's wait_until); parks briefly between polls. */
    public static void waitUntil(BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int spins = 0;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for " + what.get());
            }
            if (++spins < 200) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
    }

    public static void waitUntil(BooleanSupplier condition, String what) {
        waitUntil(condition, () -> what);
    }
}
