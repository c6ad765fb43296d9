package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
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
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;

/**
 * Session pooling with pgjdbc as the client: simple and extended protocol, batches, COPY both
 * ways, cancel, LISTEN/NOTIFY, errors inside a transaction, session state, and the reset
 * (DISCARD ALL) between two clients that share one server.
 */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SessionModeIT {

    private static PgCluster pg;
    /** pool_mode session, default_pool_size 5. */
    private static PgloomProcess pgloom;
    /** pool_mode session, default_pool_size 1: consecutive clients share one server. */
    private static PgloomProcess single;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = sessionPooler(5);
        single = sessionPooler(1);
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
        if (single != null) {
            single.close();
        }
    }

    private static PgloomProcess sessionPooler(int poolSize) {
        return PgloomProcess.builder()
                .set("pool_mode", "session")
                .set("default_pool_size", poolSize)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", pg, "app")
                .user("app", "apppass")
                .start();
    }

    private static Connection connect(String extraParams) throws SQLException {
        return Sql.connect(pgloom, "app", "app", "apppass", extraParams);
    }

    @Test
    void simpleQueryProtocol() throws SQLException {
        try (Connection c = connect("preferQueryMode=simple")) {
            assertThat(Sql.value(c, "select 40 + 2")).isEqualTo("42");
            try (PreparedStatement ps = c.prepareStatement("select ?::int * 2, ?::text || '!'")) {
                for (int i = 0; i < 5; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "it's " + i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getInt(1)).isEqualTo(i * 2);
                        assertThat(rs.getString(2)).isEqualTo("it's " + i + "!");
                    }
                }
            }
            // Several statements in one simple Query message: the last result is the one returned.
            try (Statement s = c.createStatement()) {
                assertThat(s.execute("select 1; select 2")).isTrue();
                try (ResultSet rs = s.getResultSet()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).isEqualTo(1);
                }
                assertThat(s.getMoreResults()).isTrue();
                try (ResultSet rs = s.getResultSet()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).isEqualTo(2);
                }
            }
        }
    }

    @Test
    void extendedQueryProtocolWithServerPreparedStatements() throws SQLException {
        // prepareThreshold=1: from the first execution on, a named server-side statement is used.
        try (Connection c = connect("prepareThreshold=1");
                PreparedStatement ps = c.prepareStatement("select ?::int + 1, repeat('x', ?::int)")) {
            for (int i = 0; i < 20; i++) {
                ps.setInt(1, i);
                ps.setInt(2, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).isEqualTo(i + 1);
                    assertThat(rs.getString(2)).hasSize(i);
                }
            }
            assertThat(ps.unwrap(PGStatement.class).isUseServerPrepare()).isTrue();
            // The named statement lives on the server of this session.
            assertThat(Sql.value(c, "select count(*) from pg_prepared_statements")).isNotEqualTo("0");
        }
    }

    /**
     * A message larger than pkt_buf (4 KiB by default) followed by more messages in the same
     * write: pgjdbc sends Parse(20 KB of SQL), Bind, Describe, Execute, Sync at once.
     */
    @Test
    void queryLargerThanPacketBuffer() throws SQLException {
        String big = "x".repeat(20_000);
        try (Connection c = connect("")) {
            try (PreparedStatement ps = c.prepareStatement("select length('" + big + "') + ?")) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).isEqualTo(20_001);
                }
            }
            assertThat(Sql.value(c, "select 'next query'")).isEqualTo("next query");
        }
        try (Connection c = connect("preferQueryMode=simple")) {
            assertThat(Sql.value(c, "select length('" + big + "')")).isEqualTo("20000");
            assertThat(Sql.value(c, "select 'next query'")).isEqualTo("next query");
        }
    }

    /**
     * A result row larger than pkt_buf, followed in the same packet by CommandComplete and
     * ReadyForQuery: the row is streamed, and the rest must follow without waiting for more bytes.
     */
    @Test
    void rowLargerThanPacketBuffer() throws SQLException {
        for (String mode : new String[] {"preferQueryMode=simple", "preferQueryMode=extended"}) {
            try (Connection c = connect(mode)) {
                assertThat(Sql.value(c, "select repeat('r', 100000)")).as(mode).hasSize(100_000);
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("select g, repeat('r', 5000 * g) from generate_series(1, 5) g")) {
                    int rows = 0;
                    while (rs.next()) {
                        rows++;
                        assertThat(rs.getString(2)).hasSize(5000 * rs.getInt(1));
                    }
                    assertThat(rows).isEqualTo(5);
                }
                assertThat(Sql.value(c, "select 'next query'")).isEqualTo("next query");
            }
        }
    }

    @Test
    void batchOfThousandInserts() throws SQLException {
        try (Connection c = connect("")) {
            Sql.exec(c, "create temp table batch_t (id int primary key, v text)");
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("insert into batch_t values (?, ?)")) {
                for (int i = 1; i <= 1000; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "row " + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertThat(counts).hasSize(1000);
                for (int n : counts) {
                    assertThat(n).isIn(1, Statement.SUCCESS_NO_INFO);
                }
            }
            c.commit();
            assertThat(Sql.value(c, "select count(*) || ' ' || sum(id) from batch_t")).isEqualTo("1000 500500");
        }
    }

    @Test
    void copyInAndOut() throws Exception {
        int rows = 100_000;
        StringBuilder data = new StringBuilder(rows * 16);
        long expectedSum = 0;
        for (int i = 1; i <= rows; i++) {
            data.append(i).append('\t').append("value-").append(i).append('\n');
            expectedSum += i;
        }
        try (Connection c = connect("")) {
            Sql.exec(c, "create temp table copy_t (id int, v text)");
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            long copiedIn = copy.copyIn("COPY copy_t FROM STDIN", new StringReader(data.toString()));
            assertThat(copiedIn).isEqualTo(rows);
            assertThat(Sql.value(c, "select count(*) || ' ' || sum(id) from copy_t"))
                    .isEqualTo(rows + " " + expectedSum);

            StringWriter out = new StringWriter();
            long copiedOut = copy.copyOut("COPY (select id, v from copy_t order by id) TO STDOUT", out);
            assertThat(copiedOut).isEqualTo(rows);
            assertThat(out.toString()).isEqualTo(data.toString());

            // The session is still in a sane state after both copies.
            assertThat(Sql.value(c, "select 'after copy'")).isEqualTo("after copy");
        }
    }

    @Test
    void cancelStopsRunningQuery() throws Exception {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (Connection c = connect(""); Connection admin = Sql.admin(pg); Statement s = c.createStatement()) {
            String backendPid = Sql.value(c, "select pg_backend_pid()");
            long started = System.nanoTime();
            CompletableFuture<SQLException> sleeping = CompletableFuture.supplyAsync(
                    () -> Sql.error(() -> s.execute("select pg_sleep(10)")), executor);
            Wait.until("pg_sleep(10) to run on backend " + backendPid, Duration.ofSeconds(5),
                    () -> isRunning(admin, backendPid, "pg_sleep(10)"));
            s.cancel();
            SQLException e = sleeping.get(5, TimeUnit.SECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(e.getSQLState()).as(e.toString()).isEqualTo("57014");
            assertThat(took).isLessThan(Duration.ofSeconds(8));
            // The same session (and server) goes on.
            assertThat(Sql.value(c, "select pg_backend_pid()")).isEqualTo(backendPid);
        } finally {
            executor.shutdownNow();
        }
    }

    private static boolean isRunning(Connection admin, String pid, String queryPart) {
        try (PreparedStatement ps = admin.prepareStatement(
                "select count(*) from pg_stat_activity where pid = ?::int and state = 'active'"
                        + " and position(? in query) > 0")) {
            ps.setString(1, pid);
            ps.setString(2, queryPart);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void listenNotifyBetweenTwoClients() throws SQLException {
        try (Connection listener = connect(""); Connection notifier = connect("")) {
            Sql.exec(listener, "LISTEN pgloom_chan");
            Sql.exec(notifier, "NOTIFY pgloom_chan, 'hello through pgloom'");
            Sql.exec(notifier, "select pg_notify('pgloom_chan', 'second')");
            PGConnection pgListener = listener.unwrap(PGConnection.class);
            List<PGNotification> got = new ArrayList<>();
            Wait.until("two notifications on pgloom_chan", Duration.ofSeconds(10), () -> {
                try {
                    PGNotification[] batch = pgListener.getNotifications(200);
                    if (batch != null) {
                        got.addAll(List.of(batch));
                    }
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
                return got.size() >= 2;
            });
            assertThat(got).extracting(PGNotification::getName).containsExactly("pgloom_chan", "pgloom_chan");
            assertThat(got).extracting(PGNotification::getParameter)
                    .containsExactly("hello through pgloom", "second");
            assertThat(got.get(0).getPID()).isEqualTo(Integer.parseInt(Sql.value(notifier, "select pg_backend_pid()")));
        }
    }

    @Test
    void errorInsideTransactionThenRollback() throws SQLException {
        try (Connection c = connect("")) {
            c.setAutoCommit(false);
            Sql.exec(c, "create temp table tx_t (id int)");
            Sql.exec(c, "insert into tx_t values (1)");
            SQLException division = Sql.error(() -> Sql.value(c, "select 1/0"));
            assertThat(division.getSQLState()).isEqualTo("22012");
            SQLException aborted = Sql.error(() -> Sql.value(c, "select 1"));
            assertThat(aborted.getSQLState()).isEqualTo("25P02");
            c.rollback();
            c.setAutoCommit(true);
            assertThat(Sql.value(c, "select 'usable again'")).isEqualTo("usable again");
            // The rollback also undid the create table: the whole transaction is gone.
            assertThat(Sql.value(c, "select to_regclass('tx_t') is null")).isEqualTo("t");
        }
    }

    @Test
    void sessionStatePersistsAcrossStatements() throws SQLException {
        try (Connection c = connect("")) {
            Sql.exec(c, "SET work_mem = '12MB'");
            Sql.exec(c, "PREPARE sql_level(int) AS select $1 * 3");
            Sql.exec(c, "create temp table session_t as select 7 as v");
            assertThat(Sql.value(c, "show work_mem")).isEqualTo("12MB");
            assertThat(Sql.value(c, "execute sql_level(5)")).isEqualTo("15");
            assertThat(Sql.value(c, "select v from session_t")).isEqualTo("7");
            assertThat(Sql.value(c, "select pg_backend_pid()")).isEqualTo(Sql.value(c, "select pg_backend_pid()"));
        }
    }

    @Test
    void nextClientOnSameServerSeesNoLeftoverState() throws SQLException {
        String defaultWorkMem;
        try (Connection direct = pg.connect("app", "app", "apppass")) {
            defaultWorkMem = Sql.value(direct, "show work_mem");
        }
        assertThat(defaultWorkMem).isNotEqualTo("13MB");

        String firstPid;
        try (Connection first = Sql.connect(single, "app", "app", "apppass", "")) {
            firstPid = Sql.value(first, "select pg_backend_pid()");
            Sql.exec(first, "create temp table leftover_t (id int)");
            Sql.exec(first, "SET work_mem = '13MB'");
            Sql.exec(first, "SET application_name = 'leftover_app'");
            Sql.exec(first, "PREPARE leftover_stmt AS select 1");
            Sql.exec(first, "LISTEN leftover_chan");
            assertThat(Sql.value(first, "show application_name")).isEqualTo("leftover_app");
        }
        try (Connection second = Sql.connect(single, "app", "app", "apppass", "")) {
            // Pool size 1: the second client must get the very same server back.
            assertThat(Sql.value(second, "select pg_backend_pid()")).isEqualTo(firstPid);
            assertThat(Sql.value(second, "select to_regclass('pg_temp.leftover_t') is null")).isEqualTo("t");
            assertThat(Sql.value(second, "select count(*) from pg_class where relname = 'leftover_t'"))
                    .isEqualTo("0");
            assertThat(Sql.value(second, "show work_mem")).isEqualTo(defaultWorkMem);
            assertThat(Sql.value(second, "show application_name")).isNotEqualTo("leftover_app");
            assertThat(Sql.value(second, "select count(*) from pg_prepared_statements")).isEqualTo("0");
            assertThat(Sql.value(second, "select count(*) from pg_listening_channels()")).isEqualTo("0");
        }
    }

    /** Pool mode session is what the process was configured with (guards against a silent default). */
    @Test
    void configuredAsSessionPool() throws SQLException {
        try (Connection a = connect(""); Connection b = connect("")) {
            Map<String, String> pids = Map.of(
                    "a1", Sql.value(a, "select pg_backend_pid()"),
                    "b1", Sql.value(b, "select pg_backend_pid()"),
                    "a2", Sql.value(a, "select pg_backend_pid()"),
                    "b2", Sql.value(b, "select pg_backend_pid()"));
            assertThat(pids.get("a1")).isEqualTo(pids.get("a2")).isNotEqualTo(pids.get("b1"));
            assertThat(pids.get("b1")).isEqualTo(pids.get("b2"));
        }
    }
}
