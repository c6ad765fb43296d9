package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Proves the harness itself: the throwaway PostgreSQL from {@link PgCluster} takes SCRAM and md5
 * logins, psql and pgbench work against it, and it survives restarts. No pgloom here: when
 * this fails, every other IT is meaningless.
 */
class HarnessSmokeIT {

    private static PgCluster pg;

    @BeforeAll
    static void startPostgres() {
        pg = PgCluster.get();
    }

    @Test
    void superuserLogsInWithScram() throws SQLException {
        try (Connection c = pg.connect("postgres", pg.superuser(), pg.password())) {
            assertThat(query(c, "select 1")).isEqualTo("1");
            assertThat(query(c, "select left(rolpassword, 14) from pg_authid where rolname = 'postgres'"))
                    .isEqualTo("SCRAM-SHA-256$");
            assertThat(query(c, "show max_connections")).isEqualTo("300");
        }
    }

    @Test
    void md5UserLogsInWithMd5() throws SQLException {
        try (Connection c = pg.connect("postgres", pg.superuser(), pg.password())) {
            assertThat(query(c, "select left(rolpassword, 3) from pg_authid where rolname = 'md5user'"))
                    .isEqualTo("md5");
        }
        try (Connection c = pg.connect("app", "md5user", "md5pass")) {
            assertThat(query(c, "select current_user")).isEqualTo("md5user");
        }
    }

    @Test
    void appUserOwnsAppDatabase() throws SQLException {
        try (Connection c = pg.connect("app", "app", "apppass")) {
            assertThat(query(c, "select pg_get_userbyid(datdba) from pg_database where datname = 'app'"))
                    .isEqualTo("app");
        }
    }

    @Test
    void wrongPasswordIsRejected() {
        assertThatThrownBy(() -> pg.connect("app", "app", "wrong").close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
    }

    @Test
    void psqlRunsAgainstPostgres() {
        Psql psql = Psql.to(pg, "postgres");
        assertThat(psql.value("select 40 + 2")).isEqualTo("42");

        Psql.Result failed = psql.command("select * from no_such_table");
        assertThat(failed.exitCode()).as(failed.toString()).isNotZero();
        assertThat(failed.stderr()).contains("no_such_table");
    }

    @Test
    void psqlOverUnixSocket() {
        assumeTrue(pg.isLocal(), "unix socket only with the local harness");
        Psql psql = new Psql(pg.socketDir().toString(), pg.port(), "app", "", "app");
        assertThat(psql.value("select current_user")).isEqualTo("app");
    }

    @Test
    void pgbenchRunsWithoutFailures() {
        Pgbench bench = Pgbench.to(pg, "app", "app", "apppass");
        bench.init(1);
        Pgbench.Result result = bench.run(Duration.ofSeconds(60), "-S", "-T", "3", "-c", "4", "-j", "2");
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.processed()).as(result.toString()).isPositive();
        assertThat(result.failed()).as(result.toString()).isZero();
        assertThat(result.tps()).as(result.toString()).isPositive();
        assertThat(result.ok()).isTrue();
    }

    @Test
    void restartsAndAcceptsNewConnections() throws SQLException {
        assumeTrue(pg.isLocal(), "restart only with the local harness");
        for (boolean immediate : new boolean[] {true, false}) {
            try (Connection before = pg.connect("app", "app", "apppass")) {
                assertThat(query(before, "select 1")).isEqualTo("1");
                pg.restart(immediate);
                assertThatThrownBy(() -> query(before, "select 1"))
                        .as("a connection from before the restart (immediate=%s)", immediate)
                        .isInstanceOf(SQLException.class);
            }
            // pg_ctl -w returned, so the server must take connections at once: no retry here.
            try (Connection after = pg.connect("app", "app", "apppass")) {
                assertThat(query(after, "select 1")).isEqualTo("1");
            }
        }
    }

    @Test
    void stopsAndStartsServer() throws SQLException {
        assumeTrue(pg.isLocal(), "stop/start only with the local harness");
        pg.stopServer(false);
        try {
            assertThatThrownBy(() -> pg.connect("app", "app", "apppass").close())
                    .isInstanceOf(SQLException.class);
        } finally {
            pg.startServer();
        }
        String one = Wait.untilSucceeds("a connection after the server came back", Duration.ofSeconds(30),
                () -> {
                    try (Connection c = pg.connect("app", "app", "apppass")) {
                        return query(c, "select 1");
                    }
                });
        assertThat(one).isEqualTo("1");
    }

    private static String query(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).as("a row from: %s", sql).isTrue();
            return rs.getString(1);
        }
    }
}
