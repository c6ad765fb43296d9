package io.pgloom.net;

import io.pgloom.config.Values;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One socket, whatever the transport. Only the owning connection's virtual thread reads it; any
 * thread may write whole messages through {@link #write}, under a short write lock that is never
 * held during a read or together with another lock. {@link #close} may be called from any thread
 * and wakes a blocked reader (its read throws or returns -1).
 */
public abstract class Wire implements io.pgloom.proto.ByteSource {
    private final boolean unix;
    private final int unixPort;
    private final SocketAddress remote;
    private SocketAddress local;

    /**
     * @param unixPort for unix-domain sockets, the port to report (PgBouncer shows the listen or
     *     database port for them)
     */
    protected Wire(SocketAddress remote, SocketAddress local, boolean unix, int unixPort) {
        this.unix = unix;
        this.unixPort = unixPort;
        this.remote = remote;
        this.local = local;
    }

    /** Records the local address once it is known (after a connect); before the wire is shared. */
    protected final void setLocal(SocketAddress local) {
        this.local = local;
    }

    private static String hostText(SocketAddress a) {
        if (!(a instanceof InetSocketAddress inet)) {
            return "unix";
        }
        if (inet.getAddress() == null) {
            return inet.getHostString();
        }
        String h = inet.getAddress().getHostAddress();
        if (h.startsWith("::ffff:") && h.indexOf('.') > 0) {
            return h.substring(7);
        }
        int pct = h.indexOf('%');
        return pct > 0 ? h.substring(0, pct) : h;
    }

    /** The peer's address as the socket reported it. */
    protected final SocketAddress remote() {
        return remote;
    }

    private int portOf(SocketAddress a) {
        return a instanceof InetSocketAddress inet ? inet.getPort() : unixPort;
    }

    /** Owner thread only. Blocks until at least one byte arrives; -1 at end of stream. */
    @Override
    public abstract int read(byte[] b, int off, int len) throws IOException;

    /** Writes all the bytes, blocking while the peer does not read. Any thread. */
    public abstract void write(byte[] b, int off, int len) throws IOException;

    /** Writes the remaining bytes of a heap buffer. */
    public final void write(ByteBuffer heap) throws IOException {
        write(heap.array(), heap.arrayOffset() + heap.position(), heap.remaining());
        heap.position(heap.limit());
    }

    /**
     * Writes what can be written without waiting and returns how much; transports that cannot
     * write that way write everything (they never serve inline reads, where this is used).
     */
    public int tryWrite(byte[] b, int off, int len) throws IOException {
        write(b, off, len);
        return len;
    }

    public final void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    /** How long {@link #writeBeforeClose} may wait for a write in progress or for the peer. */
    public static final Duration GOODBYE_GRACE = Duration.ofMillis(200);

    /**
     * Writes a last message (an ErrorResponse, a Terminate) just before a close, from any thread,
     * without waiting on a peer that stopped reading: a close must not hang on the very peer it
     * gives up on, and the janitor, which closes for timeouts, must never hang at all. The bytes
     * are dropped when they cannot go out within {@link #GOODBYE_GRACE} (another write blocked
     * on a full socket, or no room for them), as PgBouncer's non-blocking send drops them. This
     * default writes on a helper virtual thread and waits that long for it; a write still blocked
     * then ends when the caller closes the wire, as it does next.
     *
     * @return whether the bytes went out
     */
    public boolean writeBeforeClose(byte[] b) {
        AtomicBoolean sent = new AtomicBoolean();
        Thread writer = Thread.ofVirtual().name("goodbye").start(() -> {
            try {
                write(b, 0, b.length);
                sent.set(true);
            } catch (IOException e) {
                // the peer is gone: nothing to tell it
            }
        });
        try {
            writer.join(GOODBYE_GRACE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return sent.get();
    }

    /**
     * Asks the close that follows to keep the socket half-open for up to {@code nanos}, reading
     * and dropping what the peer still sends, so that the last message is not lost to a reset
     * (client_close_linger), unless {@code max} sockets linger already. Transports that cannot
     * linger close at once.
     */
    public void lingerOnClose(long nanos, int max) {
    }

    /** {@link #writeBeforeClose(byte[])} for the remaining bytes of a heap buffer. */
    public final boolean writeBeforeClose(ByteBuffer heap) {
        byte[] b = new byte[heap.remaining()];
        heap.get(b);
        return writeBeforeClose(b);
    }

    /**
     * Writes the bytes, blocking while the peer does not read, but gives up when, woken while
     * blocked, {@code giveUp} says so; returns how many bytes were written (all, unless it gave
     * up). The writer's thread is woken with {@link java.util.concurrent.locks.LockSupport#unpark}.
     * Any thread. Transports that cannot give up write everything.
     */
    public int write(byte[] b, int off, int len, java.util.function.BooleanSupplier giveUp) throws IOException {
        write(b, off, len);
        return len;
    }

    /**
     * Writes the bytes only if that needs no waiting: neither for another writer nor for the peer
     * to read. Returns whether all were written (if not, some may have been). For the last words
     * before a close (ErrorResponse, Terminate), which must never block the closing thread. Any
     * thread. Transports that cannot tell write as {@link #write(byte[], int, int)} does.
     */
    public boolean writeIfReady(byte[] b) throws IOException {
        write(b, 0, b.length);
        return true;
    }

    /**
     * Owner thread only: blocks until the socket is readable without holding a buffer, so an idle
     * connection can give its buffer back. Returns false when the transport cannot wait that way
     * (then the caller reads into a buffer, which blocks).
     */
    @Override
    public void awaitReadable() throws IOException {
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

    /**
     * The OS user name of the process at the other end of a unix socket (SO_PEERCRED uid looked
     * up in the user database), for {@code peer} authentication; empty on TCP or when unknown.
     */
    public Optional<String> peerUserName() {
        return Optional.empty();
    }

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

    /** The peer's IP address, or null on a unix socket (HBA address matching). */
    public InetAddress remoteInetAddress() {
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    public String remoteHost() {
        return hostText(remote);
    }

    public int remotePort() {
        return portOf(remote);
    }

    public String localHost() {
        return hostText(local);
    }

    public int localPort() {
        return portOf(local);
    }

    /** {@code host:port}, with IPv6 hosts in brackets, as PgBouncer prints addresses. */
    public String remoteText() {
        String h = remoteHost();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + remotePort();
    }

    public String localText() {
        String h = localHost();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + localPort();
    }
}
