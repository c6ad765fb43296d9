package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * One server connection black-holed in the middle of a query, through a {@link TcpProxy} in
 * front of PostgreSQL, while 4 writers of the numbered-row workload use the other servers of the
 * same pool. pgloom must free that server by itself and tell its client, and nobody else may
 * notice: no writer gets an error, every writer commits while the victim hangs, and every
 * acknowledged row is in the table exactly once.
 *
 * <ul>
 *   <li>The answer never comes (the link swallows both directions): {@code query_timeout}.</li>
 *   <li>pgloom's own writes stop going anywhere (a COPY into a link that no longer delivers, so
 *       the socket's buffers fill): {@code tcp_user_timeout} makes the kernel give up, or
 *       {@code query_timeout} closes the server while pgloom is blocked writing to it.</li>
 *   <li>TCP keepalive: a user-space proxy cannot make it fire (its kernel answers every probe),
 *       so the test checks that it is armed on server connections with pgloom's settings.</li>
 * </ul>
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultBlackholeIT {

    private static final String PG_DB = "fault_blackhole";
    private static final String DB = "bh";
    private static final int WRITERS = 4;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
        try (Connection c = pg.connect(PG_DB, "app", "apppass")) {
            Sql.exec(c, "create table copy_sink (line text)");
        }
    }

    private static PgloomProcess start(TcpProxy proxy, Object... settings) {
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 4)
                .database(DB, Map.of("host", "127.0.0.1", "port", proxy.port(), "dbname", PG_DB))
                .user("app", "apppass");
        for (int i = 0; i < settings.length; i += 2) {
            b.set((String) settings[i], settings[i + 1]);
        }
        return b.start();
    }

    private static Connection connect(PgloomProcess pgloom) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0&socketTimeout=60&connectTimeout=10");
    }

    /** The proxy link of the server the victim's open transaction runs on. */
    private static TcpProxy.Link linkOf(Connection victim, TcpProxy proxy) throws SQLException {
        victim.setAutoCommit(false);
        int port = Integer.parseInt(Sql.value(victim, "select inet_client_port()"));
        return proxy.linkByTargetSidePort(port);
    }

    @Test
    void silentServerFreedByQueryTimeout() throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port());
                PgloomProcess pgloom = start(proxy, "query_timeout", "2s")) {
            underLoad(pgloom, "bh_query_timeout", () -> {
                try (Connection victim = connect(pgloom)) {
                    TcpProxy.Link link = linkOf(victim, proxy);
                    link.blackhole(TcpProxy.Direction.BOTH);
                    long start = System.nanoTime();
                    SQLException e = Sql.error(() -> Sql.value(victim, "select 'never answered'"));
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    System.out.println("black-holed mid-query: the victim got, after " + took.toMillis() + " ms: "
                            + e.getSQLState() + " " + e.getMessage());
                    assertThat(e.getMessage()).contains("query timeout");
                    assertThat(e.getSQLState()).isEqualTo("08P01");
                    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(1900)).isLessThan(Duration.ofSeconds(8));
                    pgloom.waitForLog("S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: query timeout", WAIT);
                }
            });
        }
    }

    /**
     * The server goes silent while pgloom gives it the next client's parameters: a SET that the
     * client's thread runs before the client's query, with no request linked to the server yet.
     * query_timeout still frees that server and tells the client.
     */
    @Test
    void silentServerDuringParameterSetFreedByQueryTimeout() throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port());
                PgloomProcess pgloom = start(proxy, "query_timeout", "2s", "default_pool_size", 1)) {
            try (Connection first = Sql.connect(pgloom, DB, "app", "apppass", "ApplicationName=first")) {
                assertThat(Sql.value(first, "select current_setting('application_name')")).isEqualTo("first");
            }
            List<TcpProxy.Link> links = proxy.links();
            assertThat(links).as("the pool's only server").hasSize(1);
            links.getFirst().blackhole(TcpProxy.Direction.BOTH);
            // pgjdbc's first request (its setup query, at connect) is the one that needs the SET
            long start = System.nanoTime();
            SQLException e = Sql.error(() -> {
                try (Connection next = Sql.connect(pgloom, DB, "app", "apppass",
                        "ApplicationName=next&socketTimeout=60")) {
                    Sql.value(next, "select 'never answered'");
                }
            });
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            System.out.println("black-holed during the parameter SET: the client got, after " + took.toMillis()
                    + " ms: " + e.getSQLState() + " " + e.getMessage());
            assertThat(e.getMessage()).contains("query timeout");
            assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(1900)).isLessThan(Duration.ofSeconds(8));
            pgloom.waitForLog("S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: query timeout", WAIT);
            try (Connection c = connect(pgloom)) {
                assertThat(Sql.value(c, "select 'a new server'")).isEqualTo("a new server");
            }
        }
    }

    @Test
    void stalledWriteFreedByTcpUserTimeout() throws Exception {
        stalledWrite("tcp_user_timeout", 1000, "bh_user_timeout");
    }

    @Test
    void stalledWriteFreedByQueryTimeout() throws Exception {
        stalledWrite("query_timeout", "2s", "bh_write_query_timeout");
    }

    /**
     * TCP keepalive cannot be made to fire through a user-space proxy (its kernel answers every
     * probe), so this checks what makes it fire on a real network: a server connection idle in a
     * transaction has its keepalive timer running at pgloom's {@code tcp_keepidle}, as {@code ss}
     * shows it, so a peer that vanished is given up after tcp_keepidle + tcp_keepcnt x
     * tcp_keepintvl.
     */
    @Test
    void keepaliveArmedOnServerConnections() throws Exception {
        assumeTrue(Exec.run(List.of("ss", "-V"), Map.of(), WAIT, true).exitCode() == 0, "needs ss (iproute2)");
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("tcp_keepalive", true)
                .set("tcp_keepidle", 5)
                .set("tcp_keepintvl", 2)
                .set("tcp_keepcnt", 3)
                .database(DB, pg, PG_DB)
                .user("app", "apppass")
                .start();
                Connection c = connect(pgloom)) {
            c.setAutoCommit(false);
            int port = Integer.parseInt(Sql.value(c, "select inet_client_port()"));
            Pattern timer = Pattern.compile("timer:\\(keepalive,([0-9.]+)(ms|sec),");
            String line = Wait.untilValue("ss to show the keepalive timer of the server socket from port " + port,
                    WAIT, () -> Exec.run(List.of("ss", "-tnoH", "state", "established", "( sport = :" + port + " )"),
                            Map.of(), WAIT, true).stdout().strip(), l -> timer.matcher(l).find());
            Matcher m = timer.matcher(line);
            assertThat(m.find()).isTrue();
            // ss writes the time left as "4.344ms" or "4.344sec" depending on its version; either way
            // it is at most tcp_keepidle, where the system's default would show "119min".
            double left = Double.parseDouble(m.group(1));
            System.out.println("keepalive on a server connection (tcp_keepidle 5): " + line);
            assertThat(left).as("keepalive timer of %s", line).isGreaterThan(0)
                    .isLessThanOrEqualTo(m.group(2).equals("ms") && !m.group(1).contains(".") ? 5000 : 5.0);
            c.rollback();
        }
    }

    /**
     * The victim starts a COPY into its server, then the link stops delivering (and reading) what
     * pgloom sends while the victim keeps streaming rows: pgloom ends up blocked in a write to
     * that server, with nothing coming back. {@code key} must free it.
     */
    private void stalledWrite(String key, Object value, String table) throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port()); PgloomProcess pgloom = start(proxy, key, value)) {
            underLoad(pgloom, table, () -> {
                Connection victim = connect(pgloom);
                try {
                    TcpProxy.Link link = linkOf(victim, proxy);
                    CopyIn copy = victim.unwrap(PGConnection.class).getCopyAPI().copyIn("copy copy_sink from stdin");
                    link.drop(TcpProxy.Direction.UP);
                    long start = System.nanoTime();
                    CompletableFuture<SQLException> streaming = CompletableFuture.supplyAsync(
                            () -> Sql.error(() -> stream(copy)), Executors.newVirtualThreadPerTaskExecutor());
                    String closed = pgloom.waitForLog("S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: ", WAIT);
                    Duration freed = Duration.ofNanos(System.nanoTime() - start);
                    SQLException e = streaming.get(30, TimeUnit.SECONDS);
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    System.out.printf("stalled write, %s = %s: pgloom freed the server after %d ms (%s); the victim"
                            + " got, after %d ms: %s %s%n", key, value, freed.toMillis(),
                            closed.substring(closed.indexOf("closing")), took.toMillis(), e.getSQLState(),
                            e.getMessage());
                    assertThat(e.getSQLState()).as("%s", e).startsWith("08");
                    assertThat(freed).isLessThan(Duration.ofSeconds(15));
                    link.cut(TcpProxy.Cut.RST);
                } finally {
                    closeBroken(victim);
                }
                if (key.equals("query_timeout")) {
                    // The janitor, which closed that server, still enforces timeouts.
                    try (Connection c = connect(pgloom)) {
                        SQLException e = Sql.error(() -> Sql.value(c, "select 'slept' from pg_sleep(10)"));
                        assertThat(e.getMessage()).as("a later query past query_timeout").contains("query timeout");
                    }
                }
            });
        }
    }

    /** Closes a connection pgloom already dropped (pgjdbc may complain that it cannot say goodbye). */
    private static void closeBroken(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            // "Unable to close connection properly": the socket is gone, as intended
        }
    }

    /** Streams 100-byte COPY rows until the COPY fails (or, which must not happen, 1 GiB went through). */
    private static void stream(CopyIn copy) throws SQLException {
        byte[] chunk = (("x".repeat(99) + "\n").repeat(640)).getBytes(StandardCharsets.US_ASCII);
        for (long sent = 0; sent < (1L << 30); sent += chunk.length) {
            copy.writeToCopy(chunk, 0, chunk.length);
        }
        copy.endCopy();
    }

    /**
     * Runs {@code fault} while {@link #WRITERS} writers insert numbered rows through {@code pgloom}:
     * no writer may get an error or stop committing meanwhile, and every acknowledged row is
     * there once. Afterwards the pool still serves a new client.
     */
    private static void underLoad(PgloomProcess pgloom, String table, Sql.SqlCall fault) throws Exception {
        try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            NumberedRows.createTable(direct, table);
        }
        try (NumberedRows rows = NumberedRows.start(table, WRITERS, () -> connect(pgloom))) {
            rows.awaitProgress("before the fault", new long[WRITERS], WAIT);
            rows.resetMaxLatency();
            long[] before = rows.snapshot();
            fault.run();
            assertThat(rows.everyClientProgressedSince(before)).as("every writer committed while the victim hung: %s"
                    + " then, %s now", java.util.Arrays.toString(before), java.util.Arrays.toString(rows.snapshot()))
                    .isTrue();
            Duration maxLatency = rows.maxLatency();
            rows.awaitProgress("after the fault", rows.snapshot(), WAIT);
            rows.stop(WAIT);
            System.out.println("  writers during the fault: slowest insert " + maxLatency.toMillis() + " ms");
            assertThat(rows.failures()).as("errors the other clients got").isEmpty();
            try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
                rows.verify(direct);
            }
        }
        try (Connection c = connect(pgloom)) {
            assertThat(Sql.value(c, "select 'served after the fault'")).isEqualTo("served after the fault");
        }
        assertThat(pgloom.log()).doesNotContain("Exception in thread").doesNotContain(": unexpected ");
    }
}
