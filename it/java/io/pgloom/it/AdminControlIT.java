package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The console's control commands against real clients: PAUSE/RESUME under pgbench (no server
 * activity while paused, no failed transaction), KILL_CLIENT and KILL, DISABLE/ENABLE, RELOAD
 * (a new database appears; a broken file is refused with F0000 and the old config stays), SET,
 * the stats users' limits and the refusal of the extended protocol. Every test leaves the pooler
 * unpaused, with its original config file.
 */
@Timeout(120)
class AdminControlIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String BENCH_DB = "bench_admin";

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    private static String originalConfig;
    private static final ExecutorService BACKGROUND = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws Exception {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, BENCH_DB);
        Pgbench.to(pg, BENCH_DB, "app", "apppass").init(1);
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 5)
                .set("admin_users", "admin")
                .set("stats_users", "watcher")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", pg, "app")
                .database(BENCH_DB, pg, BENCH_DB)
                .database("killdb", pg, "app")
                .database("disdb", pg, "app")
                .user("app", "apppass")
                .user("admin", "adminpass")
                .user("watcher", "watcherpass")
                .start();
        originalConfig = Files.readString(pgloom.configFile());
    }

    @AfterAll
    static void stop() {
        BACKGROUND.shutdownNow();
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Connection console() throws SQLException {
        return Sql.connect(pgloom, "pgbouncer", "admin", "adminpass", "preferQueryMode=simple");
    }

    private static Connection client(String db, String appName) throws SQLException {
        return Sql.connect(pgloom, db, "app", "apppass", "ApplicationName=" + appName);
    }

    private static List<Map<String, String>> show(Connection c, String subject) throws SQLException {
        List<Map<String, String>> rows = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + subject)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    private static Map<String, String> row(Connection c, String subject, String column, String value)
            throws SQLException {
        return show(c, subject).stream().filter(r -> value.equals(r.get(column))).findFirst().orElse(null);
    }

    private static long activeBackends(Connection direct, String db) throws SQLException {
        return Long.parseLong(Sql.value(direct, "select count(*) from pg_stat_activity where datname = '" + db
                + "' and state <> 'idle' and backend_type = 'client backend'"));
    }

    // *** PAUSE / RESUME ***

    @Test
    void pauseUnderPgbenchStopsServerActivityAndResumeLosesNothing() throws Exception {
        try (Connection c = console(); Connection direct = Sql.admin(pg)) {
            CompletableFuture<Pgbench.Result> bench = CompletableFuture.supplyAsync(
                    () -> Pgbench.to(pgloom, BENCH_DB, "app", "apppass").run(Duration.ofSeconds(90),
                            "-S", "-c", "4", "-T", "6"), BACKGROUND);
            Wait.until("pgbench queries flowing through pgloom", WAIT, () -> queries(c) > 200);

            Sql.exec(c, "PAUSE"); // returns once no server is lent out
            assertThat(row(c, "STATE", "key", "paused").get("value")).isEqualTo("yes");
            assertThat(activeBackends(direct, BENCH_DB)).isZero();
            long atPause = queries(c);
            Wait.until("pgbench's clients queue for a server", WAIT, () -> quietly(() -> {
                Map<String, String> pool = row(c, "POOLS", "database", BENCH_DB);
                return Integer.parseInt(pool.get("cl_waiting")) >= 1;
            }));
            assertThat(activeBackends(direct, BENCH_DB)).as("no active query while paused").isZero();
            Map<String, String> pool = row(c, "POOLS", "database", BENCH_DB);
            assertThat(pool.get("sv_active")).isEqualTo("0");
            assertThat(queries(c)).as("no query ran while paused").isEqualTo(atPause);
            SQLException twice = Sql.error(() -> Sql.exec(c, "PAUSE"));
            assertThat(twice.getMessage()).contains("already suspended/paused");

            Sql.exec(c, "RESUME");
            assertThat(row(c, "STATE", "key", "active").get("value")).isEqualTo("yes");
            Pgbench.Result result = bench.get(60, TimeUnit.SECONDS);
            assertThat(result.ok()).as(result.toString()).isTrue();
            assertThat(result.failed()).isZero();
            assertThat(queries(c)).isGreaterThan(atPause);
        }
    }

    private static long queries(Connection c) {
        return quietly(() -> {
            Map<String, String> r = row(c, "STATS", "database", BENCH_DB);
            return r == null ? 0 : Long.parseLong(r.get("total_query_count"));
        });
    }

    // *** KILL_CLIENT / KILL ***

    @Test
    void killClientDisconnectsExactlyThatClient() throws Exception {
        try (Connection c = console(); Connection victim = client("app", "victim");
                Connection bystander = client("app", "bystander")) {
            Sql.value(victim, "select 1");
            Sql.value(bystander, "select 1");
            Map<String, String> v = row(c, "CLIENTS", "application_name", "victim");
            assertThat(v).isNotNull();
            Sql.exec(c, "KILL_CLIENT " + v.get("id"));
            Wait.until("the victim gone from SHOW CLIENTS", WAIT,
                    () -> quietly(() -> row(c, "CLIENTS", "application_name", "victim") == null));
            SQLException e = Sql.error(() -> Sql.value(victim, "select 1"));
            assertThat(e.getMessage()).isNotEmpty();
            assertThat(Sql.value(bystander, "select 2")).isEqualTo("2");
            assertThat(row(c, "CLIENTS", "application_name", "bystander")).isNotNull();

            assertThat(Sql.error(() -> Sql.exec(c, "KILL_CLIENT 999999")).getMessage()).contains("client not found");
            assertThat(Sql.error(() -> Sql.exec(c, "KILL_CLIENT abc")).getMessage())
                    .contains("invalid client pointer supplied");
        }
    }

    @Test
    void killDatabaseDropsItsClientsOnly() throws Exception {
        try (Connection c = console(); Connection doomed = client("killdb", "doomed");
                Connection other = client("app", "other")) {
            Sql.value(doomed, "select 1");
            Sql.value(other, "select 1");
            Sql.exec(c, "KILL killdb");
            Wait.until("killdb's clients gone", WAIT, () -> quietly(() -> row(c, "CLIENTS", "database", "killdb") == null));
            assertThat(Sql.error(() -> Sql.value(doomed, "select 1")).getMessage()).isNotEmpty();
            assertThat(Sql.value(other, "select 2")).isEqualTo("2");
            assertThat(row(c, "DATABASES", "name", "killdb").get("paused")).isEqualTo("1");
            Sql.exec(c, "RESUME killdb");
            assertThat(row(c, "DATABASES", "name", "killdb").get("paused")).isEqualTo("0");
            try (Connection again = client("killdb", "again")) {
                assertThat(Sql.value(again, "select 3")).isEqualTo("3");
            }
        }
    }

    // *** DISABLE / ENABLE ***

    @Test
    void disableRefusesNewLoginsAndKeepsExistingClients() throws Exception {
        try (Connection c = console(); Connection existing = client("disdb", "existing")) {
            Sql.value(existing, "select 1");
            Sql.exec(c, "DISABLE disdb");
            try {
                assertThat(row(c, "DATABASES", "name", "disdb").get("disabled")).isEqualTo("1");
                SQLException refused = Sql.error(() -> client("disdb", "late").close());
                assertThat(refused.getMessage()).contains("database \"disdb\" is disabled");
                assertThat(Sql.value(existing, "select 2")).isEqualTo("2");
            } finally {
                Sql.exec(c, "ENABLE disdb");
            }
            assertThat(row(c, "DATABASES", "name", "disdb").get("disabled")).isEqualTo("0");
            try (Connection late = client("disdb", "late")) {
                assertThat(Sql.value(late, "select 3")).isEqualTo("3");
            }
            assertThat(Sql.error(() -> Sql.exec(c, "DISABLE")).getMessage()).contains("a database is required");
            assertThat(Sql.error(() -> Sql.exec(c, "DISABLE nosuchdb")).getMessage())
                    .contains("no such database: nosuchdb");
        }
    }

    // *** RELOAD / SET ***

    @Test
    void reloadAddsADatabaseAndABrokenFileKeepsTheOldConfig() throws Exception {
        Path file = pgloom.configFile();
        try (Connection c = console()) {
            Files.writeString(file, originalConfig + "\n[databases.newdb]\nhost = \"" + pg.host() + "\"\nport = "
                    + pg.port() + "\ndbname = \"app\"\n");
            assertThat(Sql.error(() -> client("newdb", "early").close()).getMessage()).contains("no such database");
            Sql.exec(c, "RELOAD");
            try (Connection n = client("newdb", "newcomer")) {
                assertThat(Sql.value(n, "select current_database()")).isEqualTo("app");
            }
            assertThat(row(c, "DATABASES", "name", "newdb")).isNotNull();

            long mark = pgloom.logSize();
            Files.writeString(file, originalConfig + "\n[databases.newdb]\nhost = \"" + pg.host() + "\"\nport = "
                    + pg.port() + "\ndbname = \"app\"\npool_size = \"lots\"\n");
            SQLException broken = Sql.error(() -> Sql.exec(c, "RELOAD"));
            assertThat(broken.getSQLState()).isEqualTo("F0000");
            assertThat(broken.getMessage()).contains("RELOAD failed, see logs for additional details");
            pgloom.waitForLogAfter(mark, "pool_size", WAIT);
            try (Connection n = client("newdb", "still")) {
                assertThat(Sql.value(n, "select 1")).isEqualTo("1");
            }
            assertThat(row(c, "CONFIG", "key", "default_pool_size").get("value")).isEqualTo("5");
        } finally {
            Files.writeString(file, originalConfig);
            try (Connection c = console()) {
                Sql.exec(c, "RELOAD");
            }
        }
    }

    @Test
    void setAnswersWithTheKeyAndValueAndShowConfigFollows() throws Exception {
        Psql psql = Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "");
        try (Connection c = console()) {
            Psql.Result r = psql.command("SET default_pool_size = 3");
            assertThat(r.ok()).as(r.toString()).isTrue();
            assertThat(r.out()).isEqualTo("SET default_pool_size=3");
            Map<String, String> row = row(c, "CONFIG", "key", "default_pool_size");
            assertThat(row.get("value")).isEqualTo("3");
            assertThat(row.get("changeable")).isEqualTo("yes");
            assertThat(row(c, "DATABASES", "name", "app").get("pool_size")).isEqualTo("3");

            SQLException unknown = Sql.error(() -> Sql.exec(c, "SET no_such_key = 1"));
            assertThat(unknown.getMessage()).contains("SET failed");
        } finally {
            psql.command("SET default_pool_size = 5");
        }
    }

    // *** permissions and protocol ***

    @Test
    void statsUsersMayShowButNotControl() throws Exception {
        try (Connection s = Sql.connect(pgloom, "pgbouncer", "watcher", "watcherpass", "preferQueryMode=simple")) {
            assertThat(show(s, "POOLS")).isNotEmpty();
            assertThat(show(s, "STATS")).isNotEmpty();
            for (String cmd : List.of("PAUSE", "RESUME", "RELOAD", "KILL app", "SET default_pool_size = 1",
                    "DISABLE app", "KILL_CLIENT 1")) {
                SQLException e = Sql.error(() -> Sql.exec(s, cmd));
                assertThat(e.getMessage()).as(cmd).contains("admin access needed");
                assertThat(e.getSQLState()).as(cmd).isEqualTo("08P01");
            }
            assertThat(show(s, "STATE")).isNotEmpty();
        }
        try (Connection c = console()) {
            assertThat(row(c, "STATE", "key", "paused").get("value")).isEqualTo("no");
        }
    }

    @Test
    void theExtendedProtocolIsRefused() {
        SQLException e = Sql.error(() -> {
            try (Connection x = Sql.connect(pgloom, "pgbouncer", "admin", "adminpass", "preferQueryMode=extended");
                    Statement s = x.createStatement()) {
                s.executeQuery("SHOW VERSION").close();
            }
        });
        assertThat(e.getMessage()).contains("extended query protocol not supported by admin console");
    }

    /** An SQL call inside a polling condition. */
    private interface SqlSupplier<T> {
        T get() throws SQLException;
    }

    private static <T> T quietly(SqlSupplier<T> s) {
        try {
            return s.get();
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }
}
