package io.pgloom.net.tls;

import io.pgloom.config.Values;
import io.pgloom.net.Wire;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A {@link Wire} that speaks TLS over another, connected wire through an {@link SSLEngine}.
 *
 * <p>Threading, as for every wire: {@link #handshake} and {@link #read} run on the owner's
 * thread only; {@link #write} and {@link #close} on any thread. The read side (net and
 * plaintext buffers, unwrap) is confined to the owner and takes no lock. The write side (wrap and
 * the send buffer) is guarded by this wire's write lock, which is held while the underlying
 * wire's own write lock is taken (always in that order, never the other way). SSLEngine allows
 * one wrap and one unwrap at a time. When an unwrap leaves something to send (a TLS 1.3
 * KeyUpdate answer, an alert) the reader takes the write lock to send it. Renegotiation after the
 * handshake is refused, as PostgreSQL and PgBouncer refuse it. A reader that wants the write lock
 * waits for a writer blocked on a peer that does not read; that is the same wait as any writer's.
 *
 * <p>Direct TLS (PostgreSQL 17, no SSLRequest): the caller has already read the first bytes to
 * see {@link #looksLikeTlsHandshake}; it hands them to the constructor as a prefix that the
 * engine reads before the socket, and the handshake then insists on ALPN {@code postgresql}.
 */
public final class TlsWire extends Wire {
    /** The ALPN protocol name PostgreSQL 17 and libpq use. */
    public static final String ALPN_POSTGRESQL = "postgresql";
    /** The first byte of a TLS record carrying a handshake message (a ClientHello). */
    public static final byte TLS_HANDSHAKE_RECORD = 0x16;

    /**
     * How long {@link #close} lets close_notify go out before closing the socket anyway. Not
     * a setting: close_notify is a courtesy, and the bound only matters when the peer has
     * stopped reading, where any wait is wasted.
     */
    private static final Duration CLOSE_NOTIFY_GRACE = Duration.ofMillis(200);
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final Wire under;
    private final SSLEngine engine;
    private final boolean directTls;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final AtomicBoolean closed = new AtomicBoolean();

    // read side: owner thread only
    /** Received TLS bytes not yet unwrapped; always in read mode (position..limit). */
    private ByteBuffer netIn;
    /** Plaintext unwrapped but not yet returned; always in read mode. */
    private ByteBuffer appIn;
    /** close_notify or end of stream seen: reads return -1. */
    private boolean inputDone;
    private volatile boolean handshakeDone;

    // write side: guarded by writeLock
    /** TLS bytes being sent. */
    private ByteBuffer netOut;

    /** Wraps a wire whose first bytes the engine has not seen. */
    public TlsWire(Wire under, SSLEngine engine) {
        this(under, engine, new byte[0], 0, 0, false);
    }

    /**
     * Wraps a wire of which {@code prefix[off..off+len)} was already read; the engine reads
     * those bytes first. {@code directTls}: the client started TLS without SSLRequest, so ALPN
     * {@code postgresql} is required.
     */
    public TlsWire(Wire under, SSLEngine engine, byte[] prefix, int off, int len, boolean directTls) {
        super(under.remoteAddress(), null, under.isUnix(), under.remotePort());
        this.under = under;
        this.engine = engine;
        this.directTls = directTls;
        SSLSession s = engine.getSession();
        int packet = s.getPacketBufferSize();
        this.netIn = ByteBuffer.allocate(Math.max(packet, len));
        this.netIn.put(prefix, off, len).flip();
        this.appIn = ByteBuffer.allocate(s.getApplicationBufferSize());
        this.appIn.flip();
        this.netOut = ByteBuffer.allocate(packet);
    }

    /** For an accepted client that sent SSLRequest and got 'S'. */
    public static TlsWire accept(Wire under, TlsContext context) {
        return new TlsWire(under, context.newServerEngine());
    }

    /** For an accepted client whose first bytes ({@code prefix}) are a TLS ClientHello. */
    public static TlsWire acceptDirect(Wire under, TlsContext context, byte[] prefix, int off, int len) {
        return new TlsWire(under, context.newServerEngine(), prefix, off, len, true);
    }

    /** For a connection to PostgreSQL at {@code host} that answered SSLRequest with 'S'. */
    public static TlsWire connect(Wire under, TlsContext context, String host, int port) {
        return new TlsWire(under, context.newClientEngine(host, port));
    }

    /** Whether a connection's first byte starts a TLS handshake record (direct TLS). */
    public static boolean looksLikeTlsHandshake(byte firstByte) {
        return firstByte == TLS_HANDSHAKE_RECORD;
    }

    // ------------------------------------------------------------------ handshake

    /**
     * Runs the TLS handshake; owner thread, before the wire is shared. On failure the peer gets
     * the alert (where the engine made one) and the exception says why in one line
     * ({@code TLS handshake failed: server certificate for "db1" does not match host name "db2"});
     * the caller closes the wire.
     */
    public void handshake() throws IOException {
        try {
            engine.beginHandshake();
            HandshakeStatus hs = engine.getHandshakeStatus();
            while (hs != HandshakeStatus.FINISHED && hs != HandshakeStatus.NOT_HANDSHAKING) {
                switch (hs) {
                    case NEED_WRAP -> hs = wrapAndSend(EMPTY);
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> hs = unwrapDuringHandshake();
                    case NEED_TASK -> hs = runTasks();
                    default -> throw new SSLException("unexpected handshake status " + hs);
                }
                if (engine.isOutboundDone()) {
                    throw new SSLException("the TLS connection was closed during the handshake");
                }
            }
        } catch (SSLException e) {
            sendPendingAlert();
            throw new SSLHandshakeException("TLS handshake failed: " + describe(e), e);
        }
        handshakeDone = true;
        if (directTls && !ALPN_POSTGRESQL.equals(engine.getApplicationProtocol())) {
            throw new SSLHandshakeException("direct TLS connection without ALPN protocol \"" + ALPN_POSTGRESQL + "\"");
        }
    }

    private HandshakeStatus unwrapDuringHandshake() throws IOException {
        appIn.compact();
        SSLEngineResult r;
        try {
            r = engine.unwrap(netIn, appIn);
        } finally {
            appIn.flip();
        }
        switch (r.getStatus()) {
            case BUFFER_UNDERFLOW -> {
                if (!readMore()) {
                    throw new SSLException("connection closed by the peer during the TLS handshake");
                }
            }
            case BUFFER_OVERFLOW -> appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
            case CLOSED -> throw new SSLException("the peer closed the TLS connection during the handshake");
            case OK -> {
            }
        }
        return r.getHandshakeStatus() == HandshakeStatus.NEED_TASK ? runTasks() : engine.getHandshakeStatus();
    }

    /** Flushes an alert the engine queued after a failed handshake step; best effort. */
    private void sendPendingAlert() {
        try {
            if (engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
                wrapAndSend(EMPTY);
            }
        } catch (IOException | RuntimeException ignored) {
            // the handshake error is what matters; the peer sees the connection close
        }
    }

    /** A one-line reason for a handshake failure, naming certificate problems plainly. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertPathBuilderException) {
                return "certificate not trusted: no chain to a trusted CA certificate";
            }
            if (t instanceof CertPathValidatorException v) {
                return "certificate not trusted: " + PemFiles.oneLine(v);
            }
            if (t instanceof CertificateException && t.getCause() == null) {
                return PemFiles.oneLine(t); // ServerTrust's own messages (host name)
            }
        }
        String m = PemFiles.oneLine(e);
        if (m.contains("Empty client certificate chain") || m.contains("Empty server certificate chain")) {
            return "the peer presented no certificate, but one is required";
        }
        if (m.contains("no_application_protocol")) {
            return "no common ALPN protocol (pgloom speaks \"" + ALPN_POSTGRESQL + "\" only)";
        }
        int alert = m.indexOf("Received fatal alert: ");
        if (alert >= 0) {
            return "the peer ended the handshake with alert " + m.substring(alert + "Received fatal alert: ".length());
        }
        return m;
    }

    // ------------------------------------------------------------------ reading (owner thread)

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (true) {
            if (appIn.hasRemaining()) {
                int n = Math.min(len, appIn.remaining());
                appIn.get(b, off, n);
                return n;
            }
            if (inputDone) {
                return -1;
            }
            boolean direct = len >= appIn.capacity();
            ByteBuffer dst = direct ? ByteBuffer.wrap(b, off, len) : appIn.clear();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, dst);
            } finally {
                if (!direct) {
                    appIn.flip();
                }
            }
            if (r.getStatus() != SSLEngineResult.Status.CLOSED) {
                afterUnwrap(r.getHandshakeStatus());
            }
            switch (r.getStatus()) {
                case OK -> {
                    if (direct && r.bytesProduced() > 0) {
                        return r.bytesProduced();
                    }
                }
                case BUFFER_UNDERFLOW -> {
                    if (!readMore()) {
                        // end of stream without close_notify: PostgreSQL and PgBouncer treat it as EOF too
                        inputDone = true;
                    }
                }
                case BUFFER_OVERFLOW -> appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
                case CLOSED -> {
                    inputDone = true;
                    if (direct && r.bytesProduced() > 0) {
                        return r.bytesProduced();
                    }
                }
            }
        }
    }

    /** Deals with what an unwrap after the handshake left: tasks, bytes to send, renegotiation. */
    private void afterUnwrap(HandshakeStatus hs) throws IOException {
        while (true) {
            switch (hs) {
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
                case NEED_TASK -> hs = runTasks();
                case NEED_WRAP -> {
                    refuseRenegotiation();
                    hs = wrapAndSend(EMPTY);
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    refuseRenegotiation();
                    return; // the read loop unwraps on
                }
            }
        }
    }

    /** TLS 1.3 post-handshake messages are fine; a new handshake on TLS 1.2 or older is not. */
    private void refuseRenegotiation() throws SSLException {
        if (handshakeDone && !"TLSv1.3".equals(engine.getSession().getProtocol())) {
            throw new SSLException("TLS renegotiation is not supported");
        }
    }

    /**
     * Reads more TLS bytes from the underlying wire into {@link #netIn}, growing it to the
     * engine's packet size if needed. Returns false at end of stream. A read interrupted on
     * purpose leaves the buffer as it was.
     */
    private boolean readMore() throws IOException {
        int packet = engine.getSession().getPacketBufferSize();
        if (netIn.capacity() < packet || (netIn.position() == 0 && netIn.limit() == netIn.capacity())) {
            netIn = grow(netIn, Math.max(packet, netIn.capacity() * 2));
        }
        netIn.compact();
        int n;
        try {
            n = under.read(netIn.array(), netIn.arrayOffset() + netIn.position(), netIn.remaining());
        } finally {
            netIn.flip();
        }
        if (n < 0) {
            return false;
        }
        netIn.limit(netIn.limit() + n);
        return true;
    }

    /** A bigger buffer in read mode with the same unread bytes. */
    private static ByteBuffer grow(ByteBuffer readMode, int capacity) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(capacity, readMode.remaining()));
        bigger.put(readMode).flip();
        return bigger;
    }

    private HandshakeStatus runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
        return engine.getHandshakeStatus();
    }

    /**
     * Buffer lending: only when nothing is buffered here and the socket itself would wait. A
     * buffered partial record also waits for the socket, so that case delegates too.
     */
    @Override
    public boolean wouldWait() {
        return !appIn.hasRemaining() && !inputDone && !hasWholeRecord() && under.wouldWait();
    }

    @Override
    public void awaitReadable() throws IOException {
        if (!appIn.hasRemaining() && !inputDone && !hasWholeRecord()) {
            under.awaitReadable();
        }
    }

    private boolean hasWholeRecord() {
        int p = netIn.position();
        if (netIn.remaining() < 5) {
            return false;
        }
        int length = ((netIn.get(p + 3) & 0xff) << 8) | (netIn.get(p + 4) & 0xff);
        return netIn.remaining() >= 5 + length;
    }

    @Override
    public boolean interruptRead() {
        return under.interruptRead();
    }

    // ------------------------------------------------------------------ writing (any thread)

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed.get()) {
            throw new SSLException("TLS connection is closed");
        }
        wrapAndSend(ByteBuffer.wrap(b, off, len));
    }

    /**
     * Wraps all of {@code src} (and any handshake bytes the engine wants sent) and writes the
     * records, under the write lock. Returns the handshake status left.
     */
    private HandshakeStatus wrapAndSend(ByteBuffer src) throws IOException {
        writeLock.lock();
        try {
            while (true) {
                netOut.clear();
                SSLEngineResult r = engine.wrap(src, netOut);
                netOut.flip();
                if (netOut.hasRemaining()) {
                    under.write(netOut.array(), netOut.arrayOffset(), netOut.limit());
                }
                switch (r.getStatus()) {
                    case BUFFER_OVERFLOW -> {
                        netOut = ByteBuffer.allocate(Math.max(netOut.capacity() * 2, engine.getSession().getPacketBufferSize()));
                        continue;
                    }
                    case CLOSED -> {
                        if (src.hasRemaining()) {
                            throw new SSLException("TLS connection is closed");
                        }
                        return r.getHandshakeStatus();
                    }
                    case OK, BUFFER_UNDERFLOW -> {
                    }
                }
                HandshakeStatus hs = r.getHandshakeStatus();
                if (hs == HandshakeStatus.NEED_TASK) {
                    hs = runTasks();
                }
                if (hs != HandshakeStatus.NEED_WRAP && !src.hasRemaining()) {
                    return hs;
                }
                if (r.bytesConsumed() == 0 && r.bytesProduced() == 0 && hs != HandshakeStatus.NEED_WRAP) {
                    // the engine waits for an unwrap (a handshake in progress): nothing this thread can do
                    throw new SSLException("TLS write blocked by a handshake in progress (" + hs + ")");
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ------------------------------------------------------------------ closing

    /**
     * Sends close_notify if no write is in progress (a blocked writer means the peer is not
     * reading, and a close must not wait on it), allows it {@link #CLOSE_NOTIFY_GRACE} to go
     * out, then closes the underlying wire. Idempotent, never throws, any thread.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            under.close();
            return;
        }
        byte[] notify = null;
        if (writeLock.tryLock()) {
            try {
                engine.closeOutbound();
                netOut.clear();
                engine.wrap(EMPTY, netOut);
                netOut.flip();
                notify = new byte[netOut.remaining()];
                netOut.get(notify);
            } catch (SSLException | RuntimeException ignored) {
                // best effort: the socket closes below either way
            } finally {
                writeLock.unlock();
            }
        }
        if (notify != null && notify.length > 0 && under.isOpen()) {
            byte[] bytes = notify;
            Thread sender = Thread.ofVirtual().name("tls-close").start(() -> {
                try {
                    under.write(bytes, 0, bytes.length);
                } catch (IOException ignored) {
                    // the peer is gone; nothing to tell it
                }
            });
            try {
                sender.join(CLOSE_NOTIFY_GRACE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        under.close();
    }

    @Override
    public boolean isOpen() {
        return !closed.get() && under.isOpen();
    }

    // ------------------------------------------------------------------ what was negotiated

    /**
     * PgBouncer's {@code tls} column: {@code TLSv1.3/TLS_AES_256_GCM_SHA384}, the cipher by its
     * OpenSSL name ({@code TLSv1.2/ECDHE-RSA-AES256-GCM-SHA384}). The JDK does not tell the key
     * exchange group, so PgBouncer's {@code /ECDH=...} part is left out. Empty before the
     * handshake.
     */
    public String tlsInfo() {
        if (!handshakeDone) {
            return "";
        }
        SSLSession s = engine.getSession();
        return s.getProtocol() + "/" + CipherSuites.openSslName(s.getCipherSuite());
    }

    /** The peer's certificate chain, leaf first; empty when it presented none. */
    public List<X509Certificate> peerCertificates() {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : engine.getSession().getPeerCertificates()) {
                if (c instanceof X509Certificate x) {
                    out.add(x);
                }
            }
            return List.copyOf(out);
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    /**
     * The Common Name of the peer's certificate, what {@code cert} authentication compares with
     * the user name (or looks up in an ident map); empty without a certificate or CN.
     */
    public Optional<String> peerCommonName() {
        List<X509Certificate> chain = peerCertificates();
        return chain.isEmpty() ? Optional.empty() : Optional.ofNullable(HostnameChecker.commonName(chain.get(0)));
    }

    /** The peer certificate's subject in RFC 2253 form (PostgreSQL's {@code clientname=DN}); empty without one. */
    public Optional<String> peerDistinguishedName() {
        List<X509Certificate> chain = peerCertificates();
        return chain.isEmpty() ? Optional.empty() : Optional.of(chain.get(0).getSubjectX500Principal().getName());
    }

    /** The ALPN protocol agreed on ({@code postgresql}), or empty when none. */
    public String applicationProtocol() {
        String p = engine.getApplicationProtocol();
        return p == null ? "" : p;
    }

    public boolean isDirectTls() {
        return directTls;
    }

    /** The TLS engine, for what this class does not expose (session details). */
    public SSLEngine engine() {
        return engine;
    }

    // ------------------------------------------------------------------ the rest is the socket's

    @Override
    public SocketAddress remoteAddress() {
        return under.remoteAddress();
    }

    @Override
    public void tune(Values general) throws IOException {
        under.tune(general);
    }

    @Override
    public boolean peerIsSameUser() {
        return under.peerIsSameUser();
    }

    @Override
    public Optional<String> peerUserName() {
        return under.peerUserName();
    }

    @Override
    public int peerPid() {
        return under.peerPid();
    }

    /** -1: a TLS connection's state lives in this process, so its descriptor cannot be taken over. */
    @Override
    public int fd() {
        return -1;
    }

    @Override
    public boolean isUnix() {
        return under.isUnix();
    }

    @Override
    public String remoteHost() {
        return under.remoteHost();
    }

    @Override
    public int remotePort() {
        return under.remotePort();
    }

    @Override
    public String localHost() {
        return under.localHost();
    }

    @Override
    public int localPort() {
        return under.localPort();
    }

    @Override
    public String remoteText() {
        return under.remoteText();
    }

    @Override
    public String localText() {
        return under.localText();
    }

    /** The wire underneath. */
    public Wire underlying() {
        return under;
    }
}
