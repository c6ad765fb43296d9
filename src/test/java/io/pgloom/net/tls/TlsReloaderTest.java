package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.config.General;
import io.pgloom.config.SslMode;
import io.pgloom.config.Values;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TlsReloaderTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void setUp() throws Exception {
        pki = new TestPki(dir);
    }

    static TlsSettings clients(Path cert) {
        return new TlsSettings(TlsSettings.Side.CLIENTS, SslMode.REQUIRE, pki.serverKey.toString(), cert.toString(), "", "secure",
                "default", "");
    }

    static TlsSettings servers(SslMode mode) {
        return new TlsSettings(TlsSettings.Side.SERVERS, mode, "", "", pki.caCert.toString(), "secure", "default", "");
    }

    @Test
    void aBrokenNewCertificateKeepsTheOldContext() throws Exception {
        TlsReloader r = new TlsReloader(clients(pki.serverChain).build(), servers(SslMode.VERIFY_FULL).build());
        TlsContext before = r.clients();
        Path broken = Files.writeString(dir.resolve("broken.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n");
        Optional<String> error = r.reload(clients(broken));
        assertThat(error).hasValueSatisfying(e -> assertThat(e).isEqualTo("client_tls_cert_file: " + broken
                + ":1: -----BEGIN CERTIFICATE----- is not closed"));
        assertThat(r.clients()).isSameAs(before);

        Path replaced = Files.writeString(dir.resolve("replaced.crt"), Files.readString(pki.serverCert, StandardCharsets.US_ASCII));
        TlsContext servers = r.servers();
        assertThat(r.reload(clients(replaced))).isEmpty();
        assertThat(r.clients()).isNotSameAs(before);
        assertThat(r.servers()).isSameAs(servers);
    }

    @Test
    void reloadFromGeneralSwapsBothOrNeither() throws Exception {
        Values good = General.SECTION.defaults().with(General.CLIENT_TLS_SSLMODE, SslMode.REQUIRE)
                .with(General.CLIENT_TLS_KEY_FILE, pki.serverKey.toString())
                .with(General.CLIENT_TLS_CERT_FILE, pki.serverCert.toString());
        TlsReloader r = TlsReloader.load(General.SECTION.defaults());
        assertThat(r.clients().enabled()).isFalse();
        assertThat(r.servers().mode()).isEqualTo(SslMode.PREFER);

        assertThat(r.reload(good)).isEmpty();
        TlsContext clients = r.clients();
        TlsContext servers = r.servers();
        assertThat(clients.enabled()).isTrue();

        Values badServers = good.with(General.SERVER_TLS_SSLMODE, SslMode.VERIFY_CA)
                .with(General.SERVER_TLS_CA_FILE, dir.resolve("no-such-ca.crt").toString());
        assertThat(r.reload(badServers)).hasValueSatisfying(e -> assertThat(e).startsWith("server_tls_ca_file: "));
        assertThat(r.clients()).isSameAs(clients);
        assertThat(r.servers()).isSameAs(servers);
    }

    @Test
    void connectionsKeepTheirContextAcrossAReload() throws Exception {
        TlsReloader r = new TlsReloader(clients(pki.serverChain).build(), servers(SslMode.VERIFY_FULL).build());
        try (TlsEnds before = TlsEnds.connected(r.clients(), r.servers(), "localhost")) {
            assertThat(r.reload(servers(SslMode.VERIFY_CA))).isEmpty();
            before.client().write("still here".getBytes(StandardCharsets.UTF_8));
            assertThat(TlsEnds.readString(before.server(), 10)).isEqualTo("still here");
            // a new connection uses the new context: verify-ca accepts a host name verify-full refused
            try (TlsEnds after = TlsEnds.connected(r.clients(), r.servers(), "db.example.com")) {
                assertThat(after.client().tlsInfo()).startsWith("TLSv1.3/");
            }
        }
    }
}
