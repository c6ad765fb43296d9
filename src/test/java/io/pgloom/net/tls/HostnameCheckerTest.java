package io.pgloom.net.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** libpq's verify-full rule (PostgreSQL 14+), on certificates made by openssl. */
class HostnameCheckerTest {
    @TempDir
    static Path dir;
    static X509Certificate server;
    static X509Certificate wildcard;
    static X509Certificate commonNameOnly;
    static X509Certificate ipSanOnly;
    static X509Certificate dnsSanOnly;

    @BeforeAll
    static void makeCertificates() throws Exception {
        TestPki pki = new TestPki(dir);
        server = PemFiles.readCertificates(pki.serverCert).get(0);
        wildcard = cert(pki, "wildcard", "/CN=ignored.example.com", "subjectAltName=DNS:*.pool.example.com,DNS:db.example.com\n");
        commonNameOnly = cert(pki, "cn", "/O=pgloom/CN=db.example.com", "basicConstraints=CA:FALSE\n");
        ipSanOnly = cert(pki, "ip", "/CN=db.example.com", "subjectAltName=IP:10.0.0.5,IP:2001:db8::5\n");
        dnsSanOnly = cert(pki, "dns", "/CN=192.168.1.1", "subjectAltName=DNS:db.example.com\n");
    }

    private static X509Certificate cert(TestPki pki, String name, String subject, String extensions) throws Exception {
        return PemFiles.readCertificates(pki.sign(pki.clientKey, dir.resolve(name + ".crt"), subject, extensions)).get(0);
    }

    private static void ok(String host, X509Certificate cert) {
        assertThatCode(() -> HostnameChecker.check(host, cert)).as(host).doesNotThrowAnyException();
    }

    private static void refused(String host, X509Certificate cert, String message) {
        assertThatThrownBy(() -> HostnameChecker.check(host, cert)).as(host).isInstanceOf(CertificateException.class)
                .hasMessage(message);
    }

    @Test
    void namesMatchSanDnsNamesIgnoringCase() {
        ok("localhost", server);
        ok("LocalHost", server);
        refused("db.example.com", server, "server certificate for \"localhost\" (and 1 other name) does not match host name"
                + " \"db.example.com\"");
    }

    @Test
    void addressesMatchSanIpAddresses() {
        ok("127.0.0.1", server);
        refused("::1", server, "server certificate for \"localhost\" (and 1 other name) does not match host name \"::1\"");
        ok("10.0.0.5", ipSanOnly);
        ok("2001:db8::5", ipSanOnly);
        ok("[2001:db8:0::5]", ipSanOnly);
        refused("10.0.0.6", ipSanOnly, "server certificate for \"10.0.0.5\" (and 1 other name) does not match host name"
                + " \"10.0.0.6\"");
    }

    @Test
    void wildcardsCoverExactlyOneLeadingLabel() {
        ok("a.pool.example.com", wildcard);
        ok("DB.example.com", wildcard);
        refused("a.b.pool.example.com", wildcard, "server certificate for \"*.pool.example.com\" (and 1 other name) does not"
                + " match host name \"a.b.pool.example.com\"");
        refused("pool.example.com", wildcard, "server certificate for \"*.pool.example.com\" (and 1 other name) does not match"
                + " host name \"pool.example.com\"");
        // the CN is ignored when there are dNSName SANs
        refused("ignored.example.com", wildcard, "server certificate for \"*.pool.example.com\" (and 1 other name) does not"
                + " match host name \"ignored.example.com\"");
    }

    @Test
    void commonNameCountsOnlyWithoutSansOfTheHostsKind() {
        ok("db.example.com", commonNameOnly);
        refused("other.example.com", commonNameOnly, "server certificate for \"db.example.com\" does not match host name"
                + " \"other.example.com\"");
        // only iPAddress SANs: a host name is still checked against the CN (libpq 14+)
        ok("db.example.com", ipSanOnly);
        // only dNSName SANs: an address is checked against the CN
        ok("192.168.1.1", dnsSanOnly);
        refused("192.168.1.2", dnsSanOnly, "server certificate for \"db.example.com\" (and 1 other name) does not match host"
                + " name \"192.168.1.2\"");
    }

    @Test
    void aHostNameIsRequired() {
        refused("", server, "host name must be specified for a verified TLS connection");
        refused(null, server, "host name must be specified for a verified TLS connection");
    }

    @Test
    void patternRules() {
        assertThat(HostnameChecker.nameMatches("*.example.com", "db.example.com")).isTrue();
        assertThat(HostnameChecker.nameMatches("*.example.com", "example.com")).isFalse();
        assertThat(HostnameChecker.nameMatches("*.example.com", ".example.com")).isFalse();
        assertThat(HostnameChecker.nameMatches("*", "db")).isFalse();
        assertThat(HostnameChecker.nameMatches("db*.example.com", "db1.example.com")).isFalse();
        assertThat(HostnameChecker.nameMatches("db.example.com\0.evil.com", "db.example.com")).isFalse();
        assertThat(HostnameChecker.ipLiteral("fe80::1%eth0")).hasSize(16);
        assertThat(HostnameChecker.ipLiteral("127.0.0.1")).containsExactly(127, 0, 0, 1);
        assertThat(HostnameChecker.ipLiteral("deadbeef")).isNull();
        assertThat(HostnameChecker.ipLiteral("1db.example.com")).isNull();
        assertThat(HostnameChecker.ipLiteral("localhost")).isNull();
    }
}
