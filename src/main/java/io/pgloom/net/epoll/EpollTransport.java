package io.pgloom.net.epoll;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.pgloom.net.Transport;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

/**
 * The native Linux transport: raw non-blocking sockets made with libc calls through
 * {@code java.lang.foreign}, one edge-triggered epoll poller, and virtual threads that do plain
 * blocking-style reads (parking only when a socket is drained). Descriptors are plain ints,
 * which also makes handing sockets to another process (takeover) direct.
 */
public final class EpollTransport implements Transport {
    private static volatile EpollTransport instance;
    private static volatile Boolean available;

    private final Pollers pollers;
    private final int ownUid;

    private EpollTransport() throws IOException {
        NativeIo.init();
        this.pollers = new Pollers(pollerCount());
        this.ownUid = NativeIo.getuid();
    }

    /** Whether this platform can run the transport (Linux on x86_64 or aarch64, native access allowed). */
    public static boolean available() {
        Boolean a = available;
        if (a == null) {
            String os = System.getProperty("os.name", "");
            String arch = System.getProperty("os.arch", "");
            boolean ok = os.equals("Linux") && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"));
            if (ok) {
                try {
                    get();
                } catch (RuntimeException | LinkageError e) {
                    ok = false;
                }
            }
            available = a = ok;
        }
        return a;
    }

    public static synchronized EpollTransport get() {
        if (instance == null) {
            try {
                instance = new EpollTransport();
            } catch (IOException e) {
                throw new IllegalStateException("epoll transport unavailable: " + e.getMessage(), e);
            }
        }
        return instance;
    }

    static int ownUid() {
        return get().ownUid;
    }

    private static volatile int requestedPollers;

    /** Sets poller_threads (0: one per two processors) for the transport, if it is not made yet. */
    public static void requestPollers(int n) {
        requestedPollers = n;
    }

    /**
     * How many pollers: poller_threads, else one per two processors, at least one. The pollers
     * run connections' work inline; a pooler usually shares its machine with PostgreSQL or the
     * application, and a poller that is not kept busy costs more in cross-CPU wake-ups than it
     * gains (measured on 2 cores: one poller 37-40 µs CPU per transaction at 1000 clients, two
     * 46-50 µs, at higher TPS).
     */
    static int pollerCount() {
        int n = requestedPollers;
        return n > 0 ? n : defaultPollers(Runtime.getRuntime().availableProcessors());
    }

    static int defaultPollers(int processors) {
        return Math.max(1, (processors + 1) / 2);
    }

    Pollers pollers() {
        return pollers;
    }

    @Override
    public String name() {
        return "epoll";
    }

    @Override
    public Wire connect(SocketAddress address, int unixPort) throws IOException {
        boolean unix = address instanceof UnixDomainSocketAddress;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = NativeIo.newErrno(a);
            int fd = NativeIo.socket(e, SockAddr.family(address), Linux.SOCK_STREAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
            if (fd < 0) {
                throw new SocketException("socket: " + Linux.strerror(NativeIo.errno(e)));
            }
            Poller poller = pollers.next();
            EpollWire wire = new EpollWire(fd, poller, address, null, unix, unixPort);
            boolean ok = false;
            try {
                poller.register(fd, wire, e);
                MemorySegment sa = SockAddr.encode(a, address);
                if (NativeIo.connect(e, fd, sa, (int) sa.byteSize()) != 0) {
                    int err = NativeIo.errno(e);
                    if (err != Linux.EINPROGRESS) {
                        throw new ConnectException(Linux.strerror(err));
                    }
                    wire.awaitConnected();
                    MemorySegment out = a.allocate(JAVA_INT);
                    NativeIo.getsockopt(e, fd, Linux.SOL_SOCKET, Linux.SO_ERROR, out);
                    int soError = out.get(JAVA_INT, 0);
                    if (soError != 0) {
                        throw new ConnectException(Linux.strerror(soError));
                    }
                }
                wire.connected(localAddress(fd, a, e));
                ok = true;
                return wire;
            } finally {
                if (!ok) {
                    wire.close();
                }
            }
        }
    }

