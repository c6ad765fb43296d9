package io.pgloom.net.epoll;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.pgloom.net.Transport;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.util.concurrent.locks.LockSupport;

/**
 * A listening socket of the native transport. {@link #accept} is called by one accept thread: it
 * calls {@code accept4} and parks on EAGAIN until the poller reports a new connection. The
 * native scratch (errno, addresses) is that thread's alone, so accepting allocates none.
 */
final class EpollAcceptor implements Transport.Acceptor, Poller.Target {
    private final FdHandle fd;
    private final Pollers pollers;
    private final SocketAddress local;
    private final boolean wildcard;
    /** Bound to an any-address: each connection's local address is its interface's own. */
    private final boolean anyLocal;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment errno = NativeIo.newErrno(arena);
    private final MemorySegment peer = arena.allocate(SockAddr.STORAGE);
    private final MemorySegment peerLen = arena.allocate(JAVA_INT);
    private final MemorySegment localAddr = arena.allocate(SockAddr.STORAGE);
    private final MemorySegment localLen = arena.allocate(JAVA_INT);
    private final MemorySegment event = Poller.newEvent(arena);
    /**
     * The last accepted connection's local address and remote host: the next ones usually share
     * them (one listener address, a few application hosts), so each idle client need not keep
     * its own copies (about 150 bytes). A racy cache: at worst an address is not shared.
     */
    private volatile SocketAddress lastLocal;
    private volatile java.net.InetAddress lastRemoteHost;
    private volatile boolean ready = true;
    private volatile Thread waiter;
    private volatile boolean interrupted;

    EpollAcceptor(int fd, Pollers pollers, SocketAddress local, boolean wildcard) {
        this.fd = new FdHandle(fd, () -> {
            pollers.first().forget(fd, this);
            NativeIo.close(fd);
        });
        this.pollers = pollers;
        this.local = local;
        this.wildcard = wildcard;
        this.anyLocal = local instanceof InetSocketAddress inet && inet.getAddress() != null
                && inet.getAddress().isAnyLocalAddress();
    }

    @Override
    public int fd() {
        return fd.fd;
    }

    @Override
    public void interrupt() {
        interrupted = true;
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void onEvents(boolean readable, boolean writable, boolean hangup) {
        if (readable) {
            ready = true;
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public Wire accept(int unixPort) throws IOException {
        while (true) {
            ready = false;
            if (!fd.acquire()) {
                throw new SocketException("Socket closed");
            }
            int c;
            int len;
            try {
                peerLen.set(JAVA_INT, 0, SockAddr.STORAGE);
                c = NativeIo.accept4(errno, fd.fd, peer, peerLen, Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
                len = peerLen.get(JAVA_INT, 0);
            } finally {
                fd.release();
            }
            if (c >= 0) {
                return wrap(c, len, unixPort);
            }
            int err = NativeIo.errno(errno);
            if (err == Linux.EAGAIN) {
                parkUntilReady();
            } else if (err != Linux.EINTR) {
                throw new SocketException("accept: " + Linux.strerror(err));
            }
        }
    }

    private Wire wrap(int c, int len, int unixPort) throws IOException {
        SocketAddress remote = shareHost(SockAddr.decode(peer, len));
        boolean unix = local instanceof UnixDomainSocketAddress;
        Poller poller = pollers.next();
        SocketAddress mine = anyLocal ? shareLocal(localOf(c)) : local;
        EpollWire w = new EpollWire(c, poller, remote, mine, unix, unixPort);
        w.startDrained();
        try {
            poller.register(c, w, errno, event);
        } catch (IOException e) {
            w.close();
            throw e;
        }
        return w;
    }

    private SocketAddress shareLocal(SocketAddress a) {
        SocketAddress last = lastLocal;
        if (a != null && a.equals(last)) {
            return last;
        }
        lastLocal = a;
        return a;
    }

    private SocketAddress shareHost(SocketAddress a) {
        if (!(a instanceof java.net.InetSocketAddress inet) || inet.getAddress() == null) {
            return a;
        }
        java.net.InetAddress last = lastRemoteHost;
        if (inet.getAddress().equals(last)) {
            return new java.net.InetSocketAddress(last, inet.getPort());
        }
        lastRemoteHost = inet.getAddress();
        return a;
    }

    /** The local address of a connection accepted on a wildcard address (its own interface's). */
    private SocketAddress localOf(int c) {
        localLen.set(JAVA_INT, 0, SockAddr.STORAGE);
        if (NativeIo.getsockname(errno, c, localAddr, localLen) != 0) {
            return null;
        }
        return SockAddr.decode(localAddr, localLen.get(JAVA_INT, 0));
    }

    private void parkUntilReady() throws IOException {
        waiter = Thread.currentThread();
        try {
            while (!ready) {
                if (fd.isClosed()) {
                    throw new SocketException("Socket closed");
                }
                if (interrupted) {
                    interrupted = false;
                    throw new io.pgloom.net.ReadInterruptedException();
                }
                LockSupport.park(this);
            }
        } finally {
            waiter = null;
        }
    }

    @Override
    public String boundText() {
        if (local instanceof InetSocketAddress inet) {
            String host = wildcard ? "*" : inet.getAddress().getHostAddress();
            return host + ":" + inet.getPort();
        }
        return "unix:" + local;
    }

    @Override
    public int boundPort() {
        return local instanceof InetSocketAddress inet ? inet.getPort() : -1;
    }

    @Override
    public void close() {
        if (fd.close()) {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
