package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth_type = "hba"}: each pgloom database below matches its own line of the HBA file, so
 * one pgloom covers trust, reject, md5, password, scram-sha-256, cert (hostssl), hostssl against
 * hostnossl, a connection no line admits, and peer over the unix socket. Peer maps the OS user of
 * the connecting process (the test's, usually root) to role {@code app} through an ident map.
 * A RELOAD with a broken HBA file keeps the rules in force; a good one replaces them.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HbaIT {

    private static final Duration LOG_WAIT = Duration.ofSeconds(10);
    private static final String OS_USER = System.getProperty("user.name");

    private static final String HBA = """
            # unix socket: the OS user, mapped to database users
            local     all        all                     peer map=osusers
            hostssl   certdb     all      127.0.0.1/32   cert
            hostssl   sslonly    all      127.0.0.1/32   md5
            hostnossl sslonly    all      127.0.0.1/32   reject
            host      trustdb    all      127.0.0.1/32   trust
            host      rejectdb   all      127.0.0.1/32   reject
            host      md5db      all      127.0.0.1/32   md5
            host      scramdb    all      127.0.0.1/32   scram-sha-256
            host      plaindb    all      127.0.0.1/32   password
            """;

    @TempDir
    static Path dir;

    private static PgCluster pg;
    private static Certs ca;
    private static Certs.Pair appCert;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() throws IOException {
        pg = PgCluster.get();
        ca = Certs.newCa(dir, "hba");
        appCert = ca.client("app-client", "app");
        pgloom = pooler(HBA).start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static PgloomProcess.Builder pooler(String hba) throws IOException {
        Certs.Pair server = ca.server("pgloom-" + System.nanoTime(), "pgloom");
        Path hbaFile = Files.writeString(Files.createTempFile(dir, "hba", ".conf"), hba);
        Path identFile = Files.writeString(Files.createTempFile(dir, "ident", ".conf"),
                "# MAP     SYSTEM-USER   PG-USER\nosusers   " + OS_USER + "   app\n");
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("auth_type", "hba")
                .set("auth_hba_file", hbaFile.toString())
                .set("auth_ident_file", identFile.toString())
                .set("pool_mode", "session")
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("client_tls_sslmode", "prefer")
                .set("client_tls_key_file", server.key().toString())
                .set("client_tls_cert_file", server.cert().toString())
                .set("client_tls_ca_file", ca.caCert().toString())
                .user("app", "apppass")
                .user("md5user", "md5pass");
        for (String db : new String[] {"trustdb", "rejectdb", "md5db", "scramdb", "plaindb", "certdb", "sslonly", "nomatch"}) {
            b.database(db, pg, "app");
        }
        return b;
    }

    private static Connection connect(String db, String user, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        return Drivers.PGJDBC.connect(pgloom.jdbcUrl(db), props);
    }

    private static String currentUser(String db, String user, String password) throws SQLException {
        try (Connection c = connect(db, user, password)) {
            return Sql.value(c, "select current_user");
        }
    }

    private static SQLException refused(String db, String user, String password) {
        return Sql.error(() -> connect(db, user, password).close());
    }

    /** psql over TLS presenting the client certificate for CN=app. */
    private static Psql withAppCertificate(String db, String user) {
        return Psql.to(pgloom, db, user, "").withEnv("PGSSLMODE", "require")
                .withEnv("PGSSLCERT", appCert.cert().toString()).withEnv("PGSSLKEY", appCert.key().toString());
    }

    @Test
    void trustAndReject() throws SQLException {
        assertThat(currentUser("trustdb", "app", "not the password")).isEqualTo("app");
        // trust still needs a user pgloom knows
        SQLException unknown = refused("trustdb", "nobody_here", "");
        assertThat(unknown.getMessage()).as(unknown.toString()).contains("\"trust\" authentication failed");
        SQLException e = refused("rejectdb", "app", "apppass");
        assertThat(e.getMessage()).contains("login rejected");
        pgloom.waitForLog("rejectdb/app@127.0.0.1:\\d+ closing because: login rejected", LOG_WAIT);
    }

    @Test
    void passwordMethods() throws SQLException {
        assertThat(currentUser("md5db", "md5user", "md5pass")).isEqualTo("md5user");
        assertThat(refused("md5db", "md5user", "wrong").getMessage()).contains("password authentication failed");
        assertThat(currentUser("scramdb", "app", "apppass")).isEqualTo("app");
        assertThat(refused("scramdb", "app", "wrong").getMessage()).contains("SASL authentication failed");
        assertThat(currentUser("plaindb", "app", "apppass")).isEqualTo("app");
        assertThat(refused("plaindb", "app", "wrong").getMessage()).contains("password authentication failed");
        // psql too, with its own md5 implementation
        assertThat(Psql.to(pgloom, "md5db", "app", "apppass").value("select current_user")).isEqualTo("app");
    }

    @Test
    void noMatchingLine() {
        SQLException e = refused("nomatch", "app", "apppass");
        assertThat(e.getSQLState()).as(e.toString()).isEqualTo("28000");
        assertThat(e.getMessage())
                .contains("no pg_hba.conf entry for host \"127.0.0.1\", user \"app\", database \"nomatch\", no encryption");
        Psql.Result overTls = Psql.to(pgloom, "nomatch", "app", "apppass").withEnv("PGSSLMODE", "require").command("select 1");
        assertThat(overTls.stderr()).contains("database \"nomatch\", SSL encryption");
    }

    @Test
    void hostsslAndHostnossl() {
        Psql.Result plain = Psql.to(pgloom, "sslonly", "app", "apppass").withEnv("PGSSLMODE", "disable").command("select 1");
        assertThat(plain.exitCode()).as(plain.toString()).isEqualTo(2);
        assertThat(plain.stderr()).contains("login rejected");
        Psql.Result tls = Psql.to(pgloom, "sslonly", "app", "apppass").withEnv("PGSSLMODE", "require")
                .command("select 'hostssl'");
        assertThat(tls.exitCode()).as(tls.toString()).isZero();
        assertThat(tls.stdout()).contains("hostssl");
    }

    @Test
    void certificateAuthentication() {
        assertThat(withAppCertificate("certdb", "app").value("select current_user")).isEqualTo("app");

        long mark = pgloom.logSize();
        Psql.Result otherUser = withAppCertificate("certdb", "md5user").command("select 1");
        assertThat(otherUser.exitCode()).as(otherUser.toString()).isEqualTo(2);
        assertThat(otherUser.stderr()).contains("certificate authentication failed");
        pgloom.waitForLogAfter(mark, "ERROR C-0x[0-9a-f]+: certdb/md5user@127.0.0.1:\\d+ TLS certificate name mismatch", LOG_WAIT);

        mark = pgloom.logSize();
        Psql.Result noCertificate = Psql.to(pgloom, "certdb", "app", "").withEnv("PGSSLMODE", "require")
                .withEnv("PGSSLCERT", dir.resolve("none.crt").toString()).command("select 1");
        assertThat(noCertificate.stderr()).contains("certificate authentication failed");
        pgloom.waitForLogAfter(mark, "certdb/app@127.0.0.1:\\d+ TLS client certificate required", LOG_WAIT);

        // hostssl only: without TLS no line matches
        Psql.Result plain = Psql.to(pgloom, "certdb", "app", "").withEnv("PGSSLMODE", "disable").command("select 1");
        assertThat(plain.stderr()).contains("no pg_hba.conf entry for host \"127.0.0.1\", user \"app\", database \"certdb\"");
    }

    @Test
    void peerOverTheUnixSocketWithAnIdentMap() {
        assertThat(Psql.toSocket(pgloom, "trustdb", "app", "").value("select current_user")).isEqualTo("app");

        long mark = pgloom.logSize();
        Psql.Result unmapped = Psql.toSocket(pgloom, "trustdb", "md5user", "md5pass").command("select 1");
        assertThat(unmapped.exitCode()).as(unmapped.toString()).isEqualTo(2);
        assertThat(unmapped.stderr()).contains("unix socket login rejected");
        pgloom.waitForLogAfter(mark, "no match in ident map \"osusers\" for OS user \"" + OS_USER + "\" as user \"md5user\"",
                LOG_WAIT);
    }

    @Test
    void reloadKeepsTheRulesWhenTheFileIsBroken() throws IOException, SQLException {
        try (PgloomProcess own = pooler(HBA).start()) {
            Path hbaFile = Path.of(hbaFileOf(own));
            Files.writeString(hbaFile, "host all all 127.0.0.1/32 bogus\n");
            long mark = own.logSize();
            own.signal("HUP");
            own.waitForLogAfter(mark, "ERROR auth_hba_file: " + hbaFile + ":1: invalid authentication method \"bogus\""
                    + " (keeping the HBA rules in force)", LOG_WAIT);
            Properties props = new Properties();
            props.setProperty("user", "app");
            props.setProperty("password", "whatever");
            try (Connection c = Drivers.PGJDBC.connect(own.jdbcUrl("trustdb"), props)) {
                assertThat(Sql.value(c, "select 'old rules'")).isEqualTo("old rules");
            }

            Files.writeString(hbaFile, "host all all 127.0.0.1/32 reject\n");
            mark = own.logSize();
            own.signal("HUP");
            own.waitForLogAfter(mark, "got SIGHUP, re-reading config", LOG_WAIT);
            Wait.until("the new rules refuse trustdb", LOG_WAIT, () -> {
                try (Connection c = Drivers.PGJDBC.connect(own.jdbcUrl("trustdb"), props)) {
                    return false;
                } catch (SQLException e) {
                    return e.getMessage().contains("login rejected");
                }
            });
        }
    }

    /** The auth_hba_file of a running pgloom, from its config. */
    private static String hbaFileOf(PgloomProcess p) {
        String config = Exec.read(p.configFile());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^auth_hba_file = \"([^\"]+)\"").matcher(config);
        assertThat(m.find()).as(config).isTrue();
        return m.group(1);
    }
}
