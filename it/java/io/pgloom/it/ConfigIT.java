package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line and the config files: bad TOML is refused with one clear line (file, key,
 * problem, no stack trace), {@code --check} and {@code --version}, and an unchanged
 * {@code pgbouncer.ini} (as is, and converted with {@code --convert}) that serves queries.
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

    /** An unchanged pgbouncer.ini, as a PgBouncer user has it (comments, spacing, connstring). */
    private static Path writeIni(Path dir, int port) throws IOException {
        Path userlist = dir.resolve("userlist.txt");
        Files.writeString(userlist, "\"app\" \"apppass\"\n", StandardCharsets.UTF_8);
        String ini = """
                ;; pgbouncer.ini of a test
                [databases]
                app = host=%s port=%d dbname=app

                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = %d
                unix_socket_dir = %s
                auth_type = md5
                auth_file = %s
                pool_mode = session
                default_pool_size = 4
                ; pgjdbc sends it
                ignore_startup_parameters = extra_float_digits
                """.formatted(pg.host(), pg.port(), port, dir, userlist);
        Path file = dir.resolve("pgbouncer.ini");
        Files.writeString(file, ini, StandardCharsets.UTF_8);
        return file;
    }

    private static String probe(PgloomProcess pgloom) throws SQLException {
        try (Connection c = pgloom.connect("app", "app", "apppass")) {
            return Sql.value(c, PROBE_SQL);
        }
    }

    @Test
    void pgbouncerIniServesLikeToml(@TempDir Path dir) throws Exception {
        String viaToml;
        try (PgloomProcess toml = goodConfig().start()) {
            viaToml = probe(toml);
        }
        assertThat(viaToml).isEqualTo("app/app/42");
        Path ini = writeIni(dir, PgloomProcess.freePort());
        try (PgloomProcess pgloom = PgloomProcess.start(ini)) {
            assertThat(probe(pgloom)).isEqualTo(viaToml);
            assertThat(Psql.to(pgloom, "app", "app", "apppass").value(PROBE_SQL)).isEqualTo(viaToml);
            assertThat(Psql.toSocket(pgloom, "app", "app", "apppass").value(PROBE_SQL)).isEqualTo(viaToml);
            Psql.Result wrong = Psql.to(pgloom, "app", "app", "wrong").command("select 1");
            assertThat(wrong.exitCode()).as(wrong.toString()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("password authentication failed");
        }
    }

    @Test
    void convertedIniStartsAndServes(@TempDir Path dir) throws Exception {
        Path ini = writeIni(dir, PgloomProcess.freePort());
        PgloomProcess.Exit converted = PgloomProcess.runToExit(List.of("--convert", ini.toString()), RUN_TIMEOUT);
        assertThat(converted.code()).as(converted.output()).isZero();
        assertThat(converted.output()).contains("[pgloom]").contains("listen_port").doesNotContain("[pgbouncer]");

        Path toml = dir.resolve("converted.toml");
        Files.writeString(toml, converted.output(), StandardCharsets.UTF_8);
        PgloomProcess.Exit check = PgloomProcess.runToExit(List.of("--check", toml.toString()), RUN_TIMEOUT);
        assertThat(check.code()).as(converted.output() + "\n----\n" + check.output()).isZero();
        try (PgloomProcess pgloom = PgloomProcess.start(toml)) {
            assertThat(probe(pgloom)).isEqualTo("app/app/42");
        }
    }
}
