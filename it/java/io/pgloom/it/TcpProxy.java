package io.pgloom.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fault-injecting TCP forwarder on 127.0.0.1, placed between pgloom and PostgreSQL or between a
 * client and pgloom, for the faults real peers do not make on demand (PgBouncer's
 * {@code drop_traffic}/{@code reject_traffic}/{@code add_latency}, done in user space so that it
 * needs no privileges and touches only its own port).
 *
 * <p><b>New connections</b> are forwarded, or by {@link #onAccept(Accept)} held (accepted, then never
 * read, answered or closed: a server that hangs during login), reset at once, or refused (the
 * listening socket is closed until another mode opens it again on the same port, which is taken
 * below the ephemeral range so that no outgoing connection takes it meanwhile). {@link #blackhole(boolean)} and {@link #releaseHeld()} are the short forms
 * for holding. <b>Forwarded connections</b> ({@link Link}s, see {@link #links()}) take faults one by
 * one or all at once, per direction ({@link Direction#UP} is from the side that connected towards
 * the target):
 * <ul>
 *   <li>{@link Link#delay delay}: each chunk read is held that long before it is forwarded (one
 *       chunk at a time, so a stream is also slowed to about 16 KiB per delay);</li>
 *   <li>{@link Link#drop drop}: nothing is forwarded and nothing more is read; what the peer sent
 *       waits in the kernel's buffers (the proxy's receive buffer is 128 KiB), and once they are
 *       full the peer's writes block (a zero window) as on a network that stopped delivering
 *       packets; {@link Link#resume resume}
 *       delivers it all;</li>
 *   <li>{@link Link#blackhole blackhole}: bytes are read and thrown away; the peer's writes never
 *       block and nothing ever answers; after resume only new bytes are forwarded;</li>
 *   <li>{@link Link#cut cut}: both sides closed, with a FIN ({@link Cut#FIN}) or a reset
 *       ({@link Cut#RST}, SO_LINGER 0).</li>
 * </ul>
 * A user-space proxy cannot fake everything: its own kernel acknowledges whatever reaches it, so
 * a TCP keepalive probe is always answered, and {@code tcp_user_timeout} fires only when the
 * peer has unacknowledged data, i.e. when a {@link Link#drop dropped} direction has filled the
 * buffers and the peer keeps writing.
 *
 * <p>Thread-safe; one virtual thread accepts, two pump each forwarded connection (one per
 * direction). Faults take effect at the next chunk; a chunk already read when a drop starts is
 * held, not lost.
 */
final class TcpProxy implements AutoCloseable {

    /** A direction of a forwarded connection. */
    enum Direction {
        /** From the side that connected to the proxy towards the target. */
        UP,
        /** From the target back to the side that connected. */
        DOWN,
        BOTH;

        boolean includes(Direction d) {
            return this == BOTH || this == d;
        }
    }

    /** What happens to a new connection. */
    enum Accept {
        /** Connect to the target and pipe both ways. */
        FORWARD,
        /** Accept it and keep it open and silent until {@link #releaseHeld()} (or close). */
        HOLD,
        /** Accept it and reset it at once (SO_LINGER 0): the connecting side reads ECONNRESET. */
        RESET,
        /** Nobody listens: the port is closed, connecting gets ECONNREFUSED. */
        REFUSE
    }

    /** How {@link Link#cut} closes a connection. */
    enum Cut {
        /** An orderly close: each side reads EOF. */
        FIN,
        /** A reset: each side gets ECONNRESET. */
        RST
    }

    /** What a direction of a link does with the bytes it reads. */
    private enum Flow {
        FORWARD, DROP, BLACKHOLE
    }

    private static final int CHUNK = 16 * 1024;
    /**
     * The receive buffer of accepted sockets: small, so that a dropped direction blocks its
     * sender after a few hundred KiB rather than after the tens of MiB loopback autotuning allows.
     */
    private static final int RECEIVE_BUFFER = 128 * 1024;
    /** Listen ports are taken from here: below Linux's ephemeral range (32768+), as pgtmp does. */
    private static final int PORT_FROM = 20_000;
    private static final int PORT_TO = 32_000;

    private final ReentrantLock acceptLock = new ReentrantLock();
    /** Guarded by acceptLock for replacement; null while refusing. */
    private volatile ServerSocket listener;
    private final int port;
    private final InetSocketAddress target;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Queue<Socket> holding = new ConcurrentLinkedQueue<>();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger reset = new AtomicInteger();
    private final AtomicInteger linkIds = new AtomicInteger();
    private volatile Accept acceptMode = Accept.FORWARD;
    private volatile boolean closed;

    private TcpProxy(ServerSocket listener, InetSocketAddress target) {
        this.listener = listener;
        this.port = listener.getLocalPort();
        this.target = target;
    }

    /**
     * A proxy forwarding to {@code host:port}, accepting at once.
     *
     * @throws IllegalArgumentException when {@code host} is not a loopback address: fault tests
     *     never send anything beyond this machine
     */
    static TcpProxy to(String host, int port) {
        InetSocketAddress target = new InetSocketAddress(host, port);
        if (target.isUnresolved() || !target.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("the fault proxy forwards to loopback addresses only, not " + target);
        }
        ServerSocket listener = null;
        IOException last = null;
        for (int attempt = 0; attempt < 50 && listener == null; attempt++) {
            int p = PORT_FROM + java.util.concurrent.ThreadLocalRandom.current().nextInt(PORT_TO - PORT_FROM);
            try {
                listener = listen(p);
            } catch (IOException e) {
                last = e;
            }
        }
        if (listener == null) {
            throw new UncheckedIOException("no free port for the proxy in " + PORT_FROM + ".." + PORT_TO, last);
        }
        TcpProxy proxy = new TcpProxy(listener, target);
        proxy.startAccepting(listener);
        return proxy;
    }

    private static ServerSocket listen(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.setReceiveBufferSize(RECEIVE_BUFFER);
        try {
            s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 1000);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** The port to point pgloom (or a client) at (host 127.0.0.1); the same in every mode. */
    int port() {
        return port;
    }

    // *** New connections ***

    /**
     * What to do with new connections from now on. Leaving {@link Accept#REFUSE} listens again on
     * the same port.
     *
     * @throws AssertionError when the port cannot be listened on again (someone else took it)
     */
    void onAccept(Accept mode) {
        acceptLock.lock();
        try {
            Accept old = acceptMode;
            acceptMode = mode;
            if (mode == Accept.REFUSE && old != Accept.REFUSE) {
                ServerSocket l = listener;
                listener = null;
                closeQuietly(l);
            } else if (mode != Accept.REFUSE && old == Accept.REFUSE && !closed) {
                try {
                    ServerSocket l = listen(port);
                    listener = l;
                    startAccepting(l);
                } catch (IOException e) {
                    throw new AssertionError("the proxy cannot listen on port " + port + " again: " + e, e);
                }
            }
        } finally {
            acceptLock.unlock();
        }
    }

    /** From now on, new connections are held silently (true) or forwarded (false). */
    void blackhole(boolean on) {
        onAccept(on ? Accept.HOLD : Accept.FORWARD);
    }

    /**
     * Forwards the connections held so far after all (a slow server rather than a dead one):
     * whatever the client wrote meanwhile reaches the server now. New connections are still held
     * while {@link Accept#HOLD} is on.
     */
    void releaseHeld() {
        Socket s;
        while ((s = holding.poll()) != null) {
            Socket client = s;
            Thread.ofVirtual().name("tcp-proxy-conn").start(() -> forward(client));
        }
    }

    /** How many connections were accepted so far (forwarded, held or refused). */
    int accepted() {
        return accepted.get();
    }

    /** How many connections were accepted while {@link Accept#HOLD} was on. */
    int held() {
        return held.get();
    }

    /** How many connections were reset at once under {@link Accept#RESET}. */
    int reset() {
        return reset.get();
    }

    // *** Forwarded connections ***

    /** The forwarded connections open now, oldest first. */
    List<Link> links() {
        List<Link> open = new ArrayList<>(links);
        open.sort((a, b) -> Integer.compare(a.id, b.id));
        return open;
    }

    /**
     * The open link whose connection to the target has local port {@code port}: for a proxy in
     * front of PostgreSQL, the link of the backend whose {@code pg_stat_activity.client_port} it is.
     *
     * @throws AssertionError when there is none
     */
    Link linkByTargetSidePort(int port) {
        for (Link l : links) {
            if (l.upstream.getLocalPort() == port) {
                return l;
            }
        }
        throw new AssertionError("no open link with local port " + port + " towards the target; links: " + links());
    }

    /**
     * The open link accepted from local port {@code port} of the connecting side: for a proxy in
     * front of pgloom, the link of the client socket with that local port.
     *
     * @throws AssertionError when there is none
     */
    Link linkByClientPort(int port) {
        for (Link l : links) {
            if (l.downstream.getPort() == port) {
                return l;
            }
        }
        throw new AssertionError("no open link from client port " + port + "; links: " + links());
    }

    /** {@link Link#delay} on every open link. */
    void delayAll(Direction d, Duration delay) {
        links.forEach(l -> l.delay(d, delay));
    }

    /** {@link Link#drop} on every open link. */
    void dropAll(Direction d) {
        links.forEach(l -> l.drop(d));
    }

    /** {@link Link#blackhole} on every open link. */
    void blackholeAll(Direction d) {
        links.forEach(l -> l.blackhole(d));
    }

    /** {@link Link#resume} on every open link. */
    void resumeAll() {
        links.forEach(Link::resume);
    }

    /** {@link Link#cut} on every open link. */
    void cutAll(Cut how) {
        links.forEach(l -> l.cut(how));
    }

    /**
     * One forwarded connection: the socket accepted from the connecting side ("downstream") and
     * the one opened to the target ("upstream"), with the faults of each direction.
     */
    final class Link {

        private final int id;
        private final Socket downstream;
        private final Socket upstream;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        /** Per direction, indexed by {@link Direction#ordinal()} (UP, DOWN); guarded by lock for waits. */
        private final Flow[] flow = {Flow.FORWARD, Flow.FORWARD};
        private final long[] delayNanos = new long[2];
        private final AtomicLong[] bytes = {new AtomicLong(), new AtomicLong()};
        private final AtomicBoolean open = new AtomicBoolean(true);

        private Link(Socket downstream, Socket upstream) {
            this.id = linkIds.incrementAndGet();
            this.downstream = downstream;
            this.upstream = upstream;
        }

        int id() {
            return id;
        }

        /** The connecting side's port (for a proxy in front of pgloom: the client's local port). */
        int clientPort() {
            return downstream.getPort();
        }

        /** The local port of the connection to the target (PostgreSQL's {@code client_port}). */
        int targetSidePort() {
            return upstream.getLocalPort();
        }

        boolean isOpen() {
            return open.get();
        }

        /** Bytes forwarded in direction {@code d} (UP or DOWN) so far. */
        long bytes(Direction d) {
            return bytes[index(d)].get();
        }

        /** Holds each chunk of direction {@code d} for {@code delay} before forwarding it (zero: no delay). */
        void delay(Direction d, Duration delay) {
            set(d, null, delay.toNanos());
        }

        /** Stops forwarding direction {@code d}, keeping every byte (see the class comment). */
        void drop(Direction d) {
            set(d, Flow.DROP, -1);
        }

        /** Reads and discards direction {@code d} (see the class comment). */
        void blackhole(Direction d) {
            set(d, Flow.BLACKHOLE, -1);
        }

        /** Forwards both directions again, without delay; what a drop kept is delivered now. */
        void resume() {
            set(Direction.BOTH, Flow.FORWARD, 0);
        }

        /** Closes both sides now, with a FIN or a reset. */
        void cut(Cut how) {
            if (how == Cut.RST) {
                reset(downstream);
                reset(upstream);
            } else {
                // A FIN to each side; keep reading (and discarding) until they close in turn, so
                // that no unread data turns the close into a reset.
                set(Direction.BOTH, Flow.BLACKHOLE, 0);
                shutdownOutput(downstream);
                shutdownOutput(upstream);
            }
        }

        private void set(Direction d, Flow f, long delay) {
            lock.lock();
            try {
                for (Direction one : new Direction[] {Direction.UP, Direction.DOWN}) {
                    if (d.includes(one)) {
                        if (f != null) {
                            flow[index(one)] = f;
                        }
                        if (delay >= 0) {
                            delayNanos[index(one)] = delay;
                        }
                    }
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        private Flow flow(int dir) {
            lock.lock();
            try {
                return flow[dir];
            } finally {
                lock.unlock();
            }
        }

        /** Waits while direction {@code dir} is dropped; returns its flow once it is not (or the link closed). */
        private Flow awaitNotDropped(int dir) {
            lock.lock();
            try {
                while (flow[dir] == Flow.DROP && open.get() && !closed) {
                    changed.awaitUninterruptibly();
                }
                return flow[dir];
            } finally {
                lock.unlock();
            }
        }

        /** Copies direction {@code dir} until EOF or an error, applying its faults; then closes the link. */
        private void pump(int dir, Socket from, Socket to) {
            byte[] buf = new byte[CHUNK];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    awaitNotDropped(dir);
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    long readAt = System.nanoTime();
                    // A drop that started while this chunk was read holds the chunk.
                    if (awaitNotDropped(dir) == Flow.BLACKHOLE || !open.get()) {
                        continue;
                    }
                    long delay;
                    lock.lock();
                    try {
                        delay = delayNanos[dir];
                    } finally {
                        lock.unlock();
                    }
                    if (delay > 0) {
                        holdUntil(readAt + delay);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                    bytes[dir].addAndGet(n);
                }
            } catch (IOException e) {
                // one side went away, or the link was cut: the other goes too
            } finally {
                close();
            }
        }

        private void holdUntil(long deadline) {
            long left;
            while ((left = deadline - System.nanoTime()) > 0) {
                LockSupport.parkNanos(left);
            }
        }

        private void close() {
            if (open.compareAndSet(true, false)) {
                links.remove(this);
                closeQuietly(downstream);
                closeQuietly(upstream);
                set(Direction.BOTH, null, -1);
            }
        }

        @Override
        public String toString() {
            return "link#" + id + "[client port " + downstream.getPort() + ", target side port "
                    + upstream.getLocalPort() + ", up " + flow(0) + ", down " + flow(1) + "]";
        }
    }

    private static int index(Direction d) {
        if (d == Direction.BOTH) {
            throw new IllegalArgumentException("one direction: UP or DOWN");
        }
        return d.ordinal();
    }

    // *** Plumbing ***

    private void startAccepting(ServerSocket l) {
        Thread.ofVirtual().name("tcp-proxy-accept").start(() -> acceptLoop(l));
    }

    private void acceptLoop(ServerSocket l) {
        while (!closed) {
            Socket client;
            try {
                client = l.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            sockets.add(client);
            switch (acceptMode) {
                case HOLD -> {
                    held.incrementAndGet();
                    holding.add(client);
                }
                case RESET, REFUSE -> {
                    // REFUSE: accepted just before the listener closed
                    reset.incrementAndGet();
                    reset(client);
                }
                case FORWARD -> Thread.ofVirtual().name("tcp-proxy-conn").start(() -> forward(client));
            }
        }
    }

    private void forward(Socket client) {
        Socket upstream = new Socket();
        sockets.add(upstream);
        try {
            upstream.connect(target, 5000);
            upstream.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
        } catch (IOException e) {
            // The target is not there: the connecting side sees a reset, as if nobody listened.
            reset(client);
            closeQuietly(upstream);
            return;
        }
        Link link = new Link(client, upstream);
        links.add(link);
        if (closed) {
            link.close();
            return;
        }
        Thread.ofVirtual().name("tcp-proxy-up-" + link.id).start(() -> link.pump(0, client, upstream));
        link.pump(1, upstream, client);
    }

    private void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException e) {
            // already closed: nothing to reset
        }
        closeQuietly(s);
    }

    private static void shutdownOutput(Socket s) {
        try {
            s.shutdownOutput();
        } catch (IOException e) {
            // already closed
        }
    }

    private void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing a test socket; nothing to do
        }
        sockets.remove(s);
    }

    private static void closeQuietly(ServerSocket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing a test socket; nothing to do
            }
        }
    }

    /** Stops accepting and closes every connection, held or forwarded. */
    @Override
    public void close() {
        acceptLock.lock();
        try {
            closed = true;
            closeQuietly(listener);
        } finally {
            acceptLock.unlock();
        }
        for (Link l : links) {
            l.close();
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }
}
