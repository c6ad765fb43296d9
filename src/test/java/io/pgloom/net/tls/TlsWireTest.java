package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.config.SslMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two TlsWires over a real loopback socket pair: pgloom's server side against its client side. */
@Timeout(60)
class TlsWireTest {
    private static final int FIVE_MB = 5 * 1024 * 1024;

    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void setUp() throws Exception {
        pki = new TestPki(dir);
    }

    // ------------------------------------------------------------------ fixtures

    /** pgloom facing clients: its server certificate, optionally a CA for client certificates. */
    static TlsContext accepting(SslMode mode, Path ca) throws IOException {
        return new TlsSettings(TlsSettings.Side.CLIENTS, mode, pki.serverKey.toString(), pki.serverChain.toString(),
                ca == null ? "" : ca.toString(), "secure", "default", "").build();
    }

    /** pgloom facing servers, optionally presenting the client certificate. */
    static TlsContext connecting(SslMode mode, Path ca, boolean withClientCert, String protocols) throws IOException {
        return new TlsSettings(TlsSettings.Side.SERVERS, mode, withClientCert ? pki.clientKey.toString() : "",
                withClientCert ? pki.clientCert.toString() : "", ca == null ? "" : ca.toString(), protocols, "default", "").build();
    }

    static TlsContext verifyFull() throws IOException {
        return connecting(SslMode.VERIFY_FULL, pki.caCert, false, "secure");
    }

