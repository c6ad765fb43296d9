package io.pgloom.net.tls;

import io.pgloom.config.Values;
import io.pgloom.net.ReadInterruptedException;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.Arrays;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A test {@link Wire} over in-memory pipes, with what a socket adapter cannot do: {@link
 * #interruptRead}, {@link #wouldWait} and {@link #awaitReadable}, and a test that sits between
 * the two ends and passes bytes on in pieces of its choosing.
 */
final class MemoryWire extends Wire {
    /** One direction: bytes written and not yet read. */
    static final class Pipe {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private byte[] data = new byte[0];
        private volatile boolean closed;

        void put(byte[] b, int off, int len) {
            lock.lock();
            try {
                byte[] more = Arrays.copyOf(data, data.length + len);
                System.arraycopy(b, off, more, data.length, len);
                data = more;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** Waits for at least {@code n} bytes and takes all there are. */
        byte[] takeAtLeast(int n) throws InterruptedException {
            lock.lock();
            try {
                while (data.length < n) {
                    changed.await();
                }
                byte[] all = data;
                data = new byte[0];
                return all;
            } finally {
                lock.unlock();
            }
        }

        /** Waits until a reader has taken everything. */
        void awaitEmpty() throws InterruptedException {
            lock.lock();
            try {
                while (data.length > 0) {
                    changed.await();
                }
            } finally {
                lock.unlock();
            }
        }

        int size() {
            lock.lock();
            try {
                return data.length;
            } finally {
                lock.unlock();
            }
        }

        void close() {
            lock.lock();
            try {
                closed = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private final Pipe in;
    private final Pipe out;
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile boolean interrupted;

    MemoryWire(Pipe in, Pipe out) {
        super(new InetSocketAddress("127.0.0.1", 40000), new InetSocketAddress("127.0.0.1", 6432), false, 0);
        this.in = in;
        this.out = out;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        in.lock.lock();
        try {
            while (in.data.length == 0) {
                if (interrupted) {
                    interrupted = false;
                    throw new ReadInterruptedException();
                }
                if (in.closed) {
                    return -1;
                }
                in.changed.awaitUninterruptibly();
            }
            int n = Math.min(len, in.data.length);
            System.arraycopy(in.data, 0, b, off, n);
            in.data = Arrays.copyOfRange(in.data, n, in.data.length);
            in.changed.signalAll();
            return n;
        } finally {
            in.lock.unlock();
        }
    }

    @Override
    public boolean interruptRead() {
        in.lock.lock();
        try {
            interrupted = true;
            in.changed.signalAll();
            return true;
        } finally {
            in.lock.unlock();
        }
    }

    @Override
    public boolean wouldWait() {
        return in.size() == 0;
    }

    @Override
    public void awaitReadable() {
        in.lock.lock();
        try {
            while (in.data.length == 0 && !in.closed) {
                in.changed.awaitUninterruptibly();
            }
        } finally {
            in.lock.unlock();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        writeLock.lock();
        try {
            if (out.closed) {
                throw new SocketException("closed");
            }
            out.put(b, off, len);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        in.close();
        out.close();
    }

    @Override
    public boolean isOpen() {
        return !out.closed;
    }

    @Override
    public SocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 40000);
    }

    @Override
    public void tune(Values general) {
    }

    @Override
    public boolean peerIsSameUser() {
        return false;
    }
}
