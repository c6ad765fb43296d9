package io.pgloom.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One socket. Only the owning connection's virtual thread reads it; any thread may write whole
 * messages through {@link #write}, under a short write lock that is never held during a read or
 * together with another lock. {@link #close} may be called from any thread and wakes a blocked
 * reader (its read throws or returns -1).
 */
public final class Wire {
    private final SocketChannel channel;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final boolean unix;
    private final String remoteHost;
    private final int remotePort;
    private final String localHost;
    private final int localPort;

    /**
     * @param unixPort for unix-domain sockets, the port to report (PgBouncer shows the listen or
     *     database port for them)
     */
    public Wire(SocketChannel channel, int unixPort) throws IOException {
        this.channel = channel;
        SocketAddress remote = channel.getRemoteAddress();
        SocketAddress local = channel.getLocalAddress();
        this.unix = remote instanceof UnixDomainSocketAddress || local instanceof UnixDomainSocketAddress;
        if (remote instanceof InetSocketAddress inet) {
            this.remoteHost = hostText(inet);
            this.remotePort = inet.getPort();
        } else {
            this.remoteHost = "unix";
            this.remotePort = unixPort;
        }
        if (local instanceof InetSocketAddress inet) {
            this.localHost = hostText(inet);
            this.localPort = inet.getPort();
        } else {
            this.localHost = "unix";
            this.localPort = unixPort;
        }
    }

    private static String hostText(InetSocketAddress a) {
        if (a.getAddress() == null) {
            return a.getHostString();
        }
        String h = a.getAddress().getHostAddress();
        if (h.startsWith("::ffff:") && h.indexOf('.') > 0) {
            return h.substring(7);
        }
        int pct = h.indexOf('%');
        return pct > 0 ? h.substring(0, pct) : h;
    }

    /** Owner thread only. Blocks until at least one byte arrives; -1 at end of stream. */
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    /** Writes all of {@code src}, blocking while the peer does not read. */
    public void write(ByteBuffer src) throws IOException {
        writeLock.lock();
        try {
            while (src.hasRemaining()) {
                channel.write(src);
            }
        } finally {
            writeLock.unlock();
        }
    }

    public void write(byte[] bytes, int offset, int length) throws IOException {
        write(ByteBuffer.wrap(bytes, offset, length));
    }

    public void write(byte[] bytes) throws IOException {
        write(ByteBuffer.wrap(bytes));
    }

    /** Closes the socket; a blocked reader wakes up. Idempotent, never throws. */
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a socket that is already broken: nothing left to do
        }
    }

    public boolean isOpen() {
        return channel.isOpen();
    }

    public boolean isUnix() {
        return unix;
    }

    public String remoteHost() {
        return remoteHost;
    }

    public int remotePort() {
        return remotePort;
    }

    public String localHost() {
        return localHost;
    }

    public int localPort() {
        return localPort;
    }

    public SocketChannel channel() {
        return channel;
    }

    /** {@code host:port}, with IPv6 hosts in brackets, as PgBouncer prints addresses. */
    public String remoteText() {
        return (remoteHost.indexOf(':') >= 0 ? "[" + remoteHost + "]" : remoteHost) + ":" + remotePort;
    }

    public String localText() {
        return (localHost.indexOf(':') >= 0 ? "[" + localHost + "]" : localHost) + ":" + localPort;
    }
}
