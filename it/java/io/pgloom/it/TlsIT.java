package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on both sides of pgloom, with certificates made by openssl for each run.
 *
 * <p>Client side: psql with {@code sslmode=require} and {@code verify-full} (the right and a wrong
 * CA), pgjdbc with {@code verify-full}, a plain client refused with "SSL required", direct TLS
 * (PostgreSQL 17's {@code sslnegotiation=direct}, driven by the JDK's SSLSocket with ALPN since
 * psql 15 cannot), the {@code tls} column of SHOW CLIENTS, and RELOAD: a new certificate serves new
 * connections, a broken one is refused and the old one stays.
 *
 * <p>Server side: a PostgreSQL of the test's own with {@code ssl = on}; {@code server_tls_sslmode}
 * require and verify-full (checked against the configured host name, not the address), a wrong
 * CA, and require against the shared PostgreSQL, which has no TLS.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsIT {

    private static final Duration LOG_WAIT = Duration.ofSeconds(10);
    /** pgloom's login line for a TLS client: protocol and cipher. */
    private static final String TLS_LOGIN = "login attempt: db=app user=app tls=TLSv1\\.[23]/\\S+ ";

    @TempDir
    static Path dir;

    private static PgCluster pg;
    /** A PostgreSQL with ssl = on; its certificate names only DNS:localhost. */
    private static PgCluster sslPg;
    private static Certs ca;
    private static Certs otherCa;
    private static Certs.Pair pgloomCert;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        assumeTrue(pg.isLocal(), "needs the local harness (a PostgreSQL of its own with ssl = on)");
        ca = Certs.newCa(dir, "main");
        otherCa = Certs.newCa(dir, "other");
        pgloomCert = ca.server("pgloom", "pgloom");
        Certs.Pair pgCert = ca.server("postgres", "postgres", "DNS:localhost");
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("ssl", "on");
        settings.put("ssl_cert_file", "'server.crt'");
        settings.put("ssl_key_file", "'server.key'");
        sslPg = PgCluster.startOwn(settings, Map.of("server.crt", pgCert.cert(), "server.key", pgCert.key()));
    }

    @AfterAll
    static void stop() {
        if (sslPg != null) {
            sslPg.stop();
        }
    }

    /** pgloom in front of the shared PostgreSQL with clients on TLS ({@code mode}). */
    private static PgloomProcess.Builder pooler(String clientMode) {
        return PgloomProcess.builder()
                .set("auth_type", "md5")
                .set("pool_mode", "session")
                .set("admin_users", "app")
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("client_tls_sslmode", clientMode)
                .set("client_tls_key_file", pgloomCert.key().toString())
                .set("client_tls_cert_file", pgloomCert.cert().toString())
                .database("app", pg, "app")
                .user("app", "apppass");
    }

    private static Psql psql(PgloomProcess pgloom, String sslMode) {
        return Psql.to(pgloom, "app", "app", "apppass").withEnv("PGSSLMODE", sslMode);
    }

    private static Connection jdbc(PgloomProcess pgloom, String params) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "app");
        props.setProperty("password", "apppass");
        String url = "jdbc:postgresql://127.0.0.1:" + pgloom.port() + "/app?gssEncMode=disable&" + params;
        return Drivers.PGJDBC.connect(url, props);
    }

    // *** Client side ***

    @Test
    void psqlRequireAndPlainClientRefused() {
        try (PgloomProcess pgloom = pooler("require").start()) {
            assertThat(psql(pgloom, "require").value("select 'over tls'")).isEqualTo("over tls");
            pgloom.waitForLog(TLS_LOGIN + "replication=no", LOG_WAIT);

            Psql.Result plain = psql(pgloom, "disable").command("select 1");
            assertThat(plain.exitCode()).as(plain.toString()).isEqualTo(2);
            assertThat(plain.stderr()).contains("SSL required");
            pgloom.waitForLog("\\(nodb\\)/\\(nouser\\)@127.0.0.1:\\d+ closing because: SSL required", LOG_WAIT);

            // Unix sockets never use TLS, so require does not apply there.
            assertThat(Psql.toSocket(pgloom, "app", "app", "apppass").value("select 'unix'")).isEqualTo("unix");
        }
    }

    @Test
    void showClientsHasTlsColumn() {
        try (PgloomProcess pgloom = pooler("prefer").start()) {
            Psql console = Psql.to(pgloom, "pgbouncer", "app", "apppass");
            String overTls = console.withEnv("PGSSLMODE", "require").value("show clients");
            assertThat(overTls).containsPattern("\\|TLSv1\\.[23]/[A-Z0-9_-]+\\|");
            String plain = console.withEnv("PGSSLMODE", "disable").value("show clients");
            assertThat(plain).doesNotContain("TLSv1");
        }
    }

    @Test
    void verifyFullWithTheRightAndAWrongCa() {
        try (PgloomProcess pgloom = pooler("require").start()) {
            Psql good = psql(pgloom, "verify-full").withEnv("PGSSLROOTCERT", ca.caCert().toString());
            assertThat(good.value("select 'verified'")).isEqualTo("verified");

            Psql.Result wrong = psql(pgloom, "verify-full").withEnv("PGSSLROOTCERT", otherCa.caCert().toString())
                    .command("select 1");
            assertThat(wrong.exitCode()).as(wrong.toString()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("certificate verify failed");
            // pgloom's side: the handshake failure, in one line, as the close reason
            pgloom.waitForLog("closing because: TLS handshake failed: ", LOG_WAIT);
            assertThat(pgloom.log()).doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    @Test
    void pgjdbcVerifyFull() throws SQLException {
        try (PgloomProcess pgloom = pooler("require").start();
                Connection c = jdbc(pgloom, "sslmode=verify-full&sslrootcert=" + ca.caCert())) {
            assertThat(Sql.value(c, "select current_user")).isEqualTo("app");
            pgloom.waitForLog(TLS_LOGIN, LOG_WAIT);
        }
    }

    @Test
    void directTlsWithAlpn() throws IOException {
        try (PgloomProcess pgloom = pooler("prefer").set("auth_type", "trust").start()) {
            try (SSLSocket s = TlsProbe.open(pgloom.port(), true, List.of("postgresql"), LOG_WAIT);
                    RawPg raw = RawPg.over(s)) {
                assertThat(s.getApplicationProtocol()).isEqualTo("postgresql");
                raw.send(RawPg.startupPacket(Map.of("user", "app", "database", "app")));
                assertThat(raw.readUntil('Z')).anyMatch(m -> m.tag() == 'R');
                raw.send(RawPg.query("select 42"));
                assertThat(raw.readUntil('Z')).anyMatch(m -> m.tag() == 'D');
            }
            pgloom.waitForLog(TLS_LOGIN, LOG_WAIT);

            // Without ALPN "postgresql" a direct TLS connection is refused (PostgreSQL 17's rule).
            assertThatThrownBy(() -> {
                try (SSLSocket s = TlsProbe.open(pgloom.port(), true, List.of(), LOG_WAIT); RawPg raw = RawPg.over(s)) {
                    raw.send(RawPg.startupPacket(Map.of("user", "app", "database", "app")));
                    raw.read();
                }
            }).isInstanceOf(IOException.class);
            pgloom.waitForLog("closing because: direct TLS connection without ALPN protocol \"postgresql\"", LOG_WAIT);
        }
    }

    @Test
    void directTlsWhenTlsIsOff() {
        try (PgloomProcess pgloom = pooler("disable").set("auth_type", "trust").start()) {
            assertThatThrownBy(() -> TlsProbe.open(pgloom.port(), true, List.of("postgresql"), LOG_WAIT).close())
                    .isInstanceOf(IOException.class);
            pgloom.waitForLog("closing because: direct TLS not enabled", LOG_WAIT);
            // and SSLRequest is answered 'N'
            assertThatThrownBy(() -> TlsProbe.open(pgloom.port(), false, List.of("postgresql"), LOG_WAIT).close())
                    .hasMessageContaining("answered 'N'");
        }
    }

    @Test
    void reloadTakesANewCertificateAndKeepsTheOldOneWhenBroken() throws IOException, SQLException {
        Certs.Pair one = ca.server("reload-one", "pgloom-one");
        Certs.Pair two = ca.server("reload-two", "pgloom-two");
        Path key = dir.resolve("live.key");
        Path cert = dir.resolve("live.crt");
        Files.copy(one.key(), key, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(one.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        try (PgloomProcess pgloom = pooler("require").set("client_tls_key_file", key.toString())
                .set("client_tls_cert_file", cert.toString()).start();
                Connection before = jdbc(pgloom, "sslmode=require")) {
            assertThat(TlsProbe.presentedSubject(pgloom.port())).isEqualTo("CN=pgloom-one");

            Files.copy(two.key(), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(two.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
            pgloom.signal("HUP");
            Wait.untilValue("the new certificate on new connections", LOG_WAIT, () -> TlsProbe.presentedSubjectOrError(pgloom.port()),
                    subject -> subject.equals("CN=pgloom-two"));
            // a connection made before keeps its session
            assertThat(Sql.value(before, "select 'still here'")).isEqualTo("still here");

            long mark = pgloom.logSize();
            Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
            pgloom.signal("HUP");
            String line = pgloom.waitForLogAfter(mark,
                    "WARNING TLS settings could not be applied, still using old configuration: client_tls_cert_file: ", LOG_WAIT);
            assertThat(line).contains(cert.toString());
            assertThat(TlsProbe.presentedSubject(pgloom.port())).isEqualTo("CN=pgloom-two");
            assertThat(psql(pgloom, "require").value("select 'old certificate'")).isEqualTo("old certificate");
        }
    }

    @Test
    void takeoverLeavesTlsConnectionsBehind() throws SQLException {
        try (PgloomProcess old = pooler("prefer").start();
                Connection plain = jdbc(old, "sslmode=disable");
                Connection tls = jdbc(old, "sslmode=require")) {
            String plainBackend = Sql.value(plain, "select pg_backend_pid()::text");
            assertThat(Sql.value(tls, "select 1")).isEqualTo("1");
            try (PgloomProcess successor = PgloomProcess.start(old.configFile(), List.of("-R"))) {
                old.waitForExit(Duration.ofSeconds(30));
                assertThat(old.log()).contains("SHOW FDS: 2 TLS connections (or linked to one) cannot be taken over")
                        .containsPattern("C-0x\\w+: app/app@127.0.0.1:\\d+ closing because: TLS connection cannot be taken over")
                        .containsPattern("S-0x\\w+: app/app@127.0.0.1:\\d+ closing because: linked to a TLS connection");
                // the plain client carries on, on the same backend; the TLS one was closed
                assertThat(Sql.value(plain, "select pg_backend_pid()::text")).isEqualTo(plainBackend);
                Sql.error(() -> Sql.value(tls, "select 1"));
                try (Connection again = jdbc(successor, "sslmode=require")) {
                    assertThat(Sql.value(again, "select 'new TLS session'")).isEqualTo("new TLS session");
                }
                successor.waitForLog(TLS_LOGIN, LOG_WAIT);
            }
        }
    }

    // *** Server side ***

    private static Map<String, Object> sslDatabase(String host) {
        Map<String, Object> db = new LinkedHashMap<>();
        db.put("host", host);
        db.put("port", sslPg.port());
        db.put("dbname", "app");
        return db;
    }

    private static PgloomProcess.Builder toSslPg(String serverMode, String host) {
        return PgloomProcess.builder()
                .set("auth_type", "md5")
                .set("pool_mode", "session")
                .set("admin_users", "app")
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("server_tls_sslmode", serverMode)
                .database("app", sslDatabase(host))
                .user("app", "apppass");
    }

    private static String serverSsl(Connection c) throws SQLException {
        return Sql.value(c, "select ssl || ' ' || version from pg_stat_ssl where pid = pg_backend_pid()");
    }

    @Test
    void serverRequire() throws SQLException {
        try (PgloomProcess pgloom = toSslPg("require", "127.0.0.1").start();
                Connection c = pgloom.connect("app", "app", "apppass")) {
            assertThat(serverSsl(c)).matches("true TLSv1\\.[23]");
            pgloom.waitForLog("app/app@127.0.0.1:\\d+ SSL established: TLSv1\\.[23]/", LOG_WAIT);
            String servers = Psql.to(pgloom, "pgbouncer", "app", "apppass").value("show servers");
            assertThat(servers).containsPattern("\\|TLSv1\\.[23]/[A-Z0-9_-]+\\|");
        }
    }

    @Test
    void serverPreferUsesTlsWhenOffered() throws SQLException {
        try (PgloomProcess pgloom = toSslPg("prefer", "127.0.0.1").unset("server_tls_sslmode").start();
                Connection c = pgloom.connect("app", "app", "apppass")) {
            assertThat(serverSsl(c)).startsWith("true ");
        }
    }

    @Test
    void serverVerifyFullChecksTheConfiguredHostName() throws SQLException {
        // the certificate names DNS:localhost only: verify-full must check "localhost", as configured
        try (PgloomProcess pgloom = toSslPg("verify-full", "localhost")
                .set("server_tls_ca_file", ca.caCert().toString()).start();
                Connection c = pgloom.connect("app", "app", "apppass")) {
            assertThat(serverSsl(c)).startsWith("true ");
        }
        try (PgloomProcess pgloom = toSslPg("verify-full", "127.0.0.1")
                .set("server_tls_ca_file", ca.caCert().toString()).start()) {
            SQLException e = Sql.error(() -> pgloom.connect("app", "app", "apppass").close());
            assertThat(e.getMessage()).contains("does not match host name \"127.0.0.1\"");
            String line = pgloom.waitForLog("closing because: login failed: TLS handshake failed: server certificate for",
                    LOG_WAIT);
            assertThat(line).contains("\"localhost\"").contains("does not match host name \"127.0.0.1\"");
        }
    }

    @Test
    void serverVerifyCaWithAWrongCa() {
        try (PgloomProcess pgloom = toSslPg("verify-ca", "127.0.0.1")
                .set("server_tls_ca_file", otherCa.caCert().toString()).start()) {
            SQLException e = Sql.error(() -> pgloom.connect("app", "app", "apppass").close());
            assertThat(e.getMessage()).contains("server login failed: TLS handshake failed: certificate not trusted");
            assertThat(pgloom.log()).doesNotContain("\tat ");
        }
    }

    @Test
    void serverRequireAgainstAServerWithoutTls() {
        try (PgloomProcess pgloom = pooler("disable").set("server_tls_sslmode", "require").start()) {
            SQLException e = Sql.error(() -> pgloom.connect("app", "app", "apppass").close());
            assertThat(e.getMessage()).contains("server refused SSL");
            pgloom.waitForLog("app/app@127.0.0.1:\\d+ closing because: server refused SSL", LOG_WAIT);
        }
    }
}
