package io.pgloom.net.epoll;

import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A socket of the native transport: a non-blocking descriptor registered once with the
 * {@link Poller}. A read is one {@code recv} into the caller's heap array; when it would block
 * the virtual thread parks until the poller reports an edge. After a read that did not fill the
 * buffer the socket is known to be drained, so the next read waits for an edge first instead of
 * making a {@code recv} that can only fail with EAGAIN. Writes are {@code send} calls under the
 * write lock, parking on EAGAIN until the socket is writable. Readiness flags are cleared before
 * each call and set by the poller, so no edge is lost.
 *
 * <p>Inline reads: while the owner waits in {@link #awaitReadable} (between requests, holding
 * no buffer) it is IDLE, and an edge makes the poller run the owner's {@link InlineReader} on
 * the poller thread instead of waking the owner: PgBouncer's event loop, with no thread hand-off
 * for the common request or response. The reader either finishes (the owner sleeps on) or hands
 * over (the owner wakes and finds the work left for it), or waits (WAITING: a client's request
 * queued for a server; the thread that releases one resumes the pass, so a contended request
 * never wakes the client's thread). Ownership moves through one atomic state, so the owner and
 * an inline pass never touch the connection at the same time.
 */
public final class EpollWire extends Wire implements Poller.Target {
    /** Work the poller may do in place of the owner while it waits idle. */
    @FunctionalInterface
    public interface InlineReader {
        /** Done: the owner sleeps on. */
        int DONE = 0;
        /** The owner's thread takes over. */
        int HAND_OVER = 1;
        /**
         * The pass waits for something only another thread can give (a server from the pool):
         * nothing runs for the connection until that thread calls {@link #resumeInline}, or a
         * hang-up, close or interrupt wakes the owner, which then takes over.
         */
        int WAIT = 2;

        /**
         * Runs on a poller thread (or, resumed, on the thread that calls {@link #resumeInline})
         * and must never block: reads with {@link #readNow} and writes with {@link #tryWrite}.
         * Returns {@link #DONE}, {@link #HAND_OVER} or {@link #WAIT}.
         */
        int runInline();
    }

    private static final int OWNED = 0;
    private static final int IDLE = 1;
    private static final int INLINE = 2;
    private static final int HANDED = 3;
    private static final int WAITING = 4;

    private final FdHandle fd;
    private final Poller poller;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final MemorySegment readErrno;
    private final MemorySegment writeErrno;
    private volatile boolean readReady = true;
    private volatile boolean writeReady = true;
    private volatile Thread readWaiter;
    private volatile Thread writeWaiter;
    private volatile boolean interrupted;
    private volatile boolean hangup;
    private boolean drained;
    private final AtomicInteger owner = new AtomicInteger(OWNED);
    private volatile InlineReader inlineReader;
    /** Starts a new owner thread for a connection whose thread left while idle (null: never leave). */
    private volatile Runnable resumer;
    private volatile boolean leaveRequested;
    private final AtomicInteger left = new AtomicInteger();
    /** See {@link #lingerOnClose}; 0: close at once. */
    private volatile long lingerNanos;
    private volatile int lingerMax;
    /** Set once the descriptor lingers: its events drain it. */
    private volatile Linger linger;
    /** {@link #resumeInline} was called while a pass ran: the pass that ends in WAIT runs again. */
    private volatile boolean resumeRequested;

    EpollWire(int fd, Poller poller, SocketAddress remote, SocketAddress local, boolean unix, int unixPort) {
        super(remote, local, unix, unixPort);
        this.poller = poller;
        this.fd = new FdHandle(fd, this::finalClose);
        // heap segments: recv/send are critical calls, which may capture errno into the heap
        this.readErrno = MemorySegment.ofArray(new int[1]);
        this.writeErrno = MemorySegment.ofArray(new int[1]);
    }

    @Override
    public int fd() {
        return fd.fd;
    }

    /**
     * For a socket just accepted, before it is registered: nothing is known to be readable yet, so
     * the first read waits for the edge that registration reports when data is (or arrives)
     * there, and its reader holds no buffer until then. Otherwise every connection that has sent
     * nothing yet (a flood, a slow login) would sit in a {@code recv} with a pooled buffer.
     */
    void startDrained() {
        readReady = false;
        drained = true;
    }

    /**
     * For a socket just accepted: its owner thread is started by {@code start} only when the
     * first edge comes (data, a hang-up) or the connection is closed or interrupted meanwhile, so
     * a client that has sent nothing yet costs no thread (and no parked stack). Runs {@code
     * start} at once if that happened already.
     */
    public void startOnFirstEdge(Runnable start) {
        resumer = start;
        left.set(1);
        if ((readReady || ownerMustLook()) && left.compareAndSet(1, 0)) {
            start.run(); // the edge came before left was set: its waker found no one to start
        }
    }

    /** Lets the poller run {@code r} while the owner waits idle (null: never). Owner thread. */
    public void inlineReader(InlineReader r) {
        inlineReader = r;
    }

    /**
     * Lets the owner's thread end while it waits idle, after {@link #requestLeave}: the
     * connection then lives on in its objects and the poller, and whatever would have woken the
     * thread (a hand-over, a close, an interrupt, a hang-up) runs {@code r} on a new one instead,
     * which must go back to waiting through {@link #awaitIdle}. Owner thread.
     */
    public void resumer(Runnable r) {
        resumer = r;
    }

    /** Asks an owner waiting idle to let its thread end ({@link ThreadLeft}). Any thread. */
    public void requestLeave() {
        int o = owner.get();
        if (resumer != null && left.get() == 0 && (o == IDLE || o == WAITING)) {
            leaveRequested = true;
            Thread t = readWaiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * Lets the owner's thread end the next time it waits idle with nothing to read, without the
     * janitor's idle_thread_timeout: a client that has just logged in and sent nothing more costs
     * no parked stack. Owner thread, after {@link #resumer}.
     */
    public void leaveWhenIdle() {
        if (resumer != null) {
            leaveRequested = true;
        }
    }

    /** Whether the owner's thread has ended while idle (SHOW and tests). */
    public boolean threadLeft() {
        return left.get() != 0;
    }

    /** Thrown out of {@link #awaitIdle} when the owner's thread should end; a singleton. */
    public static final class ThreadLeft extends RuntimeException {
        public static final ThreadLeft INSTANCE = new ThreadLeft();

        private ThreadLeft() {
            super("idle thread left", null, false, false);
        }
    }

    /** Wakes the owner waiting to read, or starts a new one if its thread has left. */
    private void wakeReader() {
        Thread t = readWaiter;
        if (t != null) {
            LockSupport.unpark(t);
        } else if (left.get() != 0 && left.compareAndSet(1, 0)) {
            resumer.run();
        }
    }

    @Override
    public void onEvents(boolean readable, boolean writable, boolean hangup) {
        Linger l = linger;
        if (l != null) {
            l.drain();
            return;
        }
        if (hangup) {
            this.hangup = true;
        }
        if (readable) {
            readReady = true;
            InlineReader r = inlineReader;
            int o = owner.get();
            if (r != null && !hangup && o == IDLE && owner.compareAndSet(IDLE, INLINE)) {
                runInline(r);
            } else if (o != WAITING || hangup) {
                wakeReader(); // (data for a waiting pass stays in the socket until it resumes)
            }
        }
        if (writable) {
            writeReady = true;
            Thread t = writeWaiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        while (true) {
            if (drained) {
                drained = false;
                parkUntilReadable();
            }
            readReady = false;
            if (!fd.acquire()) {
                throw closed();
            }
            long n;
            try {
                n = NativeIo.recv(readErrno, fd.fd, b, off, len, 0);
            } finally {
                fd.release();
            }
            if (n > 0) {
                drained = n < len;
                return (int) n;
            }
            if (n == 0) {
                return -1;
            }
            int err = NativeIo.errno(readErrno);
            if (err == Linux.EAGAIN) {
                hangup = false; // not a shut-down peer after all: never spin on a stale flag
                parkUntilReadable();
            } else if (err != Linux.EINTR) {
                throw new SocketException(Linux.strerror(err));
            }
        }
    }

    /**
     * Runs inline passes while this thread holds INLINE. An edge that came during a pass (its
     * wake-up found INLINE and was lost on the owner) makes the pass run again.
     */
    private void runInline(InlineReader r) {
        while (true) {
            int outcome;
            try {
                outcome = r.runInline();
            } catch (RuntimeException | Error e) {
                io.pgloom.log.Log.bug("inline read failed", e);
                outcome = InlineReader.HAND_OVER;
            }
            if (outcome == InlineReader.WAIT) {
                owner.set(WAITING);
                if (resumeRequested && owner.compareAndSet(WAITING, INLINE)) {
                    resumeRequested = false;
                    continue;
                }
                if (ownerMustLook()) {
                    wakeReader(); // the owner takes over from the wait
                }
                return;
            }
            boolean done = outcome == InlineReader.DONE;
            owner.set(done ? IDLE : HANDED);
            if (done && readReady && !ownerMustLook() && owner.compareAndSet(IDLE, INLINE)) {
                continue;
            }
            // the owner takes over, or was woken meanwhile (close, interrupt) and looks again now
            if (!done || ownerMustLook()) {
                wakeReader();
            }
            return;
        }
    }

    /** A hang-up, an interrupt or a close: whatever state the connection is in, its owner must look. */
    private boolean ownerMustLook() {
        return hangup || interrupted || fd.isClosed();
    }

    /**
     * Runs the pass that ended in {@link InlineReader#WAIT} again, on the calling thread, which
     * must not hold locks the pass takes. If that pass is still finishing, it runs again itself;
     * if the owner took over from the wait, this does nothing (the owner sees the change).
     */
    public void resumeInline() {
        resumeRequested = true;
        if (owner.compareAndSet(WAITING, INLINE)) {
            resumeRequested = false;
            runInline(inlineReader);
        }
    }

    /**
     * One non-blocking read for an inline pass: the bytes read, 0 when none are there, -1 at end
     * of stream. Afterwards {@link #drainedNow} says whether the socket may hold more.
     */
    @Override
    public int readNow(byte[] b, int off, int len) throws IOException {
        readReady = false;
        if (!fd.acquire()) {
            return -1;
        }
        long n;
        int want = len;
        MemorySegment errno = readErrno;
        try {
            if (Thread.currentThread() instanceof Poller.PollerThread pt) {
                want = (int) Math.min(len, pt.scratch.byteSize());
                errno = pt.errno;
                n = NativeIo.recv(errno, fd.fd, pt.scratch, want);
                if (n > 0) {
                    MemorySegment.copy(pt.scratch, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, b, off, (int) n);
                }
            } else {
                n = NativeIo.recv(errno, fd.fd, b, off, len, 0);
            }
        } finally {
            fd.release();
        }
        if (n > 0) {
            drained = n < want;
            return (int) n;
        }
        if (n == 0) {
            return -1;
        }
        int err = NativeIo.errno(errno);
        if (err == Linux.EAGAIN) {
            drained = true;
            return 0;
        }
        if (err == Linux.EINTR) {
            drained = false;
            return 0;
        }
        throw new SocketException(Linux.strerror(err));
    }

    /** Whether the last read found the socket empty (the next data comes with a new edge). */
    public boolean drainedNow() {
        return drained;
    }

    @Override
    public boolean wouldWait() {
        return drained && !readReady && !hangup;
    }

    @Override
    public void awaitReadable() throws IOException {
        if (drained) {
            parkUntilReadable();
            drained = false;
        }
    }

    /**
     * Waits for data at a message boundary. With an {@link InlineReader} set, the owner waits
     * IDLE: the poller may serve reads itself meanwhile, and if it hands over, this returns true
     * at once (the work is in the owner's buffer and state, not in the socket).
     */
    @Override
    public boolean awaitIdle() throws IOException {
        if (!drained && owner.get() == OWNED) {
            return false; // (a thread resumed after its predecessor left finds IDLE or HANDED)
        }
        InlineReader r = inlineReader;
        if (r == null) {
            parkUntilReadable();
            drained = false;
            return false;
        }
        readWaiter = Thread.currentThread();
        try {
            owner.compareAndSet(OWNED, IDLE); // a resumed thread finds IDLE or HANDED already
            while (true) {
                int o = owner.get();
                if (o == HANDED) {
                    owner.set(OWNED);
                    return true;
                }
                if (o == IDLE && (readReady || ownerMustLook())) {
                    if (owner.compareAndSet(IDLE, OWNED)) {
                        drained = false;
                        return false;
                    }
                    continue;
                }
                if (o == WAITING && ownerMustLook()) {
                    if (owner.compareAndSet(WAITING, OWNED)) {
                        resumeRequested = false;
                        return true; // the waiting request is in the owner's buffer
                    }
                    continue;
                }
                if ((o == IDLE || o == WAITING) && leaveRequested && leave()) {
                    throw ThreadLeft.INSTANCE;
                }
                LockSupport.park(this);
            }
        } finally {
            if (readWaiter == Thread.currentThread()) {
                readWaiter = null;
            }
        }
    }


    /**
     * Ends the owner's wait for good unless a wake-up races with it: from the moment
     * {@code left} is set, every waker starts a new thread instead of unparking this one, and
     * the check after it sees any wake-up that came before.
     */
    private boolean leave() {
        leaveRequested = false;
        readWaiter = null;
        left.set(1);
        int o = owner.get();
        if (o == HANDED || (o == IDLE && (readReady || ownerMustLook()))
                || (o == WAITING && ownerMustLook())) {
            if (left.compareAndSet(1, 0)) {
                readWaiter = Thread.currentThread();
                return false; // stay: the wake-up is ours
            }
            // a waker took it and starts a new thread
        }
        return true;
    }

    private void parkUntilReadable() throws IOException {
        readWaiter = Thread.currentThread();
        try {
            while (!readReady && !hangup) {
                if (fd.isClosed()) {
                    throw closed();
                }
                if (interrupted) {
                    interrupted = false;
                    drained = true;
                    throw new io.pgloom.net.ReadInterruptedException();
                }
                LockSupport.park(this);
            }
        } finally {
            readWaiter = null;
        }
    }

    @Override
    public boolean interruptRead() {
        interrupted = true;
        wakeReader();
        return true;
    }

    /** A non-blocking system call on the descriptor: returns its result, or minus errno on failure. */
    @FunctionalInterface
    public interface RawCall {
        long call(int fd);
    }

    /**
     * Runs a non-blocking receive-like call (recvmsg) with this wire's read readiness: retries
     * after the next readable edge while it fails with EAGAIN. Owner thread only.
     */
    public long readRaw(RawCall call) throws IOException {
        while (true) {
            readReady = false;
            if (!fd.acquire()) {
                throw closed();
            }
            long n;
            try {
                n = call.call(fd.fd);
            } finally {
                fd.release();
            }
            if (n >= 0) {
                return n;
            }
            int err = (int) -n;
            if (err == Linux.EAGAIN) {
                hangup = false; // not a shut-down peer after all: never spin on a stale flag
                parkUntilReadable();
            } else if (err != Linux.EINTR) {
                throw new SocketException(Linux.strerror(err));
            }
        }
    }

    /** Runs a non-blocking send-like call (sendmsg) under the write lock, waiting out EAGAIN. */
    public long writeRaw(RawCall call) throws IOException {
        writeLock.lock();
        try {
            while (true) {
                writeReady = false;
                if (!fd.acquire()) {
                    throw closed();
                }
                long n;
                try {
                    n = call.call(fd.fd);
                } finally {
                    fd.release();
                }
                if (n >= 0) {
                    return n;
                }
                int err = (int) -n;
                if (err == Linux.EAGAIN) {
                    parkUntilWritable();
                } else if (err != Linux.EINTR) {
                    throw new SocketException(Linux.strerror(err));
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Writes what the socket takes now, never waiting (for an inline pass): the number of bytes
     * written, possibly 0 when another writer holds the socket or its buffer is full.
     */
    @Override
    public int tryWrite(byte[] b, int off, int len) throws IOException {
        if (!writeLock.tryLock()) {
            return 0;
        }
        int done = 0;
        Poller.PollerThread pt = Thread.currentThread() instanceof Poller.PollerThread p ? p : null;
        MemorySegment errno = pt != null ? pt.errno : writeErrno;
        try {
            while (done < len) {
                writeReady = false;
                if (!fd.acquire()) {
                    throw closed();
                }
                long n;
                try {
                    if (pt != null) {
                        int chunk = (int) Math.min(len - done, pt.scratch.byteSize());
                        MemorySegment.copy(b, off + done, pt.scratch, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, chunk);
                        n = NativeIo.send(errno, fd.fd, pt.scratch, chunk);
                    } else {
                        n = NativeIo.send(errno, fd.fd, b, off + done, len - done);
                    }
                } finally {
                    fd.release();
                }
                if (n > 0) {
                    done += (int) n;
                    continue;
                }
                int err = NativeIo.errno(errno);
                if (err == Linux.EAGAIN) {
                    return done;
                }
                if (err != Linux.EINTR) {
                    throw new SocketException(Linux.strerror(err));
                }
            }
            return done;
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (Poller.onPollerThread()) {
            // a poller thread waiting for a writable edge that only it delivers would wait forever
            if (tryWrite(b, off, len) < len) {
                throw new SocketException("write would block on a poller thread");
            }
            return;
        }
        writeLock.lock();
        try {
            while (len > 0) {
                writeReady = false;
                if (!fd.acquire()) {
                    throw closed();
                }
                long n;
                try {
                    n = NativeIo.send(writeErrno, fd.fd, b, off, len);
                } finally {
                    fd.release();
                }
                if (n > 0) {
                    off += (int) n;
                    len -= (int) n;
                    continue;
                }
                int err = NativeIo.errno(writeErrno);
                if (err == Linux.EAGAIN) {
                    parkUntilWritable();
                } else if (err != Linux.EINTR) {
                    throw new SocketException(Linux.strerror(err));
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public int write(byte[] b, int off, int len, java.util.function.BooleanSupplier giveUp) throws IOException {
        int written = 0;
        writeLock.lock();
        try {
            while (written < len) {
                writeReady = false;
                if (!fd.acquire()) {
                    throw closed();
                }
                long n;
                try {
                    n = NativeIo.send(writeErrno, fd.fd, b, off + written, len - written);
                } finally {
                    fd.release();
                }
                if (n > 0) {
                    written += (int) n;
                    continue;
                }
                int err = NativeIo.errno(writeErrno);
                if (err == Linux.EAGAIN) {
                    if (!parkUntilWritable(giveUp)) {
                        return written;
                    }
                } else if (err != Linux.EINTR) {
                    throw new SocketException(Linux.strerror(err));
                }
            }
            return written;
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public boolean writeIfReady(byte[] b) throws IOException {
        if (!writeLock.tryLock()) {
            return false;
        }
        try {
            int off = 0;
            while (off < b.length) {
                if (!fd.acquire()) {
                    throw closed();
                }
                long n;
                try {
                    n = NativeIo.send(writeErrno, fd.fd, b, off, b.length - off);
                } finally {
                    fd.release();
                }
                if (n > 0) {
                    off += (int) n;
                    continue;
                }
                int err = NativeIo.errno(writeErrno);
                if (err == Linux.EAGAIN) {
                    return false;
                } else if (err != Linux.EINTR) {
                    throw new SocketException(Linux.strerror(err));
                }
            }
            return true;
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Never parks on the socket: waits at most {@link #GOODBYE_GRACE} for a write in progress,
     * then makes one non-blocking {@code send}; the bytes are dropped if the socket has no room.
     * A poller thread does not wait for the lock at all (it serves every other connection).
     */
    @Override
    public boolean writeBeforeClose(byte[] b) {
        if (Poller.onPollerThread()) {
            try {
                return tryWrite(b, 0, b.length) == b.length;
            } catch (IOException e) {
                return false;
            }
        }
        try {
            if (!writeLock.tryLock(GOODBYE_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        try {
            if (!fd.acquire()) {
                return false;
            }
            try {
                return NativeIo.send(writeErrno, fd.fd, b, 0, b.length) == b.length;
            } finally {
                fd.release();
            }
        } finally {
            writeLock.unlock();
        }
    }

    void connected(SocketAddress local) {
        setLocal(local);
    }

    /** Waits for a connect to finish (writable), on the connecting thread. */
    void awaitConnected() throws IOException {
        writeLock.lock();
        try {
            parkUntilWritable();
        } finally {
            writeLock.unlock();
        }
    }

    private void parkUntilWritable() throws IOException {
        parkUntilWritable(null);
    }

    /** Waits for a writable edge; false when {@code giveUp} (checked at each wake-up) says to stop. */
    private boolean parkUntilWritable(java.util.function.BooleanSupplier giveUp) throws IOException {
        writeWaiter = Thread.currentThread();
        try {
            while (!writeReady) {
                if (fd.isClosed()) {
                    throw closed();
                }
                if (giveUp != null && giveUp.getAsBoolean()) {
                    return false;
                }
                LockSupport.park(this);
            }
            return true;
        } finally {
            writeWaiter = null;
        }
    }

    private static IOException closed() {
        return new SocketException("Socket closed");
    }

    @Override
    public void close() {
        if (fd.close()) {
            wakeReader();
            Thread w = writeWaiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    private void finalClose() {
        long nanos = lingerNanos;
        if (nanos > 0) {
            Linger l = Linger.start(fd.fd, poller, this, nanos, lingerMax);
            if (l != null) {
                linger = l;
                l.drain(); // what came before (its edge may be spent already)
                return;
            }
        }
        poller.forget(fd.fd, this);
        NativeIo.close(fd.fd);
    }

    /**
     * Lets the final close linger ({@link Linger}): half-closed, the socket is drained until the
     * peer closes too or {@code nanos} pass, unless {@code max} sockets linger already. For a
     * close right after a last message. Any thread, before {@link #close}.
     */
    @Override
    public void lingerOnClose(long nanos, int max) {
        lingerMax = max;
        lingerNanos = nanos;
    }

    @Override
    public boolean isOpen() {
        return !fd.isClosed();
    }

    @Override
    public SocketAddress remoteAddress() {
        return remote();
    }

    @Override
    public void tune(Values g) throws IOException {
        if (isUnix()) {
            return;
        }
        // the owner's errno segment: the owner tunes before anything else reads this socket
        MemorySegment e = readErrno;
        set(e, Linux.IPPROTO_TCP, Linux.TCP_NODELAY, 1);
        boolean keepalive = g.get(General.TCP_KEEPALIVE);
        set(e, Linux.SOL_SOCKET, Linux.SO_KEEPALIVE, keepalive ? 1 : 0);
        if (keepalive) {
            setIfPositive(e, Linux.IPPROTO_TCP, Linux.TCP_KEEPIDLE, g.get(General.TCP_KEEPIDLE));
            setIfPositive(e, Linux.IPPROTO_TCP, Linux.TCP_KEEPINTVL, g.get(General.TCP_KEEPINTVL));
            setIfPositive(e, Linux.IPPROTO_TCP, Linux.TCP_KEEPCNT, g.get(General.TCP_KEEPCNT));
        }
        setIfPositive(e, Linux.IPPROTO_TCP, Linux.TCP_USER_TIMEOUT, g.get(General.TCP_USER_TIMEOUT));
        setIfPositive(e, Linux.SOL_SOCKET, Linux.SO_SNDBUF, g.get(General.TCP_SOCKET_BUFFER));
        setIfPositive(e, Linux.SOL_SOCKET, Linux.SO_RCVBUF, g.get(General.TCP_SOCKET_BUFFER));
    }

    private void setIfPositive(MemorySegment e, int level, int name, int value) throws IOException {
        if (value > 0) {
            set(e, level, name, value);
        }
    }

    private void set(MemorySegment e, int level, int name, int value) throws IOException {
        if (!fd.acquire()) {
            throw closed();
        }
        try {
            if (NativeIo.setsockopt(e, fd.fd, level, name, value) != 0) {
                throw new SocketException("setsockopt: " + Linux.strerror(NativeIo.errno(e)));
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public boolean peerIsSameUser() {
        int[] cred = peerCred();
        return cred != null && cred[1] == EpollTransport.ownUid();
    }

    @Override
    public java.util.Optional<String> peerUserName() {
        int[] cred = peerCred();
        return cred == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(NativeIo.userName(cred[1]));
    }

    @Override
    public int peerPid() {
        int[] cred = peerCred();
        return cred == null ? -1 : cred[0];
    }

    /** {pid, uid, gid} of a unix peer, or null. */
    private int[] peerCred() {
        if (!isUnix() || !fd.acquire()) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(12);
            if (NativeIo.getsockopt(NativeIo.newErrno(a), fd.fd, Linux.SOL_SOCKET, Linux.SO_PEERCRED, out) != 0) {
                return null;
            }
            return new int[] {out.get(java.lang.foreign.ValueLayout.JAVA_INT, 0), out.get(java.lang.foreign.ValueLayout.JAVA_INT, 4),
                out.get(java.lang.foreign.ValueLayout.JAVA_INT, 8)};
        } finally {
            fd.release();
        }
    }
}