    private static SocketAddress localAddress(int fd, Arena a, MemorySegment e) {
        MemorySegment sa = a.allocate(SockAddr.STORAGE);
        MemorySegment len = a.allocate(JAVA_INT);
        len.set(JAVA_INT, 0, SockAddr.STORAGE);
        if (NativeIo.getsockname(e, fd, sa, len) != 0) {
            return null;
        }
        return SockAddr.decode(sa, len.get(JAVA_INT, 0));
    }

    @Override
    public Acceptor listenTcp(String host, int port, int backlog, boolean reusePort) throws IOException {
        InetSocketAddress address;
        if (host.equals("*")) {
            address = new InetSocketAddress(InetAddress.getByName("::"), port);
        } else {
            address = new InetSocketAddress(InetAddress.getByName(host), port);
        }
        try {
            return listen(address, backlog, reusePort, host.equals("*"));
        } catch (IOException ex) {
            if (host.equals("*")) {
                return listen(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port), backlog, reusePort, true);
            }
            throw ex;
        }
    }

    @Override
    public Acceptor listenUnix(Path path, int backlog) throws IOException {
        return listen(UnixDomainSocketAddress.of(path), backlog, false, false);
    }

    private Acceptor listen(SocketAddress address, int backlog, boolean reusePort, boolean wildcard) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = NativeIo.newErrno(a);
            int fd = NativeIo.socket(e, SockAddr.family(address), Linux.SOCK_STREAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
            if (fd < 0) {
                throw new SocketException("socket: " + Linux.strerror(NativeIo.errno(e)));
            }
            boolean ok = false;
            try {
                if (!(address instanceof UnixDomainSocketAddress)) {
                    NativeIo.setsockopt(e, fd, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1);
                    if (reusePort) {
                        NativeIo.setsockopt(e, fd, Linux.SOL_SOCKET, Linux.SO_REUSEPORT, 1);
                    }
                    if (((InetSocketAddress) address).getAddress() instanceof Inet6Address && wildcard) {
                        NativeIo.setsockopt(e, fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, 0);
                    }
                }
                MemorySegment sa = SockAddr.encode(a, address);
                if (NativeIo.bind(e, fd, sa, (int) sa.byteSize()) != 0) {
                    throw new SocketException("bind " + address + ": " + Linux.strerror(NativeIo.errno(e)));
                }
                if (NativeIo.listen(e, fd, backlog) != 0) {
                    throw new SocketException("listen: " + Linux.strerror(NativeIo.errno(e)));
                }
                EpollAcceptor acceptor = new EpollAcceptor(fd, pollers, localAddress(fd, a, e), wildcard);
                pollers.first().register(fd, acceptor, e);
                ok = true;
                return acceptor;
            } finally {
                if (!ok) {
                    NativeIo.close(fd);
                }
            }
        }
    }

    /** Adopts a listening socket received from another process (takeover). */
    public Acceptor adoptListener(int fd, boolean wildcard) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = NativeIo.newErrno(a);
            EpollAcceptor acceptor = new EpollAcceptor(fd, pollers, localAddress(fd, a, e), wildcard);
            pollers.first().register(fd, acceptor, e);
            return acceptor;
        }
    }

    /** Adopts a connected socket received from another process (takeover). */
    public Wire adoptSocket(int fd, int unixPort) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = NativeIo.newErrno(a);
            SocketAddress local = localAddress(fd, a, e);
            MemorySegment sa = a.allocate(SockAddr.STORAGE);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, SockAddr.STORAGE);
            SocketAddress remote = NativeIo.getpeername(e, fd, sa, len) == 0 ? SockAddr.decode(sa, len.get(JAVA_INT, 0)) : null;
            boolean unix = local instanceof UnixDomainSocketAddress || remote instanceof UnixDomainSocketAddress
                    || (local == null && remote == null);
            int flags = NativeIo.fcntl(e, fd, Linux.F_GETFL, 0);
            if (flags >= 0 && (flags & Linux.O_NONBLOCK) == 0) {
                NativeIo.fcntl(e, fd, Linux.F_SETFL, flags | Linux.O_NONBLOCK);
            }
            Poller poller = pollers.next();
            EpollWire w = new EpollWire(fd, poller, remote, local, unix, unixPort);
            poller.register(fd, w, e);
            return w;
        }
    }
}
