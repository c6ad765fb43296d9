package io.pgloom.net.tls;

import io.pgloom.config.SslMode;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * A built {@link TlsSettings}: the {@link SSLContext} plus what every engine made from it gets
 * (protocols, cipher suites, ALPN {@code postgresql}, client certificate policy). Immutable and
 * thread-safe; connections take a fresh engine each, so swapping the context on RELOAD never
 * touches connections already running.
 */
public final class TlsContext {
    /** Whether pgloom, as TLS server, asks clients for a certificate. */
    enum ClientAuth {
        NONE, WANT, NEED
    }

    private final TlsSettings settings;
    private final SSLContext ssl;
    private final String[] protocols;
    private final String[] suites;
    private final ClientAuth clientAuth;
    private final List<String> warnings;

    TlsContext(TlsSettings settings, SSLContext ssl, List<String> protocols, List<String> suites, ClientAuth clientAuth,
            List<String> warnings) {
        this.settings = settings;
        this.ssl = ssl;
        this.protocols = protocols.toArray(String[]::new);
        this.suites = suites.toArray(String[]::new);
        this.clientAuth = clientAuth;
        this.warnings = List.copyOf(warnings);
    }

    static TlsContext disabled(TlsSettings settings) {
        return new TlsContext(settings, null, List.of(), List.of(), ClientAuth.NONE, List.of());
    }

    public TlsSettings settings() {
        return settings;
    }

    public SslMode mode() {
        return settings.mode();
    }

    /** False for {@code sslmode = disable}: there is no SSLContext. */
    public boolean enabled() {
        return ssl != null;
    }

    /** The JDK context, or null when disabled. */
    public SSLContext sslContext() {
        return ssl;
    }

    /** Parts of the settings that were ignored, one line each starting with the key, for the log. */
    public List<String> warnings() {
        return warnings;
    }

    public List<String> protocols() {
        return List.of(protocols);
    }

    public List<String> cipherSuites() {
        return List.of(suites);
    }

    /** Whether clients must present a certificate ({@code verify-ca}/{@code verify-full}). */
    public boolean requiresClientCertificate() {
        return clientAuth == ClientAuth.NEED;
    }

    /** An engine for an accepted client connection: pgloom is the TLS server. */
    public SSLEngine newServerEngine() {
        check(TlsSettings.Side.CLIENTS);
        SSLEngine e = ssl.createSSLEngine();
        e.setUseClientMode(false);
        SSLParameters p = common(e);
        switch (clientAuth) {
            case NEED -> p.setNeedClientAuth(true);
            case WANT -> p.setWantClientAuth(true);
            case NONE -> p.setNeedClientAuth(false);
        }
        p.setUseCipherSuitesOrder(true);
        e.setSSLParameters(p);
        return e;
    }

    /**
     * An engine for a connection to PostgreSQL: pgloom is the TLS client. {@code host} is what
     * {@code verify-full} checks and what SNI carries (JDK: names only, not addresses).
     */
    public SSLEngine newClientEngine(String host, int port) {
        check(TlsSettings.Side.SERVERS);
        SSLEngine e = ssl.createSSLEngine(host, port);
        e.setUseClientMode(true);
        e.setSSLParameters(common(e));
        return e;
    }

    private SSLParameters common(SSLEngine e) {
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(protocols);
        p.setCipherSuites(suites);
        p.setApplicationProtocols(new String[] {TlsWire.ALPN_POSTGRESQL});
        p.setEndpointIdentificationAlgorithm(null); // libpq's rule is applied by ServerTrust instead
        return p;
    }

    private void check(TlsSettings.Side side) {
        if (ssl == null) {
            throw new IllegalStateException(settings.side().key("sslmode") + " is disable");
        }
        if (settings.side() != side) {
            throw new IllegalStateException("a " + settings.side() + " context cannot make engines for " + side);
        }
    }

    @Override
    public String toString() {
        return "TlsContext[" + settings.side().key("sslmode") + "=" + settings.mode().word() + ", protocols=" + List.of(protocols)
                + "]";
    }
}
