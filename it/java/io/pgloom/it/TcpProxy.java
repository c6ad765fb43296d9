package io.pgloom.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder on 127.0.0.1 in front of a real server (PostgreSQL), for faults a real server
 * does not make on demand. Connections are piped both ways byte for byte, until
 * {@link #blackhole(boolean)} is switched on: from then on new connections are accepted and then
 * ignored, never read, never answered, never closed (a server that hangs during login, or a
 * cancel request that PostgreSQL never acknowledges), until {@link #releaseHeld()} forwards them
 * after all (a slow server). Connections piped earlier keep working.
 *
 * <p>Thread-safe; one virtual thread accepts, two pipe each forwarded connection.
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Queue<Socket> holding = new ConcurrentLinkedQueue<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger held = new AtomicInteger();
    private volatile boolean blackhole;
    private volatile boolean closed;

    private TcpProxy(ServerSocket listener, InetSocketAddress target) {
        this.listener = listener;
        this.target = target;
    }

    /** A proxy forwarding to {@code host:port}, accepting at once. */
    static TcpProxy to(String host, int port) {
        try {
            ServerSocket listener = new ServerSocket(0, 100, InetAddress.getByName("127.0.0.1"));
            TcpProxy proxy = new TcpProxy(listener, new InetSocketAddress(host, port));
            Thread.ofVirtual().name("tcp-proxy-accept").start(proxy::acceptLoop);
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The port to point pgloom at (host 127.0.0.1). */
    int port() {
        return listener.getLocalPort();
    }

    /** From now on, new connections are held silently (true) or forwarded (false). */
    void blackhole(boolean on) {
        blackhole = on;
    }

    /**
     * Forwards the connections held so far after all (a slow server rather than a dead one):
     * whatever the client wrote meanwhile reaches the server now. New connections are still held
     * while the blackhole is on.
     */
    void releaseHeld() {
        Socket s;
        while ((s = holding.poll()) != null) {
            Socket client = s;
            Thread.ofVirtual().name("tcp-proxy-conn").start(() -> forward(client));
        }
    }

    /** How many connections were accepted so far. */
    int accepted() {
        return accepted.get();
    }

    /** How many connections were accepted while the blackhole was on. */
    int held() {
        return held.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            sockets.add(client);
            if (blackhole) {
                held.incrementAndGet();
                holding.add(client);
                continue;
            }
            Thread.ofVirtual().name("tcp-proxy-conn").start(() -> forward(client));
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
            closeQuietly(client);
            closeQuietly(upstream);
            return;
        }
        Thread.ofVirtual().name("tcp-proxy-up").start(() -> pipe(client, upstream));
        pipe(upstream, client);
    }

    /** Copies from one socket to the other until EOF or an error, then closes both. */
    private void pipe(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side went away: the other goes too
        } finally {
            closeQuietly(from);
            closeQuietly(to);
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

    /** Stops accepting and closes every connection, held or forwarded. */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing a test socket; nothing to do
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }
}
