package io.pgloom.pool;

/** Monotonic nanoseconds: {@link System#nanoTime()} in production, a settable value in tests. */
@FunctionalInterface
public interface Clock {
    long nanos();

    Clock SYSTEM = System::nanoTime;
}
