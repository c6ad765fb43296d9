package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Five takeovers in a row under pgbench load (PgBouncer's {@code test_online_restart}): in
 * transaction pooling more clients than servers, in session pooling a pool big enough for every
 * client; simple and extended query protocol. Each successor is started with {@code -R} on the
 * same config, and the next only after the previous old process has exited. pgbench must report
 * zero failed transactions and no aborted client, every pgbench client must still be listed by
 * SHOW CLIENTS after the fifth takeover, every server backend of before the first takeover must
 * still be connected after the fifth, and every old process must be gone.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverUnderLoadIT {

    private static final String DB = "takeover_load";
    private static final int TAKEOVERS = 5;
    /** pgbench's -T: long enough for five takeovers (each about 5 s here), checked below. */
    private static final int BENCH_SECONDS = 75;

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private PgloomProcess current;

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

    @ParameterizedTest(name = "{0} pooling, -M {1}, {2} clients over a pool of {3}")
    @CsvSource({
        "transaction, simple, 50, 20",
        "transaction, extended, 50, 20",
        "session, simple, 20, 25",
        "session, extended, 20, 25"})
    void fiveTakeoversUnderPgbench(String poolMode, String queryMode, int clients, int poolSize) throws SQLException {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", poolMode)
                .set("default_pool_size", poolSize)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        List<Long> pids = new ArrayList<>(List.of(current.pid()));
        List<PgloomProcess> olds = new ArrayList<>();
        List<Takeovers.Result> results = new ArrayList<>();

        CompletableFuture<Pgbench.Result> bench = CompletableFuture.supplyAsync(
                () -> Pgbench.to(current, DB, "app", "apppass").run(Duration.ofSeconds(BENCH_SECONDS + 120),
                        "-M", queryMode, "-c", Integer.toString(clients), "-j", "2",
                        "-T", Integer.toString(BENCH_SECONDS), "-n"),
                ASYNC);
        try (Connection admin = Sql.admin(pg)) {
            PgloomProcess first = current;
            Wait.until("all " + clients + " pgbench clients to be connected", Duration.ofSeconds(60),
                    () -> bench.isDone() || Takeovers.clientsOf(first, DB) == clients);
            assertThat(bench.isDone()).as("pgbench ended before the first takeover: %s", bench.getNow(null)).isFalse();
            // The pool has opened the servers it keeps for the run.
            Wait.until("the pool to open its servers", Duration.ofSeconds(60),
                    () -> Takeovers.backendPids(admin, DB).size() >= Math.min(clients, poolSize));
            Set<Integer> serversBefore = Takeovers.backendPids(admin, DB);

            for (int i = 1; i <= TAKEOVERS; i++) {
                assertThat(bench.isDone())
                        .as("pgbench ended before takeover %d (raise BENCH_SECONDS): %s", i, bench.getNow(null))
                        .isFalse();
                PgloomProcess old = current;
                olds.add(old);
                Takeovers.Result r = Takeovers.takeOver(old);
                current = r.successor();
                pids.add(current.pid());
                results.add(r);
                System.out.printf("%s -M %s: takeover %d: %s%n", poolMode, queryMode, i, r);
                assertThat(r.clients())
                        .as("clients handed over in takeover %d (%s)\n---- old process: SUSPEND and what it closed ----\n%s",
                                i, r, Takeovers.suspendLines(old))
                        .isEqualTo(clients);
            }
            assertThat(bench.isDone())
                    .as("pgbench ended before the fifth takeover completed (raise BENCH_SECONDS): %s", bench.getNow(null))
                    .isFalse();
            assertThat(Takeovers.clientsOf(current, DB)).as("pgbench clients listed by SHOW CLIENTS after %d takeovers",
                    TAKEOVERS).isEqualTo(clients);
            Set<Integer> serversAfter = Takeovers.backendPids(admin, DB);
            assertThat(serversAfter).as("server backends after %d takeovers (before: %s)", TAKEOVERS, serversBefore)
                    .containsAll(serversBefore);
        }

        Pgbench.Result result = bench.join();
        System.out.printf("%s -M %s: pgbench: processed %d, failed %d, tps %.1f; pids %s%n", poolMode, queryMode,
                result.processed(), result.failed(), result.tps(), pids);
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.failed()).as(result.toString()).isZero();
        assertThat(result.processed()).as(result.toString()).isPositive();
        assertThat(result.output()).as(result.toString())
                .contains("number of clients: " + clients)
                .doesNotContain("aborted");
        for (PgloomProcess old : olds) {
            assertThat(old.isAlive()).as("old process %s", old).isFalse();
        }
    }
}
