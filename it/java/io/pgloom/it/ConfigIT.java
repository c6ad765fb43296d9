package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line and the config files: bad TOML is refused with one clear line (file, key,
 * problem, no stack trace), {@code --check} and {@code --version}, and an unchanged
 * {@code pgbouncer.ini} with databases, users and an auth file that serves clients as the same
 * TOML does, and {@code bin/pgloom convert} printing TOML that runs the same (the login lines show
 * the effective pool mode; SHOW CONFIG, DATABASES and USERS match).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ConfigIT {

    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(30);
    private static final String PROBE_SQL = "select current_user || '/' || current_database() || '/' || (6 * 7)";

    private static PgCluster pg;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
    }

    private static PgloomProcess.Builder goodConfig() {
        return PgloomProcess.builder()
                .set("pool_mode", "session")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", pg, "app")
                .user("app", "apppass");
    }

    /** Exit code 1, one line per problem, naming the file and the key; no Java internals. */
    private static String assertRefused(Path config, String key) {
        PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of(config.toString()), RUN_TIMEOUT);
        assertThat(exit.code()).as(exit.output()).isEqualTo(1);
        String output = exit.output();
        assertThat(output).contains(config.toString()).contains(key)
                .doesNotContain("at io.pgloom")
                .doesNotContain("Exception")
                .doesNotContain("\tat ");
        List<String> problemLines = output.lines().filter(l -> l.contains(key)).toList();
        assertThat(problemLines).as(output).hasSize(1);
        assertThat(problemLines.get(0)).as(output).startsWith("pgloom: " + config + ": [pgloom] " + key + ":");
        return problemLines.get(0);
    }

    @Test
    void misspelledKeyIsRefusedWithSuggestion() {
        Path config = goodConfig().set("lisen_port", 6432).writeConfig();
        String line = assertRefused(config, "lisen_port");
        assertThat(line).contains("listen_port");
    }

    @Test
    void wrongTypeIsRefused() {
        Path config = goodConfig().set("listen_port", "abc").writeConfig();
        String line = assertRefused(config, "listen_port");
        assertThat(line).contains("abc");
    }

    @Test
    void outOfRangeValueIsRefused() {
        Path config = goodConfig().set("listen_port", 70000).writeConfig();
        String line = assertRefused(config, "listen_port");
        assertThat(line).contains("70000");
    }

    @Test
    void refusedConfigDoesNotStartListening() {
        int port = PgloomProcess.freePort();
        Path config = goodConfig().set("listen_port", port).set("default_pool_size", -5).writeConfig();
        assertRefused(config, "default_pool_size");
        assertThat(Files.exists(config.getParent().resolve(".s.PGSQL." + port))).isFalse();
    }

    @Test
    void checkAcceptsGoodConfig() {
        Path config = goodConfig().writeConfig();
        PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of("--check", config.toString()), RUN_TIMEOUT);
        assertThat(exit.code()).as(exit.output()).isZero();
        assertThat(exit.output()).doesNotContain("Exception");
    }

    @Test
    void checkRefusesBadConfig() {
        Path config = goodConfig().set("pool_mode", "sessions").writeConfig();
        PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of("--check", config.toString()), RUN_TIMEOUT);
        assertThat(exit.code()).as(exit.output()).isEqualTo(1);
        assertThat(exit.output()).contains("pool_mode").contains("sessions").doesNotContain("Exception");
    }

    @Test
    void version() {
        PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of("--version"), RUN_TIMEOUT);
        assertThat(exit.code()).as(exit.output()).isZero();
        assertThat(exit.output()).contains("PgBouncer").contains("pgloom");
    }

    // *** pgbouncer.ini ***

    /** The logins every config below must serve alike: database, user, password. */
    private static final List<List<String>> LOGINS = List.of(
            List.of("app", "app", "apppass"),
            List.of("appstmt", "app", "apppass"),
            List.of("appstmt", "md5user", "md5pass"));

    /**
     * What those logins see: the probe's answer and the pool mode of the login line (general
     * session, database appstmt statement, user md5user transaction: user › database › general).
     */
    private static final List<String> SERVED = List.of(
            "app/app: app/app/42 pool_mode=session",
            "appstmt/app: app/app/42 pool_mode=statement",
            "appstmt/md5user: md5user/app/42 pool_mode=transaction");

    /**
     * An unchanged pgbouncer.ini, as a PgBouncer user has it: comments, spacing, connection
     * strings, a [users] section and an auth file.
     */
    private static Path writeIni(Path dir, int port) throws IOException {
        Path userlist = dir.resolve("userlist.txt");
        Files.writeString(userlist, "\"app\" \"apppass\"\n\"md5user\" \"md5pass\"\n", StandardCharsets.UTF_8);
        String ini = """
                ;; pgbouncer.ini of a test
                [databases]
                app = host=%1$s port=%2$d dbname=app
                appstmt = host=%1$s port=%2$d dbname=app pool_mode=statement

                [users]
                md5user = pool_mode=transaction

                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = %3$d
                unix_socket_dir = %4$s
                auth_type = md5
                auth_file = %5$s
                pool_mode = session
                default_pool_size = 4
                ; pgjdbc sends it
                ignore_startup_parameters = extra_float_digits
                """.formatted(pg.host(), pg.port(), port, dir, userlist);
        Path file = dir.resolve("pgbouncer.ini");
        Files.writeString(file, ini, StandardCharsets.UTF_8);
        return file;
    }

    private static String probe(PgloomProcess pgloom, String db, String user, String password) throws SQLException {
        try (Connection c = pgloom.connect(db, user, password)) {
            return Sql.value(c, PROBE_SQL);
        }
    }

    /** {@link #LOGINS} through pgloom with pgjdbc (and psql: unix socket, wrong password), as {@link #SERVED}. */
    private static List<String> serve(PgloomProcess pgloom) throws SQLException {
        List<String> served = new ArrayList<>();
        for (List<String> login : LOGINS) {
            String db = login.get(0);
            String user = login.get(1);
            long mark = pgloom.logSize();
            String value = probe(pgloom, db, user, login.get(2));
            String line = pgloom.waitForLogAfter(mark, "login attempt: db=" + db + " user=" + user + " ",
                    Duration.ofSeconds(10));
            assertThat(line).contains(" tls=no replication=no pool_mode=");
            served.add(db + "/" + user + ": " + value + " " + line.substring(line.indexOf("pool_mode=")));
        }
        assertThat(Psql.toSocket(pgloom, "app", "app", "apppass").value(PROBE_SQL)).isEqualTo("app/app/42");
        Psql.Result wrong = Psql.to(pgloom, "app", "app", "wrong").command("select 1");
        assertThat(wrong.exitCode()).as(wrong.toString()).isEqualTo(2);
        assertThat(wrong.stderr()).contains("password authentication failed");
        return served;
    }

    /**
     * SHOW CONFIG, DATABASES and USERS on the console, without what differs between two runs of
     * one configuration (conffile, current_* counts).
     */
    private static String consoleView(PgloomProcess pgloom) {
        StringBuilder out = new StringBuilder();
        for (String show : List.of("CONFIG", "DATABASES", "USERS")) {
            Psql.Result r = Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "")
                    .run(Duration.ofSeconds(20), "-A", "-F", "|", "-P", "footer=off", "-c", "SHOW " + show);
            assertThat(r.ok()).as(r.toString()).isTrue();
            List<String> lines = r.stdout().strip().lines().toList();
            List<String> header = List.of(lines.get(0).split("\\|", -1));
            out.append("SHOW ").append(show).append('\n');
            for (String line : lines) {
                if (line.startsWith("conffile|")) {
                    continue;
                }
                String[] cells = line.split("\\|", -1);
                for (int i = 0; i < cells.length && i < header.size(); i++) {
                    if (!header.get(i).startsWith("current_")) {
                        out.append(cells[i]).append('|');
                    }
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    @Test
    void pgbouncerIniServesLikeToml(@TempDir Path dir) throws Exception {
        List<String> viaToml;
        try (PgloomProcess toml = goodConfig()
                .set("default_pool_size", 4)
                .database("appstmt", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "pool_mode", "statement"))
                .userSection("md5user", Map.of("pool_mode", "transaction"))
                .user("md5user", "md5pass")
                .set("auth_type", "md5")
                .start()) {
            viaToml = serve(toml);
        }
        assertThat(viaToml).isEqualTo(SERVED);
        Path ini = writeIni(dir, PgloomProcess.freePort());
        try (PgloomProcess pgloom = PgloomProcess.start(ini)) {
            assertThat(serve(pgloom)).isEqualTo(viaToml);
        }
    }

    /** {@code bin/pgloom convert pgbouncer.ini}: TOML that --check accepts and that runs as the ini does. */
    @Test
    void convertPrintsEquivalentToml(@TempDir Path dir) throws Exception {
        Path ini = writeIni(dir, PgloomProcess.freePort());
        Path script = Path.of(System.getProperty("pgloom.basedir", System.getProperty("user.dir")), "bin", "pgloom");
        Exec.Result converted = Exec.run(List.of(script.toString(), "convert", ini.toString()), Map.of(), RUN_TIMEOUT,
                false);
        assertThat(converted.exitCode()).as(converted.describe()).isZero();
        assertThat(converted.stdout()).contains("[pgloom]").contains("[databases.appstmt]").contains("[users.md5user]")
                .doesNotContain("[pgbouncer]");

        Path toml = dir.resolve("converted.toml");
        Files.writeString(toml, converted.stdout(), StandardCharsets.UTF_8);
        PgloomProcess.Exit check = PgloomProcess.runToExit(List.of("--check", toml.toString()), RUN_TIMEOUT);
        assertThat(check.code()).as(converted.stdout() + "\n----\n" + check.output()).isZero();
        List<String> servedByIni;
        String iniConsole;
        try (PgloomProcess pgloom = PgloomProcess.start(ini)) {
            servedByIni = serve(pgloom);
            iniConsole = consoleView(pgloom);
        }
        try (PgloomProcess pgloom = PgloomProcess.start(toml)) {
            assertThat(serve(pgloom)).isEqualTo(servedByIni).isEqualTo(SERVED);
            assertThat(consoleView(pgloom)).isEqualTo(iniConsole);
        }
    }
}
