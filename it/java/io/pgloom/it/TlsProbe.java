package io.pgloom.it;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A TLS client made from the JDK's {@link SSLSocket}, for what libpq here cannot do: direct TLS
 * (PostgreSQL 17's {@code sslnegotiation=direct}, which psql 15 lacks) with or without ALPN, and
 * looking at the certificate pgloom presents. It trusts any certificate: the tests look at what
 * was presented, not whether to believe it. Use {@link RawPg#over} on the socket for the protocol.
 *
 * <p>Stateless; every call opens its own socket.
 */
final class TlsProbe {

    private TlsProbe() {
    }

    /**
     * Opens TCP to {@code 127.0.0.1:port} and starts TLS: after an SSLRequest answered 'S' when
     * {@code direct} is false, at once otherwise. {@code alpn} empty sends no ALPN extension.
     *
     * @throws IOException when the server refuses (answers 'N', closes, or fails the handshake)
     */
    static SSLSocket open(int port, boolean direct, List<String> alpn, Duration timeout) throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress("127.0.0.1", port), (int) timeout.toMillis());
            plain.setSoTimeout((int) timeout.toMillis());
            if (!direct) {
                plain.getOutputStream().write(ByteBuffer.allocate(8).putInt(8).putInt(80877103).array());
                int answer = new DataInputStream(plain.getInputStream()).read();
                if (answer != 'S') {
                    throw new IOException("SSLRequest answered " + (answer < 0 ? "by closing" : "'" + (char) answer + "'"));
                }
            }
            SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "localhost", port, true);
            SSLParameters p = tls.getSSLParameters();
            p.setApplicationProtocols(alpn.toArray(String[]::new));
            tls.setSSLParameters(p);
            tls.setUseClientMode(true);
            tls.startHandshake();
            return tls;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /** The subject of the certificate the server presented, e.g. {@code CN=pgloom-one}. */
    static String serverSubject(SSLSocket s) throws IOException {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    /** Opens TLS after SSLRequest, returns the presented certificate's subject and closes. */
    static String presentedSubject(int port) throws IOException {
        try (SSLSocket s = open(port, false, List.of("postgresql"), Duration.ofSeconds(10))) {
            return serverSubject(s);
        }
    }

    /** As {@link #presentedSubject}, with a failure's message instead of the exception (for polling). */
    static String presentedSubjectOrError(int port) {
        try {
            return presentedSubject(port);
        } catch (IOException e) {
            return "failed: " + e;
        }
    }

    private static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }
}
