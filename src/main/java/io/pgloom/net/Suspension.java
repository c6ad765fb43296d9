package io.pgloom.net;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * SUSPEND's gate for connection threads. While a suspension is requested, each connection thread
 * that reaches a safe point (a message boundary with nothing buffered and nothing of its own in
 * flight) parks here and reads no further byte, so what arrives stays in the kernel for the
 * process taking over; RESUME lets them continue. Thread-safe.
 */
public final class Suspension {
    private volatile boolean requested;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition resumed = lock.newCondition();
    private final Set<Object> parked = ConcurrentHashMap.newKeySet();

    public boolean requested() {
        return requested;
    }

    public void request() {
        requested = true;
    }

    /** Lets every parked connection continue. */
    public void resume() {
        lock.lock();
        try {
            requested = false;
            resumed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Called by a connection thread at a safe point: parks until resumed. */
    public void park(Object connection) {
        parked.add(connection);
        lock.lock();
        try {
            while (requested) {
                resumed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
            parked.remove(connection);
        }
    }

    public boolean isParked(Object connection) {
        return parked.contains(connection);
    }
}
