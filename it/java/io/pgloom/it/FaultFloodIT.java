package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A flood of {@value #FLOOD} connections against a pgloom that is already at
 * {@code max_client_conn} (4 writers of the numbered-row workload and 16 idle clients): all of
 * them are opened and held at once, then each sends a StartupMessage. Every one must be refused
 * with PgBouncer's {@code no more connections allowed (max_client_conn)} (SQLSTATE 53300) and
 * closed; the clients already in keep working (no error, inserts still quick); pgloom's heap,
 * capped at {@value #HEAP}, stays within the bound documented in README ("Reliability").
 *
 * <p>The flood runs from one thread on non-blocking channels; the test JVM and pgloom (which
 * inherits the test JVM's limit) each need one descriptor per connection, so the open-files soft
 * limit is raised to the hard limit if needed, and the test is skipped, saying so, if even that
 * is too low.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultFloodIT {

    private static final String PG_DB = "fault_flood";
    private static final String DB = "flood";
    private static final int FLOOD = 10_000;
    private static final int MAX_CLIENT_CONN = 20;
    private static final int WRITERS = 4;
    private static final String HEAP = "96m";
    /** The documented bound on pgloom's live heap while it holds the whole flood (README). */
    private static final long LIVE_HEAP_BOUND_KB = 48 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
    }

    @Test
    void tenThousandConnectionsBeyondMaxClientConnAreRefused() throws Exception {
        long needed = FLOOD + 1_000L;
        long limit = OpenFiles.raiseSoftLimit(needed);
        assumeTrue(limit < 0 || limit >= needed, "open-files limit " + limit + " (hard " + OpenFiles.get().hard()
                + ") is too low for a flood of " + FLOOD + " connections: needs " + needed + " (raise ulimit -n)");
        try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            NumberedRows.createTable(direct, "flood_rows");
        }
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .jvmOption("-Xmx" + HEAP)
                .set("pool_mode", "transaction")
                .set("default_pool_size", 4)
                .set("max_client_conn", MAX_CLIENT_CONN)
                .set("auth_type", "trust")
                .set("log_connections", false)
                .set("log_disconnections", false)
                .database(DB, pg, PG_DB)
                .user("app", "apppass")
                .start();
                ProcessMemory.Sampler memory = new ProcessMemory.Sampler(pgloom.pid(),
                        Duration.ofMillis(200), Duration.ofSeconds(2));
                NumberedRows rows = NumberedRows.start("flood_rows", WRITERS, () -> connect(pgloom));
                ConnectionFlood flood = new ConnectionFlood()) {
            rows.awaitProgress("before the flood", new long[WRITERS], WAIT);
            List<Connection> idle = new ArrayList<>();
            try {
                for (int i = 0; i < MAX_CLIENT_CONN - WRITERS; i++) {
                    idle.add(connect(pgloom));
                    Sql.value(idle.get(i), "select 'idle " + i + "'");
                }
                SQLException full = Sql.error(() -> connect(pgloom).close());
                assertThat(full.getMessage()).as("pgloom is at max_client_conn").contains("max_client_conn");

                long idleRss = ProcessMemory.rssKb(pgloom.pid());
                long idleLiveHeap = ProcessMemory.liveHeapKb(pgloom.pid());
                long beforeFlood = System.nanoTime();
                Wait.until("a second of inserts before the flood", WAIT,
                        () -> System.nanoTime() - beforeFlood > 1_000_000_000L);
                long floodStart = System.nanoTime();
                AtomicLong heldLiveHeap = new AtomicLong();
                AtomicLong heldRss = new AtomicLong();
                ConnectionFlood.Outcome out = flood.run(pgloom.port(), FLOOD, 100,
                        RawPg.startupPacket(Map.of("user", "app", "database", DB)), () -> {
                            heldRss.set(ProcessMemory.rssKb(pgloom.pid()));
                            heldLiveHeap.set(ProcessMemory.liveHeapKb(pgloom.pid()));
                        }, Duration.ofSeconds(120));
                long floodEnd = System.nanoTime();

                Duration p50Before = rows.latencyPercentile(50, beforeFlood, floodStart);
                Duration p99Before = rows.latencyPercentile(99, beforeFlood, floodStart);
                Duration p50During = rows.latencyPercentile(50, floodStart, floodEnd);
                Duration p99During = rows.latencyPercentile(99, floodStart, floodEnd);
                System.out.printf("flood of %d: all held open after %d ms, all answered %d ms later; answers %s;"
                        + " pgloom -Xmx%s: RSS %d MiB before, %d MiB holding the flood, %s; live heap %.1f MiB"
                        + " before, %.1f MiB holding the flood; writers' inserts p50/p99 %.1f/%.1f ms before,"
                        + " %.1f/%.1f ms during the flood, slowest %d ms%n", FLOOD, out.openPhase().toMillis(),
                        out.answerPhase().toMillis(), out.answers(), HEAP, idleRss / 1024, heldRss.get() / 1024,
                        memory, idleLiveHeap / 1024.0, heldLiveHeap.get() / 1024.0, p50Before.toNanos() / 1e6,
                        p99Before.toNanos() / 1e6, p50During.toNanos() / 1e6, p99During.toNanos() / 1e6,
                        rows.maxLatency().toMillis());

                assertThat(out.opened()).as("connections held open at once").isEqualTo(FLOOD);
                assertThat(out.answers()).as("what each connection of the flood got")
                        .containsOnlyKeys("E 53300 no more connections allowed (max_client_conn)")
                        .containsEntry("E 53300 no more connections allowed (max_client_conn)", FLOOD);
                assertThat(pgloom.isAlive()).isTrue();
                assertThat(pgloom.log()).doesNotContain("OutOfMemoryError").doesNotContain(": unexpected ")
                        .doesNotContain("accept() failed");
                assertThat(heldLiveHeap.get()).as("live heap (KiB) holding %d connections", FLOOD)
                        .isPositive().isLessThan(LIVE_HEAP_BOUND_KB);

                long[] after = rows.snapshot();
                rows.awaitProgress("after the flood", after, WAIT);
                for (int i = 0; i < idle.size(); i++) {
                    assertThat(Sql.value(idle.get(i), "select 'still here " + i + "'")).isEqualTo("still here " + i);
                }
                rows.stop(WAIT);
                assertThat(rows.failures()).as("errors the clients already in got").isEmpty();
                assertThat(p99During).as("inserts stay quick during the flood (p99)").isLessThan(Duration.ofSeconds(1));
                try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
                    rows.verify(direct);
                }
            } finally {
                for (Connection c : idle) {
                    c.close();
                }
            }
        }
    }

    private static Connection connect(PgloomProcess pgloom) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "", "prepareThreshold=0&socketTimeout=60&connectTimeout=20");
    }
}
