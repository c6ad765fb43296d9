package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that sends a query with a result of about 2 GB and then does not read it, then reads
 * it slowly, then reads the rest as fast as it can, through a pgloom whose heap is capped at
 * {@value #HEAP}. Meanwhile 4 writers of the numbered-row workload use the same pool.
 *
 * <ul>
 *   <li>Only that client's server is held: PostgreSQL shows exactly one backend blocked writing
 *       the result (wait event {@code ClientWrite}), and the writers keep committing on the
 *       other servers, without errors.</li>
 *   <li>Memory stays bounded: nothing buffers a result that its client does not take. pgloom
 *       lives through the whole result with its small heap, the heap use and the resident size
 *       sampled all along stay under the bounds below, and the client gets every row, in order.</li>
 * </ul>
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultSlowClientIT {

    private static final String PG_DB = "fault_slow_client";
    private static final String DB = "slow";
    private static final String HEAP = "64m";
    private static final int ROWS = 2_000_000;
    private static final int WIDTH = 1_000;
    private static final String QUERY = "select g, repeat('x', " + WIDTH + ") from generate_series(1, " + ROWS + ") g";
    /** Bound on pgloom's resident size: a JVM with a 64 MiB heap, code cache, metaspace and GC. */
    private static final long RSS_BOUND_KB = 320 * 1024;
    private static final Duration STALL = Duration.ofSeconds(3);
    private static final Duration SLOW_READ = Duration.ofSeconds(3);
    /** Bytes per second the client reads while it reads slowly. */
    private static final long SLOW_RATE = 6_000_000;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
    }

    @Test
    void aClientThatStopsReadingHoldsOnlyItsServerAndNoMemory() throws Exception {
        try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            NumberedRows.createTable(direct, "slow_client_rows");
        }
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .jvmOption("-Xmx" + HEAP)
                .set("pool_mode", "transaction")
                .set("default_pool_size", 3)
                .set("auth_type", "trust")
                .database(DB, pg, PG_DB)
                .user("app", "apppass")
                .start();
                ProcessMemory.Sampler memory = new ProcessMemory.Sampler(pgloom.pid(),
                        Duration.ofMillis(200), Duration.ofSeconds(3));
                Connection admin = Sql.admin(pg);
                NumberedRows rows = NumberedRows.start("slow_client_rows", 4,
                        () -> Sql.connect(pgloom, DB, "app", "", "prepareThreshold=0&socketTimeout=60"));
                RawPg slow = RawPg.login(pgloom, DB, "app")) {
            rows.awaitProgress("before the big query", new long[4], WAIT);
            long idleRss = ProcessMemory.rssKb(pgloom.pid());
            slow.send(RawPg.query(QUERY));

            // 1. Not reading at all: every buffer on the way fills, and PostgreSQL waits.
            Wait.until("PostgreSQL to block writing the result (wait_event ClientWrite)", WAIT,
                    () -> clientWriteBlocked(admin));
            long stalledAt = System.nanoTime();
            long[] atStall = rows.snapshot();
            Wait.until("the client to stall for " + STALL, STALL.plusSeconds(10),
                    () -> System.nanoTime() - stalledAt >= STALL.toNanos());
            assertThat(rows.everyClientProgressedSince(atStall)).as("every writer committed while the result was"
                    + " stuck: %s then, %s now", java.util.Arrays.toString(atStall),
                    java.util.Arrays.toString(rows.snapshot())).isTrue();
            assertThat(clientWriteBlocked(admin)).as("the big query still waits for its client").isTrue();
            assertThat(PgActivity.running(admin, "generate_series(1, " + ROWS + ")"))
                    .as("backends running the big query").isEqualTo(1);
            long stalledRss = ProcessMemory.rssKb(pgloom.pid());
            long stalledLiveHeap = ProcessMemory.liveHeapKb(pgloom.pid());

            // 2. Reading slowly (SLOW_RATE), 3. then as fast as possible.
            DataInputStream in = new DataInputStream(new BufferedInputStream(slow.inputStream(), 1 << 16));
            Result r = new Result();
            long slowStart = System.nanoTime();
            long slowUntil = slowStart + SLOW_READ.toNanos();
            while (System.nanoTime() - slowUntil < 0 && r.end == null) {
                readMessage(in, r);
                // a slow consumer: reads no more than SLOW_RATE allows for the time so far
                long allowed = (System.nanoTime() - slowStart) * SLOW_RATE / 1_000_000_000L;
                if (r.bytes > allowed) {
                    Wait.until("the slow reader's pace to allow more", SLOW_READ.plusSeconds(10),
                            () -> (System.nanoTime() - slowStart) * SLOW_RATE / 1_000_000_000L >= r.bytes
                                    || System.nanoTime() - slowUntil >= 0);
                }
            }
            long slowRows = r.rows;
            long fastStart = System.nanoTime();
            while (r.end == null) {
                readMessage(in, r);
            }
            Duration fast = Duration.ofNanos(System.nanoTime() - fastStart);
            assertThat(r.end).isEqualTo("SELECT " + ROWS);
            assertThat(r.rows).isEqualTo(ROWS);
            assertThat(in.read()).as("ReadyForQuery after the result").isEqualTo('Z');
            in.skipNBytes(in.readInt() - 4);

            rows.stop(WAIT);
            memory.close();
            double gb = r.bytes / 1e9;
            long endLiveHeap = ProcessMemory.liveHeapKb(pgloom.pid());
            System.out.printf("slow client: %.2f GB result (%d rows; %d read slowly), the rest at %.0f MB/s; pgloom"
                    + " -Xmx%s: RSS %d MiB idle, %d MiB with the client stalled, %s; live heap after a full GC"
                    + " %.1f MiB with the client stalled, %.1f MiB at the end; writers committed %d rows, slowest"
                    + " insert %d ms%n", gb, r.rows, slowRows, (r.bytes / 1e6) / Math.max(0.001,
                    fast.toNanos() / 1e9), HEAP, idleRss / 1024, stalledRss / 1024, memory, stalledLiveHeap / 1024.0,
                    endLiveHeap / 1024.0, rows.totalCommitted(), rows.maxLatency().toMillis());
            assertThat(pgloom.isAlive()).as("pgloom lived through the result").isTrue();
            assertThat(pgloom.log()).doesNotContain("OutOfMemoryError").doesNotContain(": unexpected ");
            assertThat(memory.peakHeapKb()).as("peak heap use, KiB").isPositive().isLessThanOrEqualTo(64 * 1024);
            assertThat(memory.peakRssKb()).as("peak resident size, KiB").isLessThan(RSS_BOUND_KB);
            assertThat(rows.failures()).as("errors the other clients got").isEmpty();
            try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
                rows.verify(direct);
            }
            slow.send(RawPg.query("select 'next'"));
            assertThat(slow.readUntil('Z')).as("the slow client's next query").anyMatch(m -> m.tag() == 'D');
        }
    }

    /**
     * {@code query_timeout} frees the server of a client that stopped reading (pgloom's server
     * thread is then blocked writing to that client): the server and the client are closed, the
     * pool's only server slot serves the next client, and the janitor keeps enforcing timeouts.
     */
    @Test
    void queryTimeoutFreesTheServerOfAClientThatStoppedReading() throws Exception {
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 1)
                .set("query_timeout", "2s")
                .set("auth_type", "trust")
                .database(DB, pg, PG_DB)
                .user("app", "apppass")
                .start();
                Connection admin = Sql.admin(pg);
                RawPg slow = RawPg.login(pgloom, DB, "app")) {
            slow.send(RawPg.query(QUERY));
            long start = System.nanoTime();
            Wait.until("PostgreSQL to block writing the result (wait_event ClientWrite)", WAIT,
                    () -> clientWriteBlocked(admin));
            pgloom.waitForLog("S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: query timeout", WAIT);
            pgloom.waitForLog("C-0x[0-9a-f]+: " + DB + "/app@127.0.0.1:" + slow.localPort()
                    + " closing because: query timeout", WAIT);
            Duration freed = Duration.ofNanos(System.nanoTime() - start);
            Wait.until("the big query's backend to end", WAIT,
                    () -> PgActivity.running(admin, "generate_series(1, " + ROWS + ")") == 0);
            try (Connection next = Sql.connect(pgloom, DB, "app", "", "socketTimeout=30")) {
                assertThat(Sql.value(next, "select 'the only server slot is free'"))
                        .isEqualTo("the only server slot is free");
                SQLException e = Sql.error(() -> Sql.value(next, "select 'slept' from pg_sleep(10)"));
                assertThat(e.getMessage()).as("the janitor still enforces query_timeout").contains("query timeout");
            }
            byte[] buffered = slow.drainUntilClosed();
            System.out.printf("query_timeout with a client that stopped reading: server and client closed %d ms after"
                    + " the query; the client then read %d buffered bytes and EOF%n", freed.toMillis(), buffered.length);
        }
    }

    /** True when PostgreSQL's backend running the big query waits for its client to read. */
    private static boolean clientWriteBlocked(Connection admin) {
        try (PreparedStatement ps = admin.prepareStatement("select count(*) from pg_stat_activity where"
                + " wait_event = 'ClientWrite' and position(? in query) > 0 and pid <> pg_backend_pid()")) {
            ps.setString(1, "generate_series(1, " + ROWS + ")");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    /** What the client has read of the result. */
    private static final class Result {
        long rows;
        long bytes;
        String end;
    }

    /** Reads one backend message of the result: RowDescription, a DataRow (checked in order), or the end. */
    private static void readMessage(DataInputStream in, Result r) throws IOException {
        int tag = in.read();
        int len = in.readInt();
        r.bytes += 1 + len;
        switch (tag) {
            case 'T' -> in.skipNBytes(len - 4);
            case 'D' -> {
                in.readShort();
                int glen = in.readInt();
                long g = Long.parseLong(new String(in.readNBytes(glen), StandardCharsets.US_ASCII));
                if (g != r.rows + 1) {
                    throw new AssertionError("row " + g + " after row " + r.rows);
                }
                in.skipNBytes(len - 4 - 2 - 4 - glen);
                r.rows++;
            }
            case 'C' -> {
                byte[] body = in.readNBytes(len - 4);
                r.end = new String(body, 0, body.length - 1, StandardCharsets.UTF_8);
            }
            default -> throw new AssertionError("unexpected message '" + (char) tag + "' after row " + r.rows);
        }
    }
}
