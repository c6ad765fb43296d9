package io.pgloom.net;

import io.pgloom.config.Values;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * One socket, whatever the transport. Only the owning connection's virtual thread reads it; any
 * thread may write whole messages through {@link #write}, under a short write lock that is never
 * held during a read or together with another lock. {@link #close} may be called from any thread
 * and wakes a blocked reader (its read throws or returns -1).
 */
public abstract class Wire {
    private final boolean unix;
    private final String remoteHost;
    private final int remotePort;
    private final int unixPort;
    private String localHost;
    private int localPort;

    /**
     * @param unixPort for unix-domain sockets, the port to report (PgBouncer shows the listen or
     *     database port for them)
     */
    protected Wire(SocketAddress remote, SocketAddress local, boolean unix, int unixPort) {
        this.unix = unix;
        this.unixPort = unixPort;
        if (remote instanceof InetSocketAddress inet) {
            this.remoteHost = hostText(inet);
            this.remotePort = inet.getPort();
        } else {
            this.remoteHost = "unix";
            this.remotePort = unixPort;
        }
        setLocal(local);
    }

    /** Records the local address once it is known (after a connect); before the wire is shared. */
    protected final void setLocal(SocketAddress local) {
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
    public abstract int read(byte[] b, int off, int len) throws IOException;

    /** Writes all the bytes, blocking while the peer does not read. Any thread. */
    public abstract void write(byte[] b, int off, int len) throws IOException;

    /** Writes the remaining bytes of a heap buffer. */
    public final void write(ByteBuffer heap) throws IOException {
        write(heap.array(), heap.arrayOffset() + heap.position(), heap.remaining());
        heap.position(heap.limit());
    }

    public final void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    /**
     * Owner thread only: blocks until the socket is readable without holding a buffer, so an idle
     * connection can give its buffer back. Returns false when the transport cannot wait that way
     * (then the caller reads into a buffer, which blocks).
     */
    public boolean awaitReadable() throws IOException {
        return false;
    }

    /**
     * Wakes the owner's blocked read without consuming anything: that read (or the next one, if
     * none is blocked) throws {@link ReadInterruptedException}. Any thread. Transports that
     * cannot do this return false.
     */
    public boolean interruptRead() {
        return false;
    }

    /** Closes the socket; a blocked reader wakes up. Idempotent, never throws, any thread. */
    public abstract void close();

    public abstract boolean isOpen();

    /** The peer's address, for opening another connection to it (cancel requests). */
    public abstract SocketAddress remoteAddress();

    /** Applies the TCP settings of {@code [pgloom]} (no-op on unix sockets). */
    public abstract void tune(Values general) throws IOException;

    /** Whether the peer of a unix socket runs as the same OS user as this process (SO_PEERCRED). */
    public abstract boolean peerIsSameUser();

    /** The peer's process id on a unix socket, or -1. */
    public int peerPid() {
        return -1;
    }

    /** The file descriptor, or -1 where the transport hides it. */
    public int fd() {
        return -1;
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

    /** {@code host:port}, with IPv6 hosts in brackets, as PgBouncer prints addresses. */
    public String remoteText() {
        return (remoteHost.indexOf(':') >= 0 ? "[" + remoteHost + "]" : remoteHost) + ":" + remotePort;
    }

    public String localText() {
        return (localHost.indexOf(':') >= 0 ? "[" + localHost + "]" : localHost) + ":" + localPort;
    }
}