    static void send(TlsWire w, String s) throws IOException {
        w.write(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    // ------------------------------------------------------------------ tests

    @Test
    void handshakeAndDataBothWaysWithVerifyFull() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), verifyFull(), "localhost")) {
            send(e.client(), "hello server");
            assertThat(TlsEnds.readString(e.server(), 12)).isEqualTo("hello server");
            send(e.server(), "hello client");
            assertThat(TlsEnds.readString(e.client(), 12)).isEqualTo("hello client");

            assertThat(e.client().tlsInfo()).matches("TLSv1\\.3/TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)");
            assertThat(e.server().tlsInfo()).isEqualTo(e.client().tlsInfo());
            assertThat(e.server().applicationProtocol()).isEqualTo("postgresql");
            assertThat(e.client().applicationProtocol()).isEqualTo("postgresql");
            assertThat(e.client().peerCertificates()).hasSize(2);
            assertThat(e.client().peerCertificates().get(0).getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
            assertThat(e.server().peerCertificates()).isEmpty();
            assertThat(e.server().peerCommonName()).isEmpty();
            assertThat(e.server().remoteText()).isEqualTo(e.server().underlying().remoteText());
            assertThat(e.server().fd()).isEqualTo(-1);
        }
    }

    @Test
    void verifyFullAcceptsTheIpAddressSan() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), verifyFull(), "127.0.0.1")) {
            send(e.client(), "x");
            assertThat(TlsEnds.readString(e.server(), 1)).isEqualTo("x");
        }
    }

    @Test
    void tls12ReportsTheOpenSslCipherName() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), connecting(SslMode.VERIFY_CA, pki.caCert, false, "tlsv1.2"),
                "localhost")) {
            assertThat(e.client().tlsInfo()).matches("TLSv1\\.2/ECDHE-RSA-(AES256-GCM-SHA384|AES128-GCM-SHA256|CHACHA20-POLY1305)");
            send(e.server(), "ok");
            assertThat(TlsEnds.readString(e.client(), 2)).isEqualTo("ok");
        }
    }

    @Test
    void fiveMegabytesEachWayWhileBothSidesReadAndWriteConcurrently() throws Exception {
        byte[] up = randomBytes(FIVE_MB, 1);
        byte[] down = randomBytes(FIVE_MB, 2);
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), verifyFull(), "localhost")) {
            // client: one 5 MB write from another thread while its owner reads
            CompletableFuture<Void> clientWriter = CompletableFuture.runAsync(() -> {
                try {
                    e.client().write(up);
                } catch (IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            // server: many small writes from another thread while its owner reads
            CompletableFuture<Void> serverWriter = CompletableFuture.runAsync(() -> {
                try {
                    for (int off = 0; off < down.length; ) {
                        int n = Math.min(down.length - off, 1 + (off * 31) % 40000);
                        e.server().write(down, off, n);
                        off += n;
                    }
                } catch (IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            CompletableFuture<byte[]> serverReads = CompletableFuture.supplyAsync(() -> {
                try {
                    return TlsEnds.readFully(e.server(), FIVE_MB);
                } catch (IOException x) {
                    throw new RuntimeException(x);
                }
            }, TlsEnds.threads());
            byte[] clientGot = TlsEnds.readFully(e.client(), FIVE_MB);
            assertThat(Arrays.equals(clientGot, down)).isTrue();
            assertThat(Arrays.equals(serverReads.get(), up)).isTrue();
            clientWriter.get();
            serverWriter.get();
        }
    }

    @Test
    void closeSendsCloseNotifyAndThePeerSeesEndOfStream() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), verifyFull(), "localhost")) {
            send(e.client(), "bye");
            e.client().close();
            assertThat(e.client().isOpen()).isFalse();
            assertThat(TlsEnds.readString(e.server(), 3)).isEqualTo("bye");
            assertThat(e.server().read(new byte[10], 0, 10)).isEqualTo(-1);
            assertThat(e.server().read(new byte[10], 0, 10)).isEqualTo(-1);
            assertThatThrownBy(() -> send(e.client(), "more")).isInstanceOf(IOException.class)
                    .hasMessage("TLS connection is closed");
            e.client().close(); // idempotent
        }
    }

    @Test
    void endOfStreamWithoutCloseNotifyIsEndOfStream() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), verifyFull(), "localhost")) {
            send(e.server(), "last");
            assertThat(TlsEnds.readString(e.client(), 4)).isEqualTo("last");
            e.server().underlying().close(); // no close_notify
            assertThat(e.client().read(new byte[10], 0, 10)).isEqualTo(-1);
        }
    }

    @Test
    void wrongCaIsRefused() throws Exception {
        try (TlsEnds e = TlsEnds.connect(accepting(SslMode.REQUIRE, null), connecting(SslMode.VERIFY_CA, pki.otherCaCert, false, "secure"),
                "localhost")) {
            assertThat(e.clientError()).isInstanceOf(SSLHandshakeException.class)
                    .hasMessage("TLS handshake failed: certificate not trusted: no chain to a trusted CA certificate");
            assertThat(e.serverError()).isInstanceOf(SSLHandshakeException.class);
        }
    }

    @Test
    void wrongHostNameIsRefusedWithLibpqsMessage() throws Exception {
        try (TlsEnds e = TlsEnds.connect(accepting(SslMode.REQUIRE, null), verifyFull(), "db.example.com")) {
            assertThat(e.clientError()).isInstanceOf(SSLHandshakeException.class).hasMessage("TLS handshake failed: server"
                    + " certificate for \"localhost\" (and 1 other name) does not match host name \"db.example.com\"");
            assertThat(e.serverError()).isInstanceOf(SSLHandshakeException.class)
                    .hasMessage("TLS handshake failed: the peer ended the handshake with alert certificate_unknown");
        }
    }

    @Test
    void verifyCaDoesNotCheckTheHostNameAndRequireChecksNothing() throws Exception {
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), connecting(SslMode.VERIFY_CA, pki.caCert, false, "secure"),
                "db.example.com")) {
            assertThat(e.client().peerCertificates()).isNotEmpty();
        }
        try (TlsEnds e = TlsEnds.connected(accepting(SslMode.REQUIRE, null), connecting(SslMode.REQUIRE, pki.otherCaCert, false, "secure"),
                "db.example.com")) {
            assertThat(e.client().peerCertificates()).isNotEmpty();
        }
    }

    @Test
    void clientCertificateRequiredAndPresented() throws Exception {
        TlsContext requiring = accepting(SslMode.VERIFY_CA, pki.caCert);
        assertThat(requiring.requiresClientCertificate()).isTrue();
        try (TlsEnds e = TlsEnds.connected(requiring, connecting(SslMode.VERIFY_FULL, pki.caCert, true, "secure"), "localhost")) {
            assertThat(e.server().peerCertificates()).hasSize(1);
            assertThat(e.server().peerCertificates().get(0).getSubjectX500Principal().getName()).isEqualTo("CN=alice");
            assertThat(e.server().peerCommonName()).contains("alice");
            assertThat(e.server().peerDistinguishedName()).contains("CN=alice");
            assertThat(e.client().peerCommonName()).contains("localhost");
            send(e.client(), "authenticated");
            assertThat(TlsEnds.readString(e.server(), 13)).isEqualTo("authenticated");
        }
        try (TlsEnds e = TlsEnds.connect(requiring, verifyFull(), "localhost")) {
            assertThat(e.serverError()).isInstanceOf(SSLHandshakeException.class)
                    .hasMessage("TLS handshake failed: the peer presented no certificate, but one is required");
            // TLS 1.3: the client may finish its side before the server refuses; then its first read ends
            if (e.clientError() == null) {
                assertThatThrownBy(() -> e.client().read(new byte[1], 0, 1)).isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void caFileMakesTheClientCertificateOptionalBelowVerifyCa() throws Exception {
        TlsContext asking = accepting(SslMode.REQUIRE, pki.caCert);
        assertThat(asking.requiresClientCertificate()).isFalse();
        try (TlsEnds e = TlsEnds.connected(asking, verifyFull(), "localhost")) {
            assertThat(e.server().peerCertificates()).isEmpty();
        }
        try (TlsEnds e = TlsEnds.connected(asking, connecting(SslMode.VERIFY_FULL, pki.caCert, true, "secure"), "localhost")) {
            assertThat(e.server().peerCertificates()).hasSize(1);
        }
    }

    @Test
    void directTlsStartsWithTheBytesAlreadyRead() throws Exception {
        SocketWire[] w = SocketWire.pair();
        TlsWire client = TlsWire.connect(w[1], verifyFull(), "localhost", 5432);
        CompletableFuture<Void> clientHandshake = CompletableFuture.runAsync(() -> {
            try {
                client.handshake();
                send(client, "direct");
            } catch (IOException x) {
                throw new RuntimeException(x);
            }
        }, TlsEnds.threads());
        byte[] first = new byte[8]; // what a startup-packet reader would have taken
        int n = 0;
        while (n < first.length) {
            n += w[0].read(first, n, first.length - n);
        }
        assertThat(TlsWire.looksLikeTlsHandshake(first[0])).isTrue();
        assertThat(TlsWire.looksLikeTlsHandshake((byte) 0)).isFalse(); // a startup packet's length starts with 0
        TlsWire server = TlsWire.acceptDirect(w[0], accepting(SslMode.REQUIRE, null), first, 0, n);
        server.handshake();
        clientHandshake.get();
        try (TlsEnds e = new TlsEnds(server, client, null, null)) {
            assertThat(e.server().isDirectTls()).isTrue();
            assertThat(TlsEnds.readString(e.server(), 6)).isEqualTo("direct");
        }
    }

    @Test
    void directTlsWithoutAlpnIsRefused() throws Exception {
        SocketWire[] w = SocketWire.pair();
        SSLEngine plain = verifyFull().sslContext().createSSLEngine("localhost", 5432);
        plain.setUseClientMode(true); // no ALPN, as a pre-17 client would do
        TlsWire client = new TlsWire(w[1], plain);
        byte[] first = new byte[1];
        CompletableFuture<Void> clientHandshake = CompletableFuture.runAsync(() -> {
            try {
                client.handshake();
            } catch (IOException x) {
                throw new RuntimeException(x);
            }
        }, TlsEnds.threads());
        assertThat(w[0].read(first, 0, 1)).isEqualTo(1);
        TlsWire server = TlsWire.acceptDirect(w[0], accepting(SslMode.REQUIRE, null), first, 0, 1);
        assertThatThrownBy(server::handshake).isInstanceOf(SSLHandshakeException.class)
                .hasMessage("direct TLS connection without ALPN protocol \"postgresql\"");
        server.close();
        try {
            clientHandshake.get();
            assertThat(client.read(new byte[1], 0, 1)).isEqualTo(-1);
        } catch (ExecutionException expected) {
            // or the client saw the close during its handshake
        } finally {
            client.close();
        }
    }

    @Test
    void clientsOfferingAnotherAlpnProtocolAreRefused() throws Exception {
        SocketWire[] w = SocketWire.pair();
        SSLEngine other = verifyFull().sslContext().createSSLEngine("localhost", 5432);
        other.setUseClientMode(true);
        var p = other.getSSLParameters();
        p.setApplicationProtocols(new String[] {"http/1.1"});
        other.setSSLParameters(p);
        try (TlsEnds e = TlsEnds.handshake(TlsWire.accept(w[0], accepting(SslMode.REQUIRE, null)), new TlsWire(w[1], other))) {
            assertThat(e.serverError()).isInstanceOf(SSLHandshakeException.class).hasMessage("TLS handshake failed: no common ALPN protocol (pgloom speaks \"postgresql\" only)");
            assertThat(e.clientError()).isInstanceOf(SSLHandshakeException.class);
        }
    }

    @Test
    void plainStartupPacketIsNotMistakenForTls() {
        assertThat(TlsWire.looksLikeTlsHandshake((byte) 0x16)).isTrue();
        assertThat(TlsWire.looksLikeTlsHandshake((byte) 'S')).isFalse();
    }
}
