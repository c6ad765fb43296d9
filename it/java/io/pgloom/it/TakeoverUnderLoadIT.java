package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Five takeovers in a row under pgbench load (PgBouncer's {@code test_online_restart}), with
 * transaction and session pooling and the simple and extended query protocols all at once: one
 * pgloom has a transaction-pooled database (100 clients over a pool of 20) and a session-pooled
 * one (100 clients, a pool big enough for every one), each driven by two pgbench runs of 50
 * clients, {@code -M simple} and {@code -M extended}, so every takeover happens under all four
 * kinds of load. Each successor is started with {@code -R} on the same config, and the next only
 * after the previous old process has exited. Every pgbench run must report zero failed
 * transactions and no aborted client, every pgbench client must still be listed by SHOW CLIENTS
 * after the fifth takeover, every server backend of before the first takeover must still be
 * connected after the fifth, and every old process must be gone.
 *
 * <p>The four kinds of load share one run rather than one run each because each run costs
 * pgbench's fixed {@code -T}, which must cover five takeovers on a slow machine.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverUnderLoadIT {

    /** The PostgreSQL database behind both pgloom databases. */
    private static final String DB = "takeover_load";
    private static final String TX_DB = "load_tx";
    private static final String SESSION_DB = "load_session";
    private static final int TAKEOVERS = 5;
    /** Clients per pgbench run; two runs per pool mode. */
    private static final int CLIENTS = 50;
    private static final int TX_POOL = 20;
    /**
     * pgbench's -T: long enough for five takeovers under this load (each 8-10 s on a 2-core
     * machine shared with other work); the test fails, saying so, if pgbench ended first.
     */
    private static final int BENCH_SECONDS = 75;

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private PgloomProcess current;

    /** One pgbench run: which pgloom database (and so pool mode) and which query protocol. */
    private record Run(String db, String poolMode, String queryMode) {
        @Override
        public String toString() {
            return poolMode + " -M " + queryMode;
        }
    }

    private static final List<Run> RUNS = List.of(
            new Run(TX_DB, "transaction", "simple"),
            new Run(TX_DB, "transaction", "extended"),
            new Run(SESSION_DB, "session", "simple"),
            new Run(SESSION_DB, "session", "extended"));

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        Pgbench.to(pg, DB, "app", "apppass").init(1);
    }

    @AfterEach
    void stop() {
        if (current != null) {
            current.close();
        }
    }

    private static Map<String, Object> database(String poolMode, int poolSize) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", pg.host());
        m.put("port", pg.port());
        m.put("dbname", DB);
        m.put("pool_mode", poolMode);
        m.put("pool_size", poolSize);
        return m;
    }

    @Test
    void fiveTakeoversUnderPgbenchInBothPoolModesAndBothProtocols() throws SQLException {
        int total = CLIENTS * RUNS.size();
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("max_client_conn", total + 50)
                .set("auth_type", "md5")
                .database(TX_DB, database("transaction", TX_POOL))
                .database(SESSION_DB, database("session", 2 * CLIENTS + 5))
                .user("app", "apppass")
                .start();
        List<Long> pids = new ArrayList<>(List.of(current.pid()));
        List<PgloomProcess> olds = new ArrayList<>();

        Map<Run, CompletableFuture<Pgbench.Result>> benches = new LinkedHashMap<>();
        PgloomProcess first = current;
        for (Run run : RUNS) {
            benches.put(run, CompletableFuture.supplyAsync(
                    () -> Pgbench.to(first, run.db(), "app", "apppass").run(Duration.ofSeconds(BENCH_SECONDS + 120),
                            "-M", run.queryMode(), "-c", Integer.toString(CLIENTS), "-j", "1",
                            "-T", Integer.toString(BENCH_SECONDS), "-n"),
                    ASYNC));
        }
        try (Connection admin = Sql.admin(pg)) {
            Wait.until("all " + total + " pgbench clients to be connected", Duration.ofSeconds(60),
                    () -> anyDone(benches) || clients(first) == total);
            assertThat(anyDone(benches)).as("a pgbench run ended before the first takeover: %s", ended(benches)).isFalse();
            // The pools have opened the servers they keep for the run.
            int servers = TX_POOL + 2 * CLIENTS;
            Wait.until("the pools to open their servers", Duration.ofSeconds(60),
                    () -> Takeovers.backendPids(admin, DB).size() >= servers);
            Set<Integer> serversBefore = Takeovers.backendPids(admin, DB);

            for (int i = 1; i <= TAKEOVERS; i++) {
                assertThat(anyDone(benches))
                        .as("a pgbench run ended before takeover %d (raise BENCH_SECONDS): %s", i, ended(benches))
                        .isFalse();
                PgloomProcess old = current;
                olds.add(old);
                Takeovers.Result r = Takeovers.takeOver(old);
                current = r.successor();
                pids.add(current.pid());
                System.out.printf("under load: takeover %d: %s%n", i, r);
                assertThat(r.clients())
                        .as("clients handed over in takeover %d (%s)\n---- old process: SUSPEND and what it closed ----\n%s",
                                i, r, Takeovers.suspendLines(old))
                        .isEqualTo(total);
            }
            assertThat(anyDone(benches))
                    .as("a pgbench run ended before the fifth takeover completed (raise BENCH_SECONDS): %s", ended(benches))
                    .isFalse();
            assertThat(clients(current)).as("pgbench clients listed by SHOW CLIENTS after %d takeovers", TAKEOVERS)
                    .isEqualTo(total);
            Set<Integer> serversAfter = Takeovers.backendPids(admin, DB);
            assertThat(serversAfter).as("server backends after %d takeovers (before: %s)", TAKEOVERS, serversBefore)
                    .containsAll(serversBefore);
        }

        for (Map.Entry<Run, CompletableFuture<Pgbench.Result>> e : benches.entrySet()) {
            Run run = e.getKey();
            Pgbench.Result result = e.getValue().join();
            System.out.printf("%s: pgbench: processed %d, failed %d, tps %.1f; pids %s%n", run, result.processed(),
                    result.failed(), result.tps(), pids);
            String what = run + ": " + result;
            assertThat(result.exitCode()).as(what).isZero();
            assertThat(result.failed()).as(what).isZero();
            assertThat(result.processed()).as(what).isPositive();
            assertThat(result.output()).as(what)
                    .contains("number of clients: " + CLIENTS)
                    .doesNotContain("aborted");
        }
        for (PgloomProcess old : olds) {
            assertThat(old.isAlive()).as("old process %s", old).isFalse();
        }
    }

    private static long clients(PgloomProcess pgloom) {
        return Takeovers.clientsOf(pgloom, TX_DB) + Takeovers.clientsOf(pgloom, SESSION_DB);
    }

    private static boolean anyDone(Map<Run, CompletableFuture<Pgbench.Result>> benches) {
        return benches.values().stream().anyMatch(CompletableFuture::isDone);
    }

    /** The runs that have ended, with their results. */
    private static String ended(Map<Run, CompletableFuture<Pgbench.Result>> benches) {
        StringBuilder b = new StringBuilder();
        benches.forEach((run, f) -> {
            if (f.isDone()) {
                b.append('\n').append(run).append(": ").append(f.getNow(null));
            }
        });
        return b.toString();
    }
}
