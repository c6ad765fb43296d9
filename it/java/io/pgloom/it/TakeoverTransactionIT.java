package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Work in flight survives a takeover, in transaction pooling: a transaction opened before it is
 * committed after it on the same server backend with its rows written exactly once, and queries
 * running while the takeover happens return their own results to their own clients.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverTransactionIT {

    private static final String DB = "takeover_tx";
    private static final int LOCK = 4242;
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private PgloomProcess current;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            Sql.exec(c, "create table rows_once (id int, note text)");
        }
    }

    @BeforeEach
    void start() throws SQLException {
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            Sql.exec(c, "truncate rows_once");
        }
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 5)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @AfterEach
    void stop() {
        if (current != null) {
            current.close();
        }
    }

    @Test
    void openTransactionCommitsAfterTheTakeoverOnTheSameBackend() throws SQLException {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            Sql.exec(c, "insert into rows_once values (1, 'before the takeover')");
            String pidBefore = Sql.value(c, "select pg_backend_pid()");

            Takeovers.Result r = Takeovers.takeOver(current);
            current = r.successor();
            System.out.println("takeover with an open transaction: " + r);
            assertThat(r.clients()).as("clients handed over").isEqualTo(1);

            assertThat(Sql.value(c, "select pg_backend_pid()")).as("backend pid after the takeover")
                    .isEqualTo(pidBefore);
            assertThat(Sql.value(c, "select count(*) from rows_once"))
                    .as("the transaction's own uncommitted row is visible to it").isEqualTo("1");
            Sql.exec(c, "insert into rows_once values (2, 'after the takeover')");
            c.commit();
            assertThat(Sql.value(c, "select pg_backend_pid()")).as("the connection works after the commit")
                    .isNotNull();
            c.commit();
        }
        assertThat(rowCounts()).containsExactly(Map.entry(1, 1), Map.entry(2, 1));
    }

    @Test
    void queriesRunningAcrossTheTakeoverAnswerTheirOwnClients() throws Exception {
        try (Connection first = connect(); Connection second = connect(); Connection admin = Sql.admin(pg);
                Connection locker = pg.connect(DB, pg.superuser(), pg.password())) {
            // Both queries wait for an advisory lock (per database) held here, so they surely run when SUSPEND comes.
            Sql.value(locker, "select pg_advisory_lock(" + LOCK + ")");
            CompletableFuture<String> fortyTwo = CompletableFuture.supplyAsync(
                    () -> query(first, "select pg_advisory_xact_lock_shared(" + LOCK + "), 42"), ASYNC);
            CompletableFuture<String> fortyThree = CompletableFuture.supplyAsync(
                    () -> query(second, "select pg_advisory_xact_lock_shared(" + LOCK + "), 43"), ASYNC);
            Wait.until("both queries to wait for the lock on the server", Duration.ofSeconds(30),
                    () -> waitingForTheLock(admin) == 2, () -> activity(admin));

            PgloomProcess old = current;
            PgloomProcess next = PgloomProcess.start(old.configFile(), java.util.List.of("-R"));
            old.waitForLog("SUSPEND command issued", Takeovers.TAKEOVER_TIMEOUT);
            assertThat(fortyTwo.isDone() || fortyThree.isDone()).as("a query finished before SUSPEND").isFalse();
            // The answers now come while the old process is suspending or suspended.
            Sql.value(locker, "select pg_advisory_unlock(" + LOCK + ")");
            Takeovers.Result r = Takeovers.awaitTakeover(old, next);
            current = r.successor();
            System.out.println("takeover with two queries running: " + r);

            assertThat(fortyTwo.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("42");
            assertThat(fortyThree.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("43");
            assertThat(Sql.value(first, "select 'first again'")).isEqualTo("first again");
            assertThat(Sql.value(second, "select 'second again'")).isEqualTo("second again");
        }
    }

    private Connection connect() throws SQLException {
        return Sql.connect(current, DB, "app", "apppass", "prepareThreshold=0");
    }

    /** The second column of {@code sql}'s single row. */
    private static String query(Connection c, String sql) {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(2);
        } catch (SQLException e) {
            throw new AssertionError(sql + " failed", e);
        }
    }

    private static String activity(Connection admin) {
        try {
            return Sql.value(admin, "select string_agg(concat_ws(' | ', pid, state, wait_event_type, wait_event, query),"
                    + " E'\\n') from pg_stat_activity where datname = '" + DB + "'");
        } catch (SQLException e) {
            return e.toString();
        }
    }

    /** How many backends of the test database wait for the advisory lock. */
    private static int waitingForTheLock(Connection admin) {
        try {
            return Integer.parseInt(Sql.value(admin, "select count(*) from pg_stat_activity where datname = '" + DB
                    + "' and wait_event_type = 'Lock' and query like 'select pg_advisory_xact_lock_shared(%'"));
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    /** id → how many rows have it, read straight from PostgreSQL. */
    private static Map<Integer, Integer> rowCounts() throws SQLException {
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        try (Connection c = pg.connect(DB, "app", "apppass"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select id, count(*) from rows_once group by id order by id")) {
            while (rs.next()) {
                counts.put(rs.getInt(1), rs.getInt(2));
            }
        }
        return counts;
    }
}
