package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Transaction pooling under pgbench: 200 clients share a pool of 10 servers, TPC-B and
 * select-only, simple and extended protocol. Every transaction succeeds, and PostgreSQL never
 * sees more than 10 connections of the pool, watched in pg_stat_activity while pgbench runs
 * (the "pgbench 200 clients over a pool of 10" criterion).
 */
@Timeout(value = 150, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TransactionModeIT {

    private static final String DB = "txmode_bench";
    /** For the small tests, so that their leftover backends never count as the bench pool's. */
    private static final String SIDE_DB = "txmode_side";
    private static final int POOL_SIZE = 10;
    private static final int CLIENTS = 200;

    /** One thread per task: the common pool may have a single worker, busy with another task. */
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        Sql.recreateDatabase(pg, SIDE_DB);
        Pgbench.to(pg, DB, "app", "apppass").init(2);
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", POOL_SIZE)
                .set("max_client_conn", 250)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    @ParameterizedTest(name = "pgbench {0} -M {1}: 200 clients over a pool of 10")
    @CsvSource({"tpcb, simple", "tpcb, extended", "select-only, simple", "select-only, extended"})
    void twoHundredClientsOverTenServers(String script, String queryMode) throws SQLException {
        List<String> args = new ArrayList<>(List.of("-M", queryMode, "-c", Integer.toString(CLIENTS), "-j", "2",
                "-T", "5", "-n"));
        if (script.equals("select-only")) {
            args.add("-S");
        }
        Pgbench.Result result;
        int maxServers;
        try (Connection admin = Sql.admin(pg)) {
            CompletableFuture<Pgbench.Result> running = CompletableFuture.supplyAsync(
                    () -> Pgbench.to(pgloom, DB, "app", "apppass").run(Duration.ofSeconds(90),
                            args.toArray(String[]::new)), ASYNC);
            maxServers = PgActivity.maxWhile(admin, DB, "app", running, Duration.ofSeconds(100));
            result = running.join();
        }
        System.out.printf("pgbench %s -M %s: %d transactions, tps %.0f, at most %d server connections%n",
                script, queryMode, result.processed(), result.tps(), maxServers);
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.output()).as(result.toString()).contains("number of clients: " + CLIENTS);
        assertThat(result.failed()).as(result.toString()).isZero();
        assertThat(result.processed()).as(result.toString()).isPositive();
        assertThat(maxServers).as("most server connections of the pool seen at once in pg_stat_activity")
                .isPositive()
                .isLessThanOrEqualTo(POOL_SIZE);
        assertThat(pgloom.log()).as("pgloom log").doesNotContain(": unexpected ").doesNotContain("internal error");
    }

    /**
     * Two clients over one server: the server goes from one client to the other between their
     * transactions, and each transaction keeps its server from BEGIN to COMMIT.
     */
    @Test
    void serverChangesHandsOnlyBetweenTransactions() throws Exception {
        try (PgloomProcess one = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 1)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(SIDE_DB, pg, SIDE_DB)
                .user("app", "apppass")
                .start();
                Connection a = Sql.connect(one, SIDE_DB, "app", "apppass", "prepareThreshold=0");
                Connection b = Sql.connect(one, SIDE_DB, "app", "apppass", "prepareThreshold=0")) {
            String pid = Sql.value(a, "select pg_backend_pid()");
            assertThat(Sql.value(b, "select pg_backend_pid()")).as("pool of one: the same server").isEqualTo(pid);

            a.setAutoCommit(false);
            Sql.exec(a, "create temp table tx_only (v int)");
            Sql.exec(a, "insert into tx_only values (1)");
            // b waits while a's transaction holds the only server.
            CompletableFuture<String> bWaits = CompletableFuture.supplyAsync(() -> {
                try {
                    return Sql.value(b, "select 'b ran'");
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }, ASYNC);
            Wait.until("b to wait for the server (SHOW POOLS cl_waiting = 1)", Duration.ofSeconds(10),
                    () -> ShowPools.count(one, SIDE_DB, "app", "cl_waiting") == 1);
            assertThat(bWaits).isNotDone();
            assertThat(Sql.value(a, "select count(*) from tx_only")).as("a keeps its server and temp table")
                    .isEqualTo("1");
            a.rollback();
            assertThat(bWaits.get(10, TimeUnit.SECONDS)).isEqualTo("b ran");
        }
    }

    /**
     * A client that leaves in the middle of a transaction, or with a query still running, costs
     * its server (closed with PgBouncer's reason); the next client of the pool gets a clean one
     * and only its own answers.
     */
    @Test
    void clientLeavingMidTransactionOrMidQueryCostsTheServer() throws Exception {
        try (PgloomProcess one = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 1)
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(SIDE_DB, pg, SIDE_DB)
                .user("app", "apppass")
                .start()) {
            String inTransaction;
            try (RawSession a = RawSession.login(one, SIDE_DB, "app", Map.of())) {
                a.exec("BEGIN");
                a.exec("create temp table left_behind (v int)");
                inTransaction = a.value("select pg_backend_pid()::text");
            }
            one.waitForLog("S-0x[0-9a-f]+: " + SIDE_DB + "/app@\\S+ closing because: client disconnect while server was not ready",
                    Duration.ofSeconds(10));
            String midQuery;
            try (Connection b = Sql.connect(one, SIDE_DB, "app", "apppass", "prepareThreshold=0")) {
                midQuery = Sql.value(b, "select pg_backend_pid()");
                assertThat(midQuery).as("a new server").isNotEqualTo(inTransaction);
                assertThat(Sql.value(b, "select to_regclass('pg_temp.left_behind') is null")).isEqualTo("t");
            }
            try (RawSession c = RawSession.login(one, SIDE_DB, "app", Map.of())) {
                c.raw().send(RawPg.query("select 'for c only' from pg_sleep(5)"));
                Wait.until("c's query to run", Duration.ofSeconds(10), () -> {
                    try (Connection admin = Sql.admin(pg)) {
                        return PgActivity.running(admin, "for c only") == 1;
                    } catch (SQLException e) {
                        throw new AssertionError(e);
                    }
                });
            }
            one.waitForLog("S-0x[0-9a-f]+: " + SIDE_DB + "/app@\\S+ closing because: client disconnected with query in progress",
                    Duration.ofSeconds(10));
            long start = System.nanoTime();
            try (Connection d = Sql.connect(one, SIDE_DB, "app", "apppass", "prepareThreshold=0")) {
                assertThat(Sql.value(d, "select 'for d'")).isEqualTo("for d");
                assertThat(Sql.value(d, "select pg_backend_pid()")).isNotEqualTo(midQuery);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("d did not wait for c's pg_sleep")
                    .isLessThan(Duration.ofSeconds(4));
        }
    }

    /**
     * Clients queued for a server (without a thread of their own: their poller queued the request
     * and stopped) that hang up or are killed while they wait cost nothing: the others are served
     * in order once servers free up, and afterwards no client waits and no server stays lent.
     */
    @Test
    void clientsLeavingWhileTheyWaitLeaveNoServerBehind() throws Exception {
        try (PgloomProcess two = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("auth_type", "trust")
                .database(SIDE_DB, pg, SIDE_DB)
                .user("app", "apppass")
                .start()) {
            List<RawSession> holders = new ArrayList<>();
            List<RawSession> waiters = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    RawSession h = RawSession.login(two, SIDE_DB, "app", Map.of());
                    holders.add(h);
                    h.exec("BEGIN");
                    h.value("select 1");
                }
                for (int i = 0; i < 30; i++) {
                    RawSession w = RawSession.login(two, SIDE_DB, "app", Map.of());
                    waiters.add(w);
                    w.raw().send(RawPg.query("select 'served " + i + "'"));
                }
                Wait.until("30 clients waiting", Duration.ofSeconds(20),
                        () -> ShowPools.count(two, SIDE_DB, "app", "cl_waiting") == 30);
                // every third waiter hangs up while it waits
                for (int i = 0; i < 30; i += 3) {
                    waiters.get(i).close();
                }
                for (RawSession h : holders) {
                    h.exec("COMMIT");
                }
                for (int i = 0; i < 30; i++) {
                    if (i % 3 != 0) {
                        assertThat(onlyValue(waiters.get(i).raw().readUntil('Z'))).isEqualTo("served " + i);
                    }
                }
                Wait.until("nobody waiting, no server lent", Duration.ofSeconds(20), () -> {
                    Map<String, String> row = ShowPools.row(two, SIDE_DB, "app");
                    return "0".equals(row.get("cl_waiting")) && "0".equals(row.get("sv_active"));
                });
                try (RawSession late = RawSession.login(two, SIDE_DB, "app", Map.of())) {
                    assertThat(late.value("select 'late'")).isEqualTo("late");
                }
                assertThat(two.log()).as("pgloom log").doesNotContain("internal error").doesNotContain(": unexpected ");
            } finally {
                holders.forEach(RawSession::close);
                waiters.forEach(RawSession::close);
            }
        }
    }

    private static String onlyValue(List<RawPg.Message> got) {
        for (RawPg.Message m : got) {
            if (m.tag() == 'D') {
                return RawSession.firstColumn(m.body());
            }
        }
        throw new AssertionError("no row in " + got);
    }
}
