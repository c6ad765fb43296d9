package io.pgloom.net.epoll;

import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.net.SocketException;
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
 */
public final class EpollWire extends Wire implements Poller.Target {
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

    @Override
    public void onEvents(boolean readable, boolean writable, boolean hangup) {
        if (hangup) {
            this.hangup = true;
        }
        if (readable) {
            readReady = true;
            Thread t = readWaiter;
            if (t != null) {
                LockSupport.unpark(t);
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
        Thread t = readWaiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
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

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
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
        writeWaiter = Thread.currentThread();
        try {
            while (!writeReady) {
                if (fd.isClosed()) {
                    throw closed();
                }
                LockSupport.park(this);
            }
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
            Thread r = readWaiter;
            if (r != null) {
                LockSupport.unpark(r);
            }
            Thread w = writeWaiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    private void finalClose() {
        poller.forget(fd.fd, this);
        NativeIo.close(fd.fd);
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
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = NativeIo.newErrno(a);
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
