package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.config.General;
import io.pgloom.config.SslMode;
import io.pgloom.config.Values;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsSettingsTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void makeKeys() throws Exception {
        pki = new TestPki(dir);
    }

    static TlsSettings clients(SslMode mode, String key, String cert, String ca, String protocols, String ciphers, String tls13) {
        return new TlsSettings(TlsSettings.Side.CLIENTS, mode, key, cert, ca, protocols, ciphers, tls13);
    }

    static TlsSettings clients(String protocols, String ciphers, String tls13) {
        return clients(SslMode.REQUIRE, pki.serverKey.toString(), pki.serverCert.toString(), "", protocols, ciphers, tls13);
    }

    static TlsSettings servers(SslMode mode, String key, String cert, String ca) {
        return new TlsSettings(TlsSettings.Side.SERVERS, mode, key, cert, ca, "secure", "default", "");
    }

    static String error(TlsSettings s) {
        try {
            s.build();
        } catch (IOException e) {
            return e.getMessage();
        }
        throw new AssertionError("built " + s);
    }

    @Test
    void protocolWordsAsLibtlsParsesThem() throws Exception {
        assertThat(TlsSettings.parseProtocols("secure", "k")).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(TlsSettings.parseProtocols("default", "k")).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(TlsSettings.parseProtocols("all", "k")).containsExactly("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
        assertThat(TlsSettings.parseProtocols("legacy", "k")).containsExactly("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
        assertThat(TlsSettings.parseProtocols("tlsv1.2", "k")).containsExactly("TLSv1.2");
        assertThat(TlsSettings.parseProtocols("TLSv1.3:tlsv1.2", "k")).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(TlsSettings.parseProtocols(" tlsv1.0, tlsv1.1 ", "k")).containsExactly("TLSv1.1", "TLSv1");
        assertThat(TlsSettings.parseProtocols("!tlsv1.3", "k")).containsExactly("TLSv1.2", "TLSv1.1", "TLSv1");
        assertThat(TlsSettings.parseProtocols("all,!tlsv1.0,!tlsv1.1", "k")).containsExactly("TLSv1.3", "TLSv1.2");
        assertThatThrownBy(() -> TlsSettings.parseProtocols("tlsv1.2,tlsv9", "client_tls_protocols"))
                .hasMessage("client_tls_protocols: unknown protocol 'tlsv9' (expected secure, all, legacy or a list such as"
                        + " tlsv1.2,tlsv1.3)");
        assertThatThrownBy(() -> TlsSettings.parseProtocols("!all", "k")).hasMessage("k: no protocol left in '!all'");
    }

    @Test
    void protocolsTheJdkDisablesAreDroppedWithAWarning() throws Exception {
        TlsContext c = clients("all", "default", "").build();
        assertThat(c.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(c.warnings()).contains(
                "client_tls_protocols: TLSv1.1 ignored: disabled by the JDK (jdk.tls.disabledAlgorithms)",
                "client_tls_protocols: TLSv1 ignored: disabled by the JDK (jdk.tls.disabledAlgorithms)");
        assertThat(error(clients("tlsv1.1", "default", ""))).isEqualTo("client_tls_protocols: none of [TLSv1.1] is usable with this"
                + " JDK");
    }

    @Test
    void defaultCiphersAreAeadWithForwardSecrecyAndTls13Suites() throws Exception {
        TlsContext c = clients("secure", "default", "").build();
        assertThat(c.cipherSuites()).contains("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
        assertThat(c.cipherSuites()).doesNotContain("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256");
        assertThat(c.cipherSuites().get(0)).startsWith("TLS_AES_");
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void cipherListsMapToJdkSuitesAndRefuseAnEmptyResult() throws Exception {
        TlsContext c = clients("secure", "ECDHE-RSA-AES256-GCM-SHA384:bogus", "TLS_AES_256_GCM_SHA384").build();
        assertThat(c.cipherSuites()).containsExactly("TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assertThat(c.warnings()).containsExactly("client_tls_ciphers: 'bogus' ignored: not a cipher suite or alias the JDK supports");
        assertThat(error(clients("secure", "RC4:bogus", ""))).isEqualTo("client_tls_ciphers: no cipher suite the JDK supports matches"
                + " 'RC4:bogus'");
        assertThat(error(clients("secure", "default", "TLS_FOO"))).isEqualTo("client_tls13_ciphers: no TLS 1.3 cipher suite the JDK"
                + " supports matches 'TLS_FOO'");
        // with TLS 1.3 only, the TLS 1.2 list does not matter
        assertThat(clients("tlsv1.3", "RC4", "").build().cipherSuites()).allMatch(CipherSuites::isTls13);
    }

    @Test
    void facingClientsNeedKeyAndCertificate() {
        assertThat(error(clients(SslMode.REQUIRE, "", "", "", "secure", "default", ""))).isEqualTo("client_tls_key_file: must be set"
                + " when client_tls_sslmode is require");
        assertThat(error(clients(SslMode.PREFER, pki.serverKey.toString(), "", "", "secure", "default", "")))
                .isEqualTo("client_tls_cert_file: must be set when client_tls_sslmode is prefer");
        assertThat(error(clients(SslMode.VERIFY_CA, pki.serverKey.toString(), pki.serverCert.toString(), "", "secure", "default", "")))
                .isEqualTo("client_tls_ca_file: must be set when client_tls_sslmode is verify-ca");
    }

    @Test
    void fileProblemsNameTheKeyAndTheFile() throws Exception {
        Path missing = dir.resolve("missing.key");
        assertThat(error(clients(SslMode.REQUIRE, missing.toString(), pki.serverCert.toString(), "", "secure", "default", "")))
                .startsWith("client_tls_key_file: " + missing + ": cannot read: ");
        assertThat(error(clients(SslMode.REQUIRE, pki.serverKey.toString(), pki.clientCert.toString(), "", "secure", "default", "")))
                .isEqualTo("client_tls_key_file: " + pki.serverKey + ": private key is RSA but the key of the certificate in "
                        + pki.clientCert + " is EC");
        Path broken = Files.writeString(dir.resolve("broken-ca.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assertThat(error(servers(SslMode.VERIFY_CA, "", "", broken.toString()))).startsWith("server_tls_ca_file: " + broken
                + ":1: bad certificate: ");
        assertThat(error(servers(SslMode.REQUIRE, pki.clientKey.toString(), "", ""))).isEqualTo("server_tls_cert_file: must be set"
                + " together with server_tls_key_file");
    }

    @Test
    void disableBuildsNoContext() throws Exception {
        TlsContext off = clients(SslMode.DISABLE, "", "", "", "bogus-is-not-read", "default", "").build();
        assertThat(off.enabled()).isFalse();
        assertThat(off.sslContext()).isNull();
        assertThatThrownBy(off::newServerEngine).isInstanceOf(IllegalStateException.class)
                .hasMessage("client_tls_sslmode is disable");
    }

    @Test
    void generalDefaultsAreClientsDisabledAndServersPrefer() throws Exception {
        Values general = General.SECTION.defaults();
        TlsSettings c = TlsSettings.forClients(general);
        TlsSettings s = TlsSettings.forServers(general);
        assertThat(c.mode()).isEqualTo(SslMode.DISABLE);
        assertThat(s.mode()).isEqualTo(SslMode.PREFER);
        assertThat(s.protocols()).isEqualTo("secure");
        TlsContext servers = s.build();
        assertThat(servers.enabled()).isTrue();
        SSLEngine e = servers.newClientEngine("db1", 5432);
        assertThat(e.getUseClientMode()).isTrue();
        assertThat(e.getSSLParameters().getApplicationProtocols()).containsExactly("postgresql");
        assertThat(e.getSSLParameters().getEndpointIdentificationAlgorithm()).isNull();
        assertThatThrownBy(servers::newServerEngine).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void keysFromGeneralSettings() throws Exception {
        Values general = General.SECTION.defaults().with(General.CLIENT_TLS_SSLMODE, SslMode.VERIFY_FULL)
                .with(General.CLIENT_TLS_KEY_FILE, pki.serverKey.toString())
                .with(General.CLIENT_TLS_CERT_FILE, pki.serverChain.toString())
                .with(General.CLIENT_TLS_CA_FILE, pki.caCert.toString())
                .with(General.CLIENT_TLS_PROTOCOLS, "tlsv1.3");
        TlsContext c = TlsSettings.forClients(general).build();
        assertThat(c.requiresClientCertificate()).isTrue();
        assertThat(c.protocols()).containsExactly("TLSv1.3");
        SSLEngine e = c.newServerEngine();
        assertThat(e.getUseClientMode()).isFalse();
        assertThat(e.getNeedClientAuth()).isTrue();
        assertThat(e.getEnabledProtocols()).containsExactly("TLSv1.3");
    }
}
