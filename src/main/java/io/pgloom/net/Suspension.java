package io.pgloom.net;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * SUSPEND's gate for connection threads. While a suspension is requested, each connection thread
 * that reaches a safe point parks here and reads no further byte, so what arrives stays in the
 * kernel for the process taking over; RESUME lets them continue. A safe point is a message
 * boundary with nothing buffered and nothing of its own in flight, unless the successor
 * {@linkplain #carries() carries} what a connection holds: then any point between two reads is
 * one, since the bytes it holds (a partial message, output its peer has not read yet) travel to
 * the successor with its socket. Thread-safe.
 */
public final class Suspension {
    private volatile boolean requested;
    private volatile boolean carries;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition resumed = lock.newCondition();
    private final Set<Object> parked = ConcurrentHashMap.newKeySet();

    public boolean requested() {
        return requested;
    }

    /**
     * @param carry the successor takes over what connections hold (a pgloom successor), so they
     *     need not wait for a message boundary
     */
    public void request(boolean carry) {
        carries = carry;
        requested = true;
    }

    /** Whether the suspension lets connections stop holding bytes, which then travel with them. */
    public boolean carries() {
        return carries;
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
