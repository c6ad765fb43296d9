package io.pgloom.net.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How pgloom, as a TLS client, judges a PostgreSQL server's certificate, by {@code
 * server_tls_sslmode}: {@code allow}/{@code prefer}/{@code require} accept any certificate (as
 * PgBouncer does with libtls' noverifycert); {@code verify-ca} requires a chain to a trusted CA;
 * {@code verify-full} also requires the host name to match by libpq's rule ({@link
 * HostnameChecker}), taking the host from the engine ({@code SSLContext.createSSLEngine(host,
 * port)}). The JDK's HTTPS endpoint identification is never switched on. Immutable; any thread.
 */
final class ServerTrust extends X509ExtendedTrustManager {
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    /** The chain checker, or null to accept any chain. */
    private final X509ExtendedTrustManager chain;
    private final boolean checkHost;

    ServerTrust(X509ExtendedTrustManager chain, boolean checkHost) {
        this.chain = chain;
        this.checkHost = checkHost;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType, SSLEngine engine) throws CertificateException {
        if (chain != null) {
            chain.checkServerTrusted(certs, authType, engine);
        }
        if (checkHost) {
            HostnameChecker.check(engine == null ? null : engine.getPeerHost(), certs[0]);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType, Socket socket) throws CertificateException {
        if (chain != null) {
            chain.checkServerTrusted(certs, authType, socket);
        }
        if (checkHost) {
            String host = socket == null || socket.getInetAddress() == null ? null : socket.getInetAddress().getHostName();
            HostnameChecker.check(host, certs[0]);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType) throws CertificateException {
        if (checkHost) {
            throw new CertificateException("verify-full needs the server's host name");
        }
        if (chain != null) {
            chain.checkServerTrusted(certs, authType);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("not a client certificate checker");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("not a client certificate checker");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType) throws CertificateException {
        throw new CertificateException("not a client certificate checker");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return chain == null ? NO_ISSUERS : chain.getAcceptedIssuers();
    }
}
