package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication on both sides of pgloom with pgjdbc (and psql) as clients.
 *
 * <p>Client side: auth_type md5, scram-sha-256, plain and trust, each with the right and a wrong
 * password and an unknown user (which must fail exactly like a wrong password); any (every name
 * logs in as the forced user; a database without one is a config error) and cert (a client
 * certificate for the user logs in, one for another user does not); auth_file secrets in plain,
 * {@code md5...} and {@code SCRAM-SHA-256$...} form. auth_type hba is HbaIT's.
 *
 * <p>Server side: pgloom logging in to PostgreSQL with md5 (role md5user), with SCRAM from a
 * plain password, and with SCRAM pass-through (only the SCRAM secret is known, the keys come
 * from the client's own SCRAM login), and a wrong server password with server_login_retry.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AuthIT {

    private static PgCluster pg;
    /** The SCRAM secret PostgreSQL stores for role app (password apppass). */
    private static String appScramSecret;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        try (Connection admin = Sql.admin(pg)) {
            appScramSecret = Sql.value(admin, "select rolpassword from pg_authid where rolname = 'app'");
        }
        assertThat(appScramSecret).startsWith("SCRAM-SHA-256$4096:");
        try (Connection admin = Sql.admin(pg)) {
            assertThat(Sql.value(admin, "show password_encryption")).isEqualTo("scram-sha-256");
        }
    }

    private static PgloomProcess.Builder pooler(String authType) {
        return PgloomProcess.builder()
                .set("auth_type", authType)
                .set("pool_mode", "session")
                .set("default_pool_size", 3)
                .set("ignore_startup_parameters", "extra_float_digits");
    }

    private static Connection connect(PgloomProcess pgloom, String db, String user, String password)
            throws SQLException {
        return Sql.connect(pgloom, db, user, password, "");
    }

    private static String currentUser(PgloomProcess pgloom, String db, String user, String password)
            throws SQLException {
        try (Connection c = connect(pgloom, db, user, password)) {
            return Sql.value(c, "select current_user");
        }
    }

    /** "md5" + md5hex(password + user): PostgreSQL's and PgBouncer's md5 secret. */
    private static String md5Secret(String user, String password) {
        try {
            byte[] digest = MessageDigest.getInstance("MD5")
                    .digest((password + user).getBytes(StandardCharsets.UTF_8));
            return "md5" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The right password logs in; a wrong password and an unknown user both fail with 28P01 and
     * the same message text (apart from nothing: the unknown user must not be told apart).
     */
    private static void assertPasswordChecked(PgloomProcess pgloom, String expectedFailure) throws SQLException {
        assertThat(currentUser(pgloom, "app", "app", "apppass")).isEqualTo("app");

        SQLException wrong = Sql.error(() -> connect(pgloom, "app", "app", "wrong-password").close());
        assertThat(wrong.getSQLState()).as(wrong.toString()).isEqualTo("28P01");
        assertThat(wrong.getMessage()).contains(expectedFailure);

        SQLException unknown = Sql.error(() -> connect(pgloom, "app", "nobody_here", "wrong-password").close());
        assertThat(unknown.getSQLState()).as(unknown.toString()).isEqualTo(wrong.getSQLState());
        assertThat(unknown.getMessage()).contains(expectedFailure)
                .doesNotContainIgnoringCase("no such user")
                .doesNotContainIgnoringCase("does not exist")
                .doesNotContainIgnoringCase("unknown");
        assertThat(unknown.getMessage().replace("nobody_here", "app")).isEqualTo(wrong.getMessage());

        pgloom.waitForLog("app/app@127.0.0.1:\\d+ closing because: " + expectedFailure, Duration.ofSeconds(5));
        pgloom.waitForLog("app/nobody_here@127.0.0.1:\\d+ closing because: " + expectedFailure, Duration.ofSeconds(5));
    }

    // *** Client side: auth_type ***

    @Test
    void md5() throws SQLException {
        try (PgloomProcess pgloom = pooler("md5").database("app", pg, "app").user("app", "apppass").start()) {
            assertPasswordChecked(pgloom, "password authentication failed");
            // psql too: the FATAL text reaches its stderr.
            Psql.Result psql = Psql.to(pgloom, "app", "app", "nope").command("select 1");
            assertThat(psql.exitCode()).as(psql.toString()).isEqualTo(2);
            assertThat(psql.stderr()).contains("password authentication failed");
            assertThat(Psql.to(pgloom, "app", "app", "apppass").value("select current_user")).isEqualTo("app");
        }
    }

    @Test
    void scramSha256() throws SQLException {
        try (PgloomProcess pgloom = pooler("scram-sha-256").database("app", pg, "app").user("app", "apppass")
                .start()) {
            assertPasswordChecked(pgloom, "SASL authentication failed");
            Psql.Result psql = Psql.to(pgloom, "app", "app", "nope").command("select 1");
            assertThat(psql.exitCode()).as(psql.toString()).isEqualTo(2);
            assertThat(psql.stderr()).contains("SASL authentication failed");
        }
    }

    @Test
    void plain() throws SQLException {
        try (PgloomProcess pgloom = pooler("plain").database("app", pg, "app").user("app", "apppass").start()) {
            assertPasswordChecked(pgloom, "password authentication failed");
        }
    }

    @Test
    void trust() throws SQLException {
        try (PgloomProcess pgloom = pooler("trust").database("app", pg, "app").user("app", "apppass").start()) {
            // No password asked: any (or no) password logs in.
            assertThat(currentUser(pgloom, "app", "app", "")).isEqualTo("app");
            assertThat(currentUser(pgloom, "app", "app", "whatever")).isEqualTo("app");
            assertThat(Psql.to(pgloom, "app", "app", "").value("select current_user")).isEqualTo("app");
            // A user missing from the auth_file is still refused.
            SQLException unknown = Sql.error(() -> connect(pgloom, "app", "nobody_here", "").close());
            assertThat(unknown.getSQLState()).as(unknown.toString()).startsWith("28");
            assertThat(unknown.getMessage()).contains("authentication failed").doesNotContainIgnoringCase("no such user");
        }
    }

    @Test
    void any() throws SQLException {
        Map<String, Object> forced = new LinkedHashMap<>(Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                "user", "app", "password", "apppass"));
        try (PgloomProcess pgloom = pooler("any").database("app", forced).start()) {
            // No password asked, the name given is ignored: the forced user logs in.
            assertThat(currentUser(pgloom, "app", "whoever", "")).isEqualTo("app");
            assertThat(Psql.to(pgloom, "app", "someone_else", "").value("select current_user")).isEqualTo("app");
        }
        // A database without a forced user cannot be used with auth_type any: the config is refused.
        Path bad = pooler("any").database("app", forced).database("noforced", pg, "app").writeConfig();
        PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of(bad.toString()), Duration.ofSeconds(30));
        assertThat(exit.code()).as(exit.output()).isEqualTo(1);
        assertThat(exit.output()).contains("[databases.noforced] user: auth_type = \"any\" requires a forced user on every database")
                .doesNotContain("Exception");
    }

    @Test
    void cert(@TempDir Path dir) {
        Certs ca = Certs.newCa(dir, "authit");
        Certs.Pair server = ca.server("pgloom", "pgloom");
        Certs.Pair appCert = ca.client("app-client", "app");
        try (PgloomProcess pgloom = pooler("cert").set("client_tls_sslmode", "require")
                .set("client_tls_key_file", server.key().toString())
                .set("client_tls_cert_file", server.cert().toString())
                .set("client_tls_ca_file", ca.caCert().toString())
                .database("app", pg, "app").user("app", "apppass").user("md5user", "md5pass").start()) {
            Psql.Result ok = Psql.to(pgloom, "app", "app", "").withEnv("PGSSLMODE", "require")
                    .withEnv("PGSSLCERT", appCert.cert().toString()).withEnv("PGSSLKEY", appCert.key().toString())
                    .command("select current_user");
            assertThat(ok.exitCode()).as(ok.toString()).isZero();
            assertThat(ok.stdout()).contains("app");
            // the certificate names app, not md5user
            Psql.Result other = Psql.to(pgloom, "app", "md5user", "md5pass").withEnv("PGSSLMODE", "require")
                    .withEnv("PGSSLCERT", appCert.cert().toString()).withEnv("PGSSLKEY", appCert.key().toString())
                    .command("select 1");
            assertThat(other.exitCode()).as(other.toString()).isEqualTo(2);
            assertThat(other.stderr()).contains("certificate authentication failed");
        }
    }

    // *** Client side: auth_file secrets ***

    @Test
    void authFileMd5Secret() throws SQLException {
        // The md5 secret serves the client check and the md5 login to PostgreSQL (role md5user).
        try (PgloomProcess pgloom = pooler("md5").database("app", pg, "app")
                .user("md5user", md5Secret("md5user", "md5pass")).start()) {
            assertThat(currentUser(pgloom, "app", "md5user", "md5pass")).isEqualTo("md5user");
            SQLException wrong = Sql.error(() -> connect(pgloom, "app", "md5user", "md5pas").close());
            assertThat(wrong.getSQLState()).as(wrong.toString()).isEqualTo("28P01");
            assertThat(wrong.getMessage()).contains("password authentication failed");
        }
    }

    @Test
    void authFileScramSecretChecksClients() throws SQLException {
        // Forced server user with its own password: only the client side uses the SCRAM secret.
        Map<String, Object> db = new LinkedHashMap<>(Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                "user", "app", "password", "apppass"));
        for (String authType : new String[] {"scram-sha-256", "md5"}) {
            // With auth_type md5, a user with a SCRAM secret is asked for SCRAM instead.
            try (PgloomProcess pgloom = pooler(authType).database("app", db).user("app", appScramSecret).start()) {
                assertThat(currentUser(pgloom, "app", "app", "apppass")).as(authType).isEqualTo("app");
                SQLException wrong = Sql.error(() -> connect(pgloom, "app", "app", "apppas").close());
                assertThat(wrong.getSQLState()).as(authType + ": " + wrong).isEqualTo("28P01");
                assertThat(wrong.getMessage()).contains("SASL authentication failed");
                // every secret pgloom holds is SCRAM: an unknown user is asked for SCRAM too, never MD5
                SQLException unknown = Sql.error(() -> connect(pgloom, "app", "nobody_here", "apppas").close());
                assertThat(unknown.getSQLState()).as(authType + ": " + unknown).isEqualTo("28P01");
                assertThat(unknown.getMessage()).as(authType).contains("SASL authentication failed");
            }
        }
    }

    // *** Server side ***

    @Test
    void serverLoginWithMd5() throws SQLException {
        Map<String, Object> db = new LinkedHashMap<>(Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                "user", "md5user", "password", "md5pass"));
        try (PgloomProcess pgloom = pooler("md5").database("app", db).user("app", "apppass").start()) {
            try (Connection c = connect(pgloom, "app", "app", "apppass")) {
                assertThat(Sql.value(c, "select current_user")).isEqualTo("md5user");
                assertThat(Sql.value(c, "select session_user")).isEqualTo("md5user");
            }
        }
    }

    @Test
    void serverLoginWithScramFromPlainPassword() throws SQLException {
        try (PgloomProcess pgloom = pooler("md5").database("app", pg, "app").user("app", "apppass").start()) {
            // Three sessions at once: three SCRAM logins to PostgreSQL.
            try (Connection a = connect(pgloom, "app", "app", "apppass");
                    Connection b = connect(pgloom, "app", "app", "apppass");
                    Connection c = connect(pgloom, "app", "app", "apppass")) {
                assertThat(Sql.value(a, "select current_user")).isEqualTo("app");
                assertThat(Sql.value(b, "select pg_backend_pid()")).isNotEqualTo(Sql.value(c, "select pg_backend_pid()"));
            }
            assertThat(pgloom.log()).contains("new connection to server");
        }
    }

    @Test
    void serverLoginWithScramPassThrough() throws SQLException {
        // Only the SCRAM secret is known to pgloom: it cannot compute a proof by itself and must
        // reuse the keys recovered from the client's SCRAM login.
        for (String authType : new String[] {"scram-sha-256", "md5"}) {
            try (PgloomProcess pgloom = pooler(authType).database("app", pg, "app").user("app", appScramSecret)
                    .start()) {
                try (Connection a = connect(pgloom, "app", "app", "apppass");
                        Connection b = connect(pgloom, "app", "app", "apppass")) {
                    assertThat(Sql.value(a, "select current_user")).as(authType).isEqualTo("app");
                    assertThat(Sql.value(b, "select 'second server login'")).isEqualTo("second server login");
                    assertThat(Sql.value(a, "select pg_backend_pid()")).isNotEqualTo(Sql.value(b, "select pg_backend_pid()"));
                }
                // A later client reuses the keys too, also for a fresh server login.
                try (Connection a = connect(pgloom, "app", "app", "apppass");
                        Connection b = connect(pgloom, "app", "app", "apppass");
                        Connection c = connect(pgloom, "app", "app", "apppass")) {
                    assertThat(Sql.value(c, "select current_user")).isEqualTo("app");
                }
                assertThat(pgloom.log()).doesNotContain("login failed");
                assertNoFileContains(pgloom.dir(), "apppass");
            }
        }
    }

    /** No file of pgloom's (config, auth_file, log) holds {@code text}. */
    private static void assertNoFileContains(Path dir, String text) {
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as(f.toString()).doesNotContain(text);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void wrongServerPasswordThenLoginRetry() throws SQLException {
        Map<String, Object> db = new LinkedHashMap<>(Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                "user", "app", "password", "not-apppass"));
        try (PgloomProcess pgloom = pooler("md5").set("server_login_retry", 30).database("badpw", db)
                .database("app", pg, "app").user("app", "apppass").start()) {
            SQLException first = Sql.error(() -> connect(pgloom, "badpw", "app", "apppass").close());
            // PostgreSQL's own error, passed on.
            assertThat(first.getSQLState()).as(first.toString()).isEqualTo("28P01");
            assertThat(first.getMessage()).contains("password authentication failed for user \"app\"");
            pgloom.waitForLog("badpw/app@\\S+ closing because: login failed", Duration.ofSeconds(5));

            long started = System.nanoTime();
            SQLException second = Sql.error(() -> connect(pgloom, "badpw", "app", "apppass").close());
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(second.getMessage()).as(second.toString()).contains("server login has been failing");
            assertThat(took).as("failing fast during server_login_retry").isLessThan(Duration.ofSeconds(3));

            // Other pools are not affected.
            assertThat(currentUser(pgloom, "app", "app", "apppass")).isEqualTo("app");
        }
    }
}
