package io.pgloom.net.epoll;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The lifetime of one file descriptor shared by several threads: each system call on it runs
 * between {@link #acquire} and {@link #release}, and the descriptor is closed exactly once, by
 * {@link #close} or by the last call in flight after it, so a number reused by the kernel for a
 * new socket can never receive a stale read or write. Thread-safe.
 */
final class FdHandle {
    private static final int CLOSED = 1 << 30;
    private static final int COUNT = CLOSED - 1;

    final int fd;
    private final AtomicInteger state = new AtomicInteger();
    private final Runnable onFinalClose;

    FdHandle(int fd, Runnable onFinalClose) {
        this.fd = fd;
        this.onFinalClose = onFinalClose;
    }

    /** False once closed: the caller must not touch the descriptor. */
    boolean acquire() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (state.decrementAndGet() == CLOSED) {
            finalClose();
        }
    }

    /** Marks closed; the descriptor is closed now, or when the last call in flight ends. */
    boolean close() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s | CLOSED)) {
                if ((s & COUNT) == 0) {
                    finalClose();
                }
                return true;
            }
        }
    }

    boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    private void finalClose() {
        onFinalClose.run();
    }
}
