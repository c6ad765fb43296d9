package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Cancel requests in transaction pooling. A cancel goes to the server the client is linked to at
 * that moment, so it stops that client's query and nothing else; a cancel for a client that has
 * no server (idle between transactions) is dropped ({@code cancel request for idle client}),
 * since the server it last used may be running someone else's query by now.
 *
 * <p>Database {@code cancel_two} (pool_size 2) and {@code cancel_one} (pool_size 1), both on
 * PostgreSQL's {@code app}; trust auth so that raw protocol clients can log in.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CancelIT {

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("cancel_two", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "pool_size", 2))
                .database("cancel_one", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "pool_size", 1))
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Connection connect(String db) throws SQLException {
        return Sql.connect(pgloom, db, "app", "apppass", "prepareThreshold=0");
    }

    /** Runs {@code sql} on {@code c} in the background; completes with its value or its SQLException. */
    private static CompletableFuture<Object> runAsync(Statement s, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try (var rs = s.executeQuery(sql)) {
                rs.next();
                return rs.getString(1);
            } catch (SQLException e) {
                return e;
            }
        }, ASYNC);
    }

    @Test
    void pgjdbcCancelStopsOnlyThatClientsQuery() throws Exception {
        try (Connection a = connect("cancel_two"); Connection b = connect("cancel_two"); Connection admin = Sql.admin(pg);
                Statement aStmt = a.createStatement(); Statement bStmt = b.createStatement()) {
            long mark = pgloom.logSize();
            long bStart = System.nanoTime();
            CompletableFuture<Object> bSleep = runAsync(bStmt, "select 'b done' from pg_sleep(2)");
            CompletableFuture<Object> aSleep = runAsync(aStmt, "select 'a done' from pg_sleep(10)");
            Wait.until("both sleeps to run on PostgreSQL", Duration.ofSeconds(10),
                    () -> PgActivity.running(admin, "pg_sleep(10)") == 1 && PgActivity.running(admin, "pg_sleep(2)") == 1);
            long cancelAt = System.nanoTime();
            aStmt.cancel();

            Object aResult = aSleep.get(8, TimeUnit.SECONDS);
            assertThat(aResult).as("a's pg_sleep(10) must be canceled").isInstanceOf(SQLException.class);
            assertThat(((SQLException) aResult).getSQLState()).as(aResult.toString()).isEqualTo("57014");
            assertThat(Duration.ofNanos(System.nanoTime() - cancelAt)).isLessThan(Duration.ofSeconds(5));

            assertThat(bSleep.get(10, TimeUnit.SECONDS)).as("b's pg_sleep(2) runs to its end").isEqualTo("b done");
            assertThat(Duration.ofNanos(System.nanoTime() - bStart)).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
            pgloom.waitForLogAfter(mark, "closing because: successfully sent cancel request", Duration.ofSeconds(10));

            // Both clients go on.
            assertThat(Sql.value(a, "select 'a again'")).isEqualTo("a again");
            assertThat(Sql.value(b, "select 'b again'")).isEqualTo("b again");
        }
    }

    /**
     * Client c used the only server and went idle; d now runs a query on that same server. A
     * cancel with c's key must not reach d's query.
     */
    @Test
    void cancelForIdleClientIsDropped() throws Exception {
        try (RawSession c = RawSession.login(pgloom, "cancel_one", "app", Map.of());
                Connection d = connect("cancel_one"); Connection admin = Sql.admin(pg);
                Statement dStmt = d.createStatement()) {
            String cPid = c.value("select pg_backend_pid()::text");
            long mark = pgloom.logSize();
            CompletableFuture<Object> dSleep = runAsync(dStmt, "select pg_backend_pid()::text || ' d done' from pg_sleep(1.5)");
            Wait.until("d's pg_sleep to run", Duration.ofSeconds(10), () -> PgActivity.running(admin, "pg_sleep(1.5)") == 1);

            c.sendCancel(pgloom);

            pgloom.waitForLogAfter(mark, "closing because: cancel request for idle client", Duration.ofSeconds(10));
            Object dResult = dSleep.get(10, TimeUnit.SECONDS);
            assertThat(dResult).as("d's query is not canceled by c's cancel").isEqualTo(cPid + " d done");
            assertThat(pgloom.logSince(mark)).doesNotContain("successfully sent cancel request");

            // c's next query works, on the same (only) server.
            assertThat(c.value("select 'c again'")).isEqualTo("c again");
        }
    }
    /**
     * Only the exact key cancels: while a query runs, near misses (one bit off in the process id
     * or the secret, the halves swapped, zero) and random keys each get "failed cancel request",
     * and the query runs to its end.
     */
    @Test
    void wrongCancelKeysCancelNothing() throws Exception {
        try (RawSession c = RawSession.login(pgloom, "cancel_two", "app", Map.of()); Connection admin = Sql.admin(pg)) {
            long key = c.cancelKey();
            int pid = (int) (key >>> 32);
            int secret = (int) key;
            List<int[]> wrong = new ArrayList<>(List.of(new int[] {secret, pid}, new int[] {0, 0}));
            for (int bit : new int[] {0, 7, 31}) {
                wrong.add(new int[] {pid ^ (1 << bit), secret});
                wrong.add(new int[] {pid, secret ^ (1 << bit)});
            }
            Random r = new Random();
            for (int i = 0; i < 12; i++) {
                wrong.add(new int[] {r.nextInt(), r.nextInt()});
            }
            long mark = pgloom.logSize();
            c.raw().send(RawPg.query("select 'slept' from pg_sleep(4)"));
            Wait.until("the query to run on PostgreSQL", Duration.ofSeconds(10), () -> PgActivity.running(admin, "pg_sleep(4)") == 1);

            for (int[] k : wrong) {
                RawSession.sendCancel(pgloom, k[0], k[1]);
            }
            assertThat(PgActivity.running(admin, "pg_sleep(4)")).as("still running after every wrong key").isEqualTo(1);

            List<RawPg.Message> got = c.raw().readUntil('Z');
            assertThat(got).as("the query's answer").noneMatch(m -> m.tag() == 'E')
                    .anyMatch(m -> m.tag() == 'D' && "slept".equals(RawSession.firstColumn(m.body())));
            String log = pgloom.logSince(mark);
            assertThat(log.split("closing because: failed cancel request", -1)).hasSize(wrong.size() + 1);
            assertThat(log).doesNotContain("successfully sent cancel request");
            assertThat(c.value("select 'after'")).isEqualTo("after");
        }
    }

    /** 64 logins: every cancel key differs, none has the sign bit, and each other bit takes both values. */
    @Test
    void cancelKeysAreRandomWithTheSignBitClear() throws Exception {
        Set<Long> keys = new HashSet<>();
        long ones = 0;
        long zeros = 0;
        for (int i = 0; i < 64; i++) {
            try (RawSession s = RawSession.login(pgloom, "cancel_two", "app", Map.of())) {
                long k = s.cancelKey();
                assertThat(k).as("key %016x", k).isPositive();
                keys.add(k);
                ones |= k;
                zeros |= ~k;
            }
        }
        assertThat(keys).hasSize(64);
        assertThat(Long.toBinaryString(ones)).as("bits seen set").isEqualTo("1".repeat(63));
        assertThat(Long.toBinaryString(zeros & Long.MAX_VALUE)).as("bits seen clear").isEqualTo("1".repeat(63));
    }
}
