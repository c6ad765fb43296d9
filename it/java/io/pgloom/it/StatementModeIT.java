package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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

/**
 * Statement pooling: autocommit statements share servers freely, and a transaction block is
 * refused the way PgBouncer refuses it (its {@code handle_server_work}: a ReadyForQuery saying
 * {@code T} or {@code E} closes the server with {@code transaction blocks not allowed in
 * statement pooling mode}, and the client gets that text as a FATAL 08P01 instead of the
 * ReadyForQuery). Also where pool_mode comes from: user › database › global.
 *
 * <p>Config: global pool_mode session; database {@code stmt} says statement; user
 * {@code md5user} says transaction; database {@code plain} says nothing.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StatementModeIT {

    private static final String REFUSAL = "transaction blocks not allowed in statement pooling mode";

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "session")
                .set("default_pool_size", 2)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("stmt", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "pool_mode", "statement", "pool_size", 1))
                .database("plain", pg, "app")
                .userSection("md5user", Map.of("pool_mode", "transaction"))
                .user("app", "apppass")
                .user("md5user", "md5pass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Connection app(String extraParams) throws SQLException {
        return Sql.connect(pgloom, "stmt", "app", "apppass", "prepareThreshold=0" + extraParams);
    }

    @Test
    void autocommitStatementsShareOneServer() throws Exception {
        long mark = pgloom.logSize();
        try (Connection a = app(""); Connection b = app("&preferQueryMode=simple")) {
            String pid = Sql.value(a, "select pg_backend_pid()");
            // pool_size 1: b can only run because a's statement gave the server back.
            assertThat(Sql.value(b, "select pg_backend_pid()")).isEqualTo(pid);
            for (int i = 0; i < 20; i++) {
                Connection c = i % 2 == 0 ? a : b;
                try (PreparedStatement ps = c.prepareStatement("select ?::int * 2, ?::text")) {
                    ps.setInt(1, i);
                    ps.setString(2, "row " + i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getInt(1)).isEqualTo(2 * i);
                        assertThat(rs.getString(2)).isEqualTo("row " + i);
                    }
                }
            }
        }
        // Several statements in one Query message are one implicit transaction: ReadyForQuery 'I'.
        Psql.Result multi = Psql.to(pgloom, "stmt", "app", "apppass").run(Duration.ofSeconds(30),
                "-At", "-c", "select 1; select 2");
        assertThat(multi.ok()).as(multi.toString()).isTrue();
        assertThat(multi.out()).isEqualTo("1\n2");
        // Ten clients at once over the one server, each getting its own answers.
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int n = 0; n < 10; n++) {
            int id = n;
            clients.add(CompletableFuture.runAsync(() -> {
                try (Connection c = app("")) {
                    for (int i = 0; i < 30; i++) {
                        assertThat(Sql.value(c, "select " + id + " * 1000 + " + i)).isEqualTo(Integer.toString(id * 1000 + i));
                    }
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }, ASYNC));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(40, TimeUnit.SECONDS);
        assertThat(pgloom.logSince(mark)).doesNotContain(REFUSAL);
        assertThat(ShowPools.row(pgloom, "stmt", "app")).containsEntry("pool_mode", "statement");
    }

    @Test
    void beginIsRefusedWithPgBouncersMessage() throws SQLException {
        long mark = pgloom.logSize();
        Psql.Result begin = Psql.to(pgloom, "stmt", "app", "apppass").command("BEGIN");
        String serverClosed = pgloom.waitForLogAfter(mark,
                "S-0x[0-9a-f]+: stmt/app@\\S+ closing because: " + REFUSAL, Duration.ofSeconds(10));
        assertThat(serverClosed).contains(REFUSAL);
        assertThat(begin.stderr()).as(begin.toString()).contains("FATAL:  " + REFUSAL);
        assertThat(begin.exitCode()).as("psql's BEGIN must fail: " + begin).isNotZero();
        // The pool goes on with a new server.
        try (Connection c = app("")) {
            assertThat(Sql.value(c, "select 'after refusal'")).isEqualTo("after refusal");
        }
    }

    /** pgjdbc with autocommit off sends BEGIN with its first statement: that statement fails. */
    @Test
    void pgjdbcTransactionIsRefused() throws SQLException {
        long mark = pgloom.logSize();
        try (Connection c = app("")) {
            c.setAutoCommit(false);
            SQLException e = Sql.error(() -> Sql.value(c, "select 'inside a transaction'"));
            assertThat(e.getMessage()).contains(REFUSAL);
            pgloom.waitForLogAfter(mark, "closing because: " + REFUSAL, Duration.ofSeconds(10));
            assertThat(e.getSQLState()).as("PgBouncer's SQLSTATE for pooler errors: " + e).isEqualTo("08P01");
        }
    }

    /** user › database › global: md5user is in transaction mode on stmt, app in session mode on plain. */
    @Test
    void poolModeComesFromUserThenDatabaseThenGlobal() throws SQLException {
        try (Connection c = Sql.connect(pgloom, "stmt", "md5user", "md5pass", "prepareThreshold=0")) {
            c.setAutoCommit(false);
            String pid = Sql.value(c, "select pg_backend_pid()");
            assertThat(Sql.value(c, "select pg_backend_pid()")).as("one server for the whole transaction").isEqualTo(pid);
            c.commit();
        }
        try (Connection c = Sql.connect(pgloom, "plain", "app", "apppass", "prepareThreshold=0")) {
            c.setAutoCommit(false);
            assertThat(Sql.value(c, "select 'session mode transaction'")).isEqualTo("session mode transaction");
            c.commit();
        }
        assertThat(ShowPools.row(pgloom, "stmt", "md5user")).containsEntry("pool_mode", "transaction");
        assertThat(ShowPools.row(pgloom, "plain", "app")).containsEntry("pool_mode", "session");
        assertThat(pgloom.log().lines().filter(l -> l.contains(REFUSAL)))
                .as("refusals of md5user's or plain's transactions")
                .noneMatch(l -> l.contains("/md5user@") || l.contains(" plain/"));
    }
}
