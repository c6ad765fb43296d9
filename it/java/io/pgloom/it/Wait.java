package io.pgloom.it;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Polling with a deadline: the only way integration tests wait (PgBouncer's {@code wait_until}).
 * Tests never sleep a fixed time; they poll a condition every {@link #POLL} until it holds or the
 * timeout expires, and then fail with a message that names what was awaited.
 *
 * <p>Stateless; runs on the calling thread.
 */
public final class Wait {

    /** How often a condition is polled. */
    public static final Duration POLL = Duration.ofMillis(20);

    private Wait() {
    }

    /**
     * Polls {@code condition} until it is true.
     *
     * @param what what is awaited, for the failure message ("pgloom logs the reload")
     * @throws AssertionError when the condition is still false at the deadline; an exception thrown
     *     by the condition propagates at once
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        until(what, timeout, condition, () -> "");
    }

    /** As {@link #until(String, Duration, BooleanSupplier)}; {@code detail} is added to the failure message. */
    public static void until(String what, Duration timeout, BooleanSupplier condition, Supplier<String> detail) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline >= 0) {
                String more = detail.get();
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what
                        + (more.isEmpty() ? "" : "\n" + more));
            }
            pause(deadline);
        }
    }

    /**
     * Polls {@code value} until {@code accept} takes it, and returns that value. The failure
     * message shows the last value seen.
     */
    public static <T> T untilValue(String what, Duration timeout, Supplier<T> value, Predicate<? super T> accept) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T seen = value.get();
            if (accept.test(seen)) {
                return seen;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what
                        + "; last value: " + seen);
            }
            pause(deadline);
        }
    }

    /**
     * Calls {@code action} until it returns without throwing, and returns its result; for
     * "connecting works again" after a restart. At the deadline, fails with the last exception
     * as the cause.
     */
    public static <T> T untilSucceeds(String what, Duration timeout, Callable<T> action) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return action.call();
            } catch (Exception e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new AssertionError("timed out after " + timeout + " waiting for: " + what
                            + "; last failure: " + e, e);
                }
            }
            pause(deadline);
        }
    }

    private static void pause(long deadline) {
        long left = deadline - System.nanoTime();
        LockSupport.parkNanos(Math.max(0, Math.min(POLL.toNanos(), left)));
        if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting");
        }
    }
}
