package io.pgloom.net.epoll;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import io.pgloom.log.Log;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One edge-triggered epoll set and the platform thread that waits on it. Each descriptor is
 * registered once, for input and output, and never re-armed; an event sets the target's ready
 * flag and either unparks the virtual thread waiting on it, or, for a connection idle between
 * requests, runs its work right here (see {@link EpollWire#awaitReadable}). Targets are found by
 * descriptor number. Thread-safe.
 */
final class Poller {
    /** The poller's own thread: code running on it must never park waiting for that poller. */
    static final class PollerThread extends Thread {
        /**
         * Native memory for the recv and send of inline passes, copied to and from the heap
         * arrays: a heap array handed to a native call needs a new segment object per call.
         */
        final MemorySegment scratch = Arena.global().allocate(SCRATCH_BYTES, 16);
        final MemorySegment errno = NativeIo.newErrno(Arena.global());

        PollerThread(Runnable r, String name) {
            super(r, name);
            setDaemon(true);
        }
    }

    private static final int SCRATCH_BYTES = 64 * 1024;

    /** Whether the caller is a poller thread (which must not block on a socket). */
    static boolean onPollerThread() {
        return Thread.currentThread() instanceof PollerThread;
    }

    /** What the poller wakes: an edge of readability and/or writability. */
    interface Target {
        /**
         * @param hangup the peer shut down its sending side; sticky for the target, since a
         *     read that returns the last data does not return the end of stream with it
         */
        void onEvents(boolean readable, boolean writable, boolean hangup);
    }

    private static final int MAX_EVENTS = 1024;
    private static final boolean PACKED = isPackedEventLayout();
    private static final int EVENT_SIZE = PACKED ? 12 : 16;
    private static final int DATA_OFFSET = PACKED ? 4 : 8;

    private final int epfd;
    private final MemorySegment events;
    private final MemorySegment waitErrno;
    private final ReentrantLock growLock = new ReentrantLock();
    private volatile AtomicReferenceArray<Target> targets = new AtomicReferenceArray<>(4096);

    Poller(String name) throws IOException {
        epfd = NativeIo.epollCreate();
        if (epfd < 0) {
            throw new IOException("epoll_create1 failed");
        }
        Arena arena = Arena.global();
        events = arena.allocate((long) EVENT_SIZE * MAX_EVENTS, 8);
        waitErrno = NativeIo.newErrno(arena);
        new PollerThread(this::loop, name).start();
    }

    private static boolean isPackedEventLayout() {
        String arch = System.getProperty("os.arch", "");
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /** Registers a non-blocking descriptor for edge-triggered input and output events. */
    void register(int fd, Target target, MemorySegment errno) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            register(fd, target, errno, newEvent(a));
        }
    }

    /** Native memory for one epoll_event, for a caller that registers many descriptors. */
    static MemorySegment newEvent(Arena arena) {
        return arena.allocate(EVENT_SIZE, 8);
    }

    /** {@link #register(int, Target, MemorySegment)} with the caller's {@link #newEvent} scratch. */
    void register(int fd, Target target, MemorySegment errno, MemorySegment ev) throws IOException {
        put(fd, target);
        ev.set(JAVA_INT, 0, Linux.EPOLLIN | Linux.EPOLLOUT | Linux.EPOLLRDHUP | Linux.EPOLLET);
        ev.set(JAVA_LONG_UNALIGNED, DATA_OFFSET, fd);
        if (NativeIo.epollCtl(errno, epfd, Linux.EPOLL_CTL_ADD, fd, ev) != 0) {
            int err = NativeIo.errno(errno);
            targets.compareAndSet(fd, target, null);
            throw new IOException("epoll_ctl: " + Linux.strerror(err));
        }
    }

    /** Points a registered descriptor at another target (a connect finished). */
    void retarget(int fd, Target target) {
        targets.set(fd, target);
    }

    /** Forgets a descriptor that is about to be closed (closing removes it from the epoll set). */
    void forget(int fd, Target target) {
        AtomicReferenceArray<Target> t = targets;
        if (fd < t.length()) {
            t.compareAndSet(fd, target, null);
        }
    }

    /** Stops events for a descriptor that stays open (handed to another process). */
    void deregister(int fd, Target target, MemorySegment errno) {
        forget(fd, target);
        NativeIo.epollCtl(errno, epfd, Linux.EPOLL_CTL_DEL, fd, MemorySegment.NULL);
    }

    private void put(int fd, Target target) {
        if (fd >= targets.length()) {
            growLock.lock();
            try {
                AtomicReferenceArray<Target> old = targets;
                if (fd >= old.length()) {
                    int n = old.length();
                    while (n <= fd) {
                        n *= 2;
                    }
                    AtomicReferenceArray<Target> bigger = new AtomicReferenceArray<>(n);
                    for (int i = 0; i < old.length(); i++) {
                        bigger.set(i, old.get(i));
                    }
                    targets = bigger;
                }
            } finally {
                growLock.unlock();
            }
        }
        targets.set(fd, target);
    }

    private void loop() {
        while (true) {
            int n = NativeIo.epollWait(waitErrno, epfd, events, MAX_EVENTS, -1);
            if (n < 0) {
                int err = NativeIo.errno(waitErrno);
                if (err == Linux.EINTR) {
                    continue;
                }
                Log.error("epoll_wait failed: " + Linux.strerror(err));
                return;
            }
            AtomicReferenceArray<Target> t = targets;
            for (int i = 0; i < n; i++) {
                long base = (long) i * EVENT_SIZE;
                int ev = events.get(JAVA_INT, base);
                int fd = (int) events.get(JAVA_LONG_UNALIGNED, base + DATA_OFFSET);
                Target target = fd < t.length() ? t.get(fd) : null;
                if (target != null) {
                    boolean failed = (ev & (Linux.EPOLLERR | Linux.EPOLLHUP)) != 0;
                    // Only RDHUP is permanent: HUP is also reported for a socket that is registered
                    // before its connect() starts, and ERR clears once recv reports the error.
                    boolean hangup = (ev & Linux.EPOLLRDHUP) != 0;
                    target.onEvents(failed || hangup || (ev & Linux.EPOLLIN) != 0,
                            failed || (ev & Linux.EPOLLOUT) != 0, hangup);
                }
            }
        }
    }
}
