package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * auth_user + auth_query against the real PostgreSQL, whose roles have SCRAM secrets (and md5user
 * an md5 one): no auth_file entry for the users who log in, only for auth_user. pgloom checks the
 * client against the secret the query returns and logs in to PostgreSQL with SCRAM pass-through,
 * so no plaintext password of theirs is in any file. Also: the md5 → SCRAM upgrade for a SCRAM
 * secret (an HBA md5 line), an md5 secret, an expired role (NULL secret), a role that does not
 * exist, a password changed in PostgreSQL, per-database auth_query and auth_dbname, a broken
 * auth_query, and CVE-2025-12819: the connecting client's tracked search_path is not SET on the
 * auth_query connection.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AuthQueryIT {

    private static final Duration LOG_WAIT = Duration.ofSeconds(10);
    private static final String HBA = """
            host  app_md5  all  127.0.0.1/32  md5
            host  all      all  127.0.0.1/32  scram-sha-256
            """;

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        try (Connection admin = Sql.admin(pg)) {
            Sql.exec(admin, "DROP ROLE IF EXISTS aq_expired");
            Sql.exec(admin, "CREATE ROLE aq_expired LOGIN PASSWORD 'exppass' VALID UNTIL '2000-01-01'");
            Sql.exec(admin, "DROP ROLE IF EXISTS aq_changing");
            Sql.exec(admin, "CREATE ROLE aq_changing LOGIN PASSWORD 'first'");
            Sql.exec(admin, "GRANT CONNECT ON DATABASE app TO aq_changing");
        }
        try (Connection appDb = pg.connect("app", pg.superuser(), pg.password())) {
            // What a search_path of "evil, pg_catalog" would make the default auth_query read.
            Sql.exec(appDb, "DROP SCHEMA IF EXISTS evil CASCADE");
            Sql.exec(appDb, "CREATE SCHEMA evil");
            Sql.exec(appDb, "CREATE TABLE evil.pg_authid (rolname name, rolpassword text, rolvaliduntil timestamptz,"
                    + " rolcanlogin bool)");
            Sql.exec(appDb, "INSERT INTO evil.pg_authid VALUES ('ghost', 'ghostpass', NULL, true),"
                    + " ('app', 'evilpass', NULL, true)");
        }
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("auth_type", "hba")
                .file("hba.conf", HBA)
                .set("pool_mode", "transaction")
                .set("default_pool_size", 3)
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("track_extra_parameters", List.of("IntervalStyle", "search_path"))
                .set("auth_user", pg.superuser())
                .user(pg.superuser(), pg.password())
                .database("app", pg, "app")
                .database("app_md5", pg, "app")
                .database("authdb", Map.of("host", pg.host(), "port", pg.port(), "dbname", "postgres",
                        "pool_mode", "session"))
                .database("app_authdb", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "auth_dbname", "authdb",
                        "auth_query", "SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1"))
                .database("probe", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "auth_query", "SELECT rolname, CASE WHEN current_setting('application_name') = 'evil'"
                                + " THEN 'evilpass' ELSE rolpassword END FROM pg_authid WHERE rolname = $1"))
                .database("badquery", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "auth_query", "SELECT rolname, rolpassword, 1 FROM pg_authid WHERE rolname = $1"));
        b.set("auth_hba_file", b.dir().resolve("hba.conf").toString());
        pgloom = b.start();
    }

    @AfterAll
    static void stop() throws SQLException {
        if (pgloom != null) {
            pgloom.close();
        }
        try (Connection appDb = pg.connect("app", pg.superuser(), pg.password())) {
            Sql.exec(appDb, "DROP SCHEMA IF EXISTS evil CASCADE");
        }
        try (Connection admin = Sql.admin(pg)) {
            Sql.exec(admin, "DROP ROLE IF EXISTS aq_expired");
            Sql.exec(admin, "REVOKE CONNECT ON DATABASE app FROM aq_changing");
            Sql.exec(admin, "DROP ROLE IF EXISTS aq_changing");
        }
    }

    private static String currentUser(String db, String user, String password) throws SQLException {
        try (Connection c = Sql.connect(pgloom, db, user, password, "")) {
            return Sql.value(c, "select current_user");
        }
    }

    private static SQLException refused(String db, String user, String password) {
        return Sql.error(() -> Sql.connect(pgloom, db, user, password, "").close());
    }

    @Test
    void scramSecretFromAuthQueryAndPassThroughWithoutAnyPlaintextPassword() throws SQLException {
        long mark = pgloom.logSize();
        // Two sessions at once: two server logins, both by pass-through of the client's SCRAM keys.
        try (Connection a = Sql.connect(pgloom, "app", "app", "apppass", "");
                Connection b = Sql.connect(pgloom, "app", "app", "apppass", "")) {
            Sql.exec(a, "begin");
            Sql.exec(b, "begin");
            assertThat(Sql.value(a, "select current_user")).isEqualTo("app");
            assertThat(Sql.value(b, "select session_user")).isEqualTo("app");
            assertThat(Sql.value(a, "select pg_backend_pid()")).isNotEqualTo(Sql.value(b, "select pg_backend_pid()"));
            Sql.exec(a, "commit");
            Sql.exec(b, "commit");
        }
        assertThat(pgloom.logSince(mark)).contains("new connection to server").doesNotContain("login failed");

        SQLException wrong = refused("app", "app", "wrong-password");
        assertThat(wrong.getSQLState()).as(wrong.toString()).isEqualTo("28P01");
        assertThat(wrong.getMessage()).contains("SASL authentication failed");
        // A role PostgreSQL does not have fails the same way, after the whole exchange.
        SQLException unknown = refused("app", "nobody_here", "wrong-password");
        assertThat(unknown.getSQLState()).isEqualTo(wrong.getSQLState());
        assertThat(unknown.getMessage().replace("nobody_here", "app")).isEqualTo(wrong.getMessage());

        // Only auth_user's password is written anywhere; app's is in no file of pgloom's.
        try (Stream<Path> files = Files.walk(pgloom.dir())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(read(f)).as(f.toString()).doesNotContain("apppass");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void md5LineUpgradesToScramForAScramSecretAndUsesAnMd5Secret() throws SQLException {
        // app has a SCRAM secret: the md5 line asks for SCRAM instead (pgjdbc and psql follow).
        assertThat(currentUser("app_md5", "app", "apppass")).isEqualTo("app");
        assertThat(refused("app_md5", "app", "nope").getMessage()).contains("SASL authentication failed");
        assertThat(Psql.to(pgloom, "app_md5", "app", "apppass").value("select current_user")).isEqualTo("app");
        // md5user has an md5 secret: an MD5 exchange, and the hash logs in to PostgreSQL.
        assertThat(currentUser("app_md5", "md5user", "md5pass")).isEqualTo("md5user");
        assertThat(refused("app_md5", "md5user", "nope").getMessage()).contains("password authentication failed");
    }

    @Test
    void unknownUserUnderAnMd5LineGetsTheScramChallengeOfTheScramSecretsFound() throws Exception {
        // auth_query finds SCRAM secrets (PostgreSQL's default) more often than others in this class
        // (md5user logs in twice, in the test above): an unknown user gets SCRAM, as app does, not MD5.
        for (int i = 0; i < 3; i++) {
            assertThat(currentUser("app_md5", "app", "apppass")).isEqualTo("app");
        }
        assertThat(firstChallenge("app_md5", "app")).as("a known SCRAM user").isEqualTo(10);
        assertThat(firstChallenge("app_md5", "nobody_at_all")).as("an unknown user").isEqualTo(10);
    }

    /** The authentication request code pgloom answers a StartupMessage with (10 SASL, 5 MD5). */
    private static int firstChallenge(String db, String user) throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            raw.send(RawPg.startupPacket(new java.util.LinkedHashMap<>(Map.of("user", user, "database", db))));
            RawPg.Message m = raw.read();
            assertThat(m.tag()).as(m.toString()).isEqualTo('R');
            return java.nio.ByteBuffer.wrap(m.body()).getInt();
        }
    }

    @Test
    void expiredRoleGetsANullSecretAndFailsLikeAWrongPassword() {
        // The default auth_query returns NULL past VALID UNTIL (CVE-2025-2291).
        SQLException expired = refused("app", "aq_expired", "exppass");
        assertThat(expired.getSQLState()).as(expired.toString()).isEqualTo("28P01");
        assertThat(expired.getMessage()).contains("SASL authentication failed");
    }

    @Test
    void passwordChangedInPostgresIsSeenAtTheNextLogin() throws SQLException {
        assertThat(currentUser("app", "aq_changing", "first")).isEqualTo("aq_changing");
        try (Connection admin = Sql.admin(pg)) {
            Sql.exec(admin, "ALTER ROLE aq_changing PASSWORD 'second'");
        }
        try {
            assertThat(refused("app", "aq_changing", "first").getMessage()).contains("SASL authentication failed");
            assertThat(currentUser("app", "aq_changing", "second")).isEqualTo("aq_changing");
        } finally {
            try (Connection admin = Sql.admin(pg)) {
                Sql.exec(admin, "ALTER ROLE aq_changing PASSWORD 'first'");
            }
        }
    }

    @Test
    void perDatabaseAuthQueryRunsInAuthDbname() throws SQLException {
        long mark = pgloom.logSize();
        assertThat(currentUser("app_authdb", "app", "apppass")).isEqualTo("app");
        // the lookup ran on a server of database authdb as auth_user
        pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: authdb/postgres@\\S+ new connection to server", LOG_WAIT);
        assertThat(refused("app_authdb", "app", "nope").getMessage()).contains("SASL authentication failed");
    }

    @Test
    void brokenAuthQueryRefusesTheLoginWithTheReasonInTheLog() {
        long mark = pgloom.logSize();
        SQLException e = refused("badquery", "app", "apppass");
        assertThat(e.getSQLState()).as(e.toString()).isEqualTo("28000");
        assertThat(e.getMessage()).contains("auth_query failed");
        pgloom.waitForLogAfter(mark, "badquery/app@127.0.0.1:\\d+ expected 2 columns from auth_query, not 3", LOG_WAIT);
        pgloom.waitForLogAfter(mark, "badquery/app@127.0.0.1:\\d+ closing because: auth_query failed", LOG_WAIT);
    }

    /**
     * CVE-2025-12819: a client's tracked parameters must not steer the lookup of its own secret.
     * PostgreSQL before 18 does not report search_path, so pgloom (as PgBouncer) could not SET it
     * anyway; application_name is reported, so a SET of it on the auth_query connection would show
     * in what the probe database's auth_query returns.
     */
    @Test
    void clientApplicationNameIsNotSetOnTheAuthQueryConnection() throws SQLException {
        SQLException e = Sql.error(() -> Sql.connect(pgloom, "probe", "app", "evilpass", "ApplicationName=evil").close());
        assertThat(e.getSQLState()).as(e.toString()).isEqualTo("28P01");
        assertThat(e.getMessage()).contains("SASL authentication failed");
        // The control: logged in, the client's own server does get its application_name.
        try (Connection c = Sql.connect(pgloom, "probe", "app", "apppass", "ApplicationName=evil")) {
            assertThat(Sql.value(c, "show application_name")).isEqualTo("evil");
            assertThat(Sql.value(c, "select current_setting('application_name') = 'evil'")).isEqualTo("t");
        }
    }

    /** CVE-2025-12819 as reported: a tracked search_path naming a schema with its own pg_authid. */
    @Test
    void clientSearchPathIsNotSetOnTheAuthQueryConnection() throws SQLException {
        String options = "options=-c%20search_path%3Devil,pg_catalog";
        // The control: with that search_path the default auth_query would read evil.pg_authid.
        try (Connection direct = pg.connect("app", pg.superuser(), pg.password())) {
            Sql.exec(direct, "SET search_path = evil, pg_catalog");
            assertThat(Sql.value(direct, "SELECT rolpassword FROM pg_authid WHERE rolname = 'ghost'")).isEqualTo("ghostpass");
        }
        // Through pgloom: ghost is unknown, and app's real secret is the one checked.
        SQLException ghost = Sql.error(() -> Sql.connect(pgloom, "app", "ghost", "ghostpass", options).close());
        assertThat(ghost.getSQLState()).as(ghost.toString()).isEqualTo("28P01");
        assertThat(ghost.getMessage()).contains("SASL authentication failed");
        SQLException evil = Sql.error(() -> Sql.connect(pgloom, "app", "app", "evilpass", options).close());
        assertThat(evil.getMessage()).contains("SASL authentication failed");
        assertThat(currentUser("app", "app", "apppass")).isEqualTo("app");
    }

    private static String read(Path f) throws IOException {
        return new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
    }
}
