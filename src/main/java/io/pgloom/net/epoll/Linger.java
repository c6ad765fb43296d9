package io.pgloom.net.epoll;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The last moments of a socket closed right after a last message (a client's FATAL): shut down
 * for writing, so the peer reads that message and then end of file, and drained, so that what
 * the peer still sends is read and dropped, until the peer closes too or the linger time ends;
 * only then is the descriptor closed. Closing at once would answer the peer's next bytes with a
 * reset, and a client hit by the reset while it writes (pgjdbc sends an extended query in
 * several writes) reports "connection reset" instead of the message it was sent.
 *
 * <p>The poller drains on each readable edge; one reaper thread closes what outlives its time
 * (in the order lingering began: after a RELOAD that shortens the time, a socket may linger up
 * to the old time). At most a given number linger at once (max_client_conn): beyond it a socket
 * is closed at once, as before, so a flood of refused connections cannot pile up descriptors.
 * Thread-safe: draining and closing exclude each other.
 */
final class Linger {
    private static final int OPEN = 0;
    private static final int DRAINING = 1;
    /** The time ran out while the poller drained: the drainer closes. */
    private static final int CLOSE_AFTER_DRAIN = 2;
    private static final int CLOSED = 3;

    private static final ConcurrentLinkedQueue<Linger> QUEUE = new ConcurrentLinkedQueue<>();
    /** Sockets lingering now: a flood of refused connections must not pile up descriptors. */
    private static final AtomicInteger OPEN_COUNT = new AtomicInteger();
    /** Where drained bytes go: never read, so one array serves every drain at once. */
    private static final byte[] SINK = new byte[4096];
    private static final AtomicBoolean REAPER_STARTED = new AtomicBoolean();
    private static volatile Thread reaper;

    private final int fd;
    private final Poller poller;
    private final Poller.Target target;
    private final long deadline;
    private final AtomicInteger state = new AtomicInteger(OPEN);
    /** An edge came while another thread drained: the drainer looks once more. */
    private volatile boolean pending;
    private final MemorySegment errno = MemorySegment.ofArray(new int[1]);

    private Linger(int fd, Poller poller, Poller.Target target, long nanos) {
        this.fd = fd;
        this.poller = poller;
        this.target = target;
        this.deadline = System.nanoTime() + nanos;
    }

    /**
     * Half-closes {@code fd} and lingers on it; null when it cannot, or when {@code max} sockets
     * linger already (the descriptor is then the caller's to close at once). {@code target} must
     * route the descriptor's events to {@link #drain} once this returns.
     */
    static Linger start(int fd, Poller poller, Poller.Target target, long nanos, int max) {
        if (OPEN_COUNT.incrementAndGet() > max || NativeIo.shutdown(fd, Linux.SHUT_WR) != 0) {
            OPEN_COUNT.decrementAndGet();
            return null;
        }
        Linger l = new Linger(fd, poller, target, nanos);
        QUEUE.add(l);
        startReaper();
        return l;
    }

    /** Reads and drops what the peer sent; closes at end of file. Any thread, usually the poller. */
    void drain() {
        pending = true;
        while (pending && state.compareAndSet(OPEN, DRAINING)) {
            pending = false;
            if (readToEnd() || !state.compareAndSet(DRAINING, OPEN)) {
                state.set(CLOSED);
                closeNow();
                return;
            }
        }
    }

    /** @return true at end of file or on an error: nothing more will come */
    private boolean readToEnd() {
        while (true) {
            long n = NativeIo.recv(errno, fd, SINK, 0, SINK.length, 0);
            if (n > 0) {
                continue;
            }
            if (n == 0) {
                return true;
            }
            int err = NativeIo.errno(errno);
            if (err == Linux.EINTR) {
                continue;
            }
            return err != Linux.EAGAIN;
        }
    }

    /** The linger time is over: close now, or let the drainer close when it is done. */
    private void expire() {
        while (true) {
            int s = state.get();
            if (s == CLOSED || s == CLOSE_AFTER_DRAIN) {
                return;
            }
            if (s == OPEN && state.compareAndSet(OPEN, CLOSED)) {
                closeNow();
                return;
            }
            if (s == DRAINING && state.compareAndSet(DRAINING, CLOSE_AFTER_DRAIN)) {
                return;
            }
        }
    }

    private void closeNow() {
        poller.forget(fd, target);
        NativeIo.close(fd);
        OPEN_COUNT.decrementAndGet();
    }

    private static void startReaper() {
        if (REAPER_STARTED.compareAndSet(false, true)) {
            reaper = Thread.ofVirtual().name("linger-reaper").start(Linger::reap);
        }
        Thread t = reaper;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private static void reap() {
        while (true) {
            Linger l = QUEUE.peek();
            if (l == null) {
                LockSupport.park();
                continue;
            }
            long wait = l.deadline - System.nanoTime();
            if (wait > 0 && l.state.get() != CLOSED) {
                LockSupport.parkNanos(wait);
                continue;
            }
            QUEUE.poll();
            l.expire();
        }
    }
}
