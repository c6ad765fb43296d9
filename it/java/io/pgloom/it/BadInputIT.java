package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Bad bytes from clients and a server that dies mid-query, while a pgbench runs through the same
 * pgloom: every case must close only the connection concerned, with a logged reason, and
 * pgbench must end with zero failed transactions (checked last).
 *
 * <p>The clients here are raw sockets ({@link RawPg}); pgloom runs with {@code auth_type = trust}
 * so they need no password exchange. Each client's log lines are found by its local port.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BadInputIT {

    private static final String BENCH_DB = "bench_badinput";
    private static final Duration LOG_WAIT = Duration.ofSeconds(5);

    /** One thread per task: the common pool may have a single worker, busy with another task. */
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    private static CompletableFuture<Pgbench.Result> bench;
    private static final AtomicInteger CASES_DURING_BENCH = new AtomicInteger();

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, BENCH_DB);
        Pgbench.to(pg, BENCH_DB, "app", "apppass").init(1);
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("auth_type", "trust")
                .set("default_pool_size", 4)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(BENCH_DB, pg, BENCH_DB)
                .database("app", pg, "app")
                .database("app_session", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "pool_mode", "session"))
                .user("app", "apppass")
                .start();
        bench = CompletableFuture.supplyAsync(() -> Pgbench.to(pgloom, BENCH_DB, "app", "unused")
                .run(Duration.ofSeconds(60), "-S", "-c", "4", "-j", "2", "-T", "8"), ASYNC);
        pgloom.waitForLog("login attempt: db=" + BENCH_DB, Duration.ofSeconds(10));
    }

    @AfterAll
    static void stop() {
        if (bench != null && !bench.isDone()) {
            bench.completeExceptionally(new AssertionError("abandoned"));
        }
        if (pgloom != null) {
            pgloom.close();
        }
    }

    /** After every case: pgloom still runs and serves a new client. */
    @AfterEach
    void stillServing() throws SQLException {
        assertThat(pgloom.isAlive()).as("pgloom process alive").isTrue();
        try (Connection c = connect("app")) {
            assertThat(Sql.value(c, "select 'serving'")).isEqualTo("serving");
        }
        if (!bench.isDone()) {
            CASES_DURING_BENCH.incrementAndGet();
        }
    }

    private static Connection connect(String db) throws SQLException {
        return Sql.connect(pgloom, db, "app", "", "");
    }

    /** Waits for {@code closing because: <reason>} of the client on {@code raw}'s local port. */
    private static String awaitClose(RawPg raw, String reason) {
        return pgloom.waitForLog(Pattern.quote(raw.logAddress() + "closing because: " + reason), LOG_WAIT);
    }

    private static void sendIgnoringReset(RawPg raw, byte[] bytes) {
        try {
            raw.send(bytes);
        } catch (IOException e) {
            // pgloom may close before it has read everything; what it logged is what counts.
        }
    }

    // *** Before login ***

    @Test
    @Order(1)
    void garbageInsteadOfStartupPacket() throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            raw.send("GET / HTTP/1.1\r\nHost: pgloom\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            raw.drainUntilClosed();
            // "GET " read as a length is 1195725856: far over the startup packet limit.
            String line = awaitClose(raw, "startup packet too large");
            assertThat(line).contains("(nodb)/(nouser)");
        }
    }

    @Test
    @Order(2)
    void binaryJunkWithPlausibleLength() throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            byte[] junk = ByteBuffer.allocate(16).putInt(16).putInt(0xdeadbeef).putLong(0x0123456789abcdefL).array();
            raw.send(junk);
            raw.drainUntilClosed();
            awaitClose(raw, "unsupported protocol version");
        }
    }

    @Test
    @Order(3)
    void truncatedStartupPacketThenClose() throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            byte[] full = RawPg.startupPacket(Map.of("user", "app", "database", "app"));
            raw.send(Arrays.copyOf(full, full.length / 2));
            raw.shutdownOutput();
            raw.drainUntilClosed();
            awaitClose(raw, "client unexpected eof");
        }
    }

    @Test
    @Order(4)
    void startupPacketLengthOfTwoToThe31MinusOne() throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            raw.send(ByteBuffer.allocate(8).putInt(Integer.MAX_VALUE).putInt(196608).array());
            raw.drainUntilClosed();
            awaitClose(raw, "startup packet too large");
        }
    }

    @Test
    @Order(5)
    void oneMegabyteStartupPacket() throws IOException {
        try (RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            byte[] packet = RawPg.startupPacket(Map.of("user", "app", "database", "app",
                    "application_name", "x".repeat(1024 * 1024)));
            assertThat(packet.length).isGreaterThan(1024 * 1024);
            sendIgnoringReset(raw, packet);
            raw.drainUntilClosed();
            awaitClose(raw, "startup packet too large");
        }
    }

    // *** After login ***

    @Test
    @Order(10)
    void messageLengthOfTwoToThe31MinusOne() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            raw.send(RawPg.header('Q', Integer.MAX_VALUE));
            List<RawPg.Message> answer = raw.readUntilClosed();
            awaitClose(raw, "message too large");
            assertThat(answer).as("a FATAL before the close").anyMatch(m -> m.tag() == 'E' && m.sqlState().equals("08P01"));
        }
    }

    @Test
    @Order(11)
    void messageLengthBelowFour() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            raw.send(RawPg.header('Q', 2));
            raw.readUntilClosed();
            awaitClose(raw, "invalid message length 2");
        }
    }

    @Test
    @Order(12)
    void unknownMessageType() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            raw.send(RawPg.message('z', RawPg.cstring("what is this")));
            raw.readUntilClosed();
            awaitClose(raw, "unknown pkt");
        }
    }

    @Test
    @Order(13)
    void halfQueryThenVanish() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            byte[] query = RawPg.query("select '" + "y".repeat(200) + "'");
            raw.send(Arrays.copyOf(query, 40));
            raw.close();
            awaitClose(raw, "client unexpected eof");
        }
    }

    /**
     * Half of a Query larger than pkt_buf: pgloom has already passed its start to a server when
     * the client vanishes, so that server holds half a message and must be closed, not reused.
     */
    @Test
    @Order(14)
    void halfOfLargeQueryThenVanish() throws IOException, SQLException {
        long mark = pgloom.logSize();
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            byte[] query = RawPg.query("select length('" + "y".repeat(64 * 1024) + "')");
            raw.send(Arrays.copyOf(query, 16 * 1024));
            // The server got the start of it: PostgreSQL's backend is now reading that message.
            raw.close();
            awaitClose(raw, "client unexpected eof");
        }
        pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: app/app@\\S+ closing because: client disconnected with query in progress",
                LOG_WAIT);
        // Every server left in the app pool answers properly.
        try (Connection c = connect("app")) {
            for (int i = 0; i < 10; i++) {
                assertThat(Sql.value(c, "select " + i)).isEqualTo(Integer.toString(i));
            }
        }
    }

    /**
     * Framing control: a Query larger than pkt_buf and a small one written together. Both must
     * be answered; the second must not wait in pgloom's buffer for more bytes.
     */
    @Test
    @Order(15)
    void largeQueryFollowedBySmallOneInOneWrite() throws IOException {
        try (RawPg raw = RawPg.login(pgloom, "app", "app")) {
            raw.send(RawPg.concat(
                    RawPg.query("select length('" + "z".repeat(20_000) + "')"),
                    RawPg.query("select 'second'")));
            List<RawPg.Message> first = raw.readUntil('Z');
            assertThat(first).extracting(RawPg.Message::tag).contains('T', 'D', 'C');
            List<RawPg.Message> second = raw.readUntil('Z');
            assertThat(second).extracting(RawPg.Message::tag).contains('T', 'D', 'C');
            assertThat(new String(second.stream().filter(m -> m.tag() == 'D').findFirst().orElseThrow().body(),
                    StandardCharsets.UTF_8)).endsWith("second");
        }
    }

    // *** A server dies ***

    @Test
    @Order(20)
    void serverKilledMidQuery() throws Exception {
        long mark = pgloom.logSize();
        String pid;
        // socketTimeout: should the client never hear of the death, its read ends after 10 s, so
        // that this test can report that instead of hanging on the statement's lock.
        try (Connection c = Sql.connect(pgloom, "app_session", "app", "", "socketTimeout=10");
                Connection admin = Sql.admin(pg); Statement s = c.createStatement()) {
            pid = Sql.value(c, "select pg_backend_pid()");
            long started = System.nanoTime();
            CompletableFuture<SQLException> sleeping = CompletableFuture.supplyAsync(
                    () -> Sql.error(() -> s.execute("select pg_sleep(5)")), ASYNC);
            Wait.until("pg_sleep(5) running on backend " + pid, Duration.ofSeconds(5),
                    () -> sleepingOn(admin, pid));
            assertThat(Sql.value(admin, "select pg_terminate_backend(" + pid + ")")).isEqualTo("t");
            SQLException e = sleeping.get(15, TimeUnit.SECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(e.getMessage()).as("the client saw the server's end, not its own socket timeout")
                    .doesNotContain("Read timed out");
            assertThat(e.getSQLState()).as(e.toString()).matches("08...|57...");
            assertThat(took).as("error before pg_sleep(5) would have ended; got %s", e).isLessThan(Duration.ofSeconds(5));
        }
        // PgBouncer's words for a server that went away under a linked client, on both sides.
        pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: app_session/app@\\S+ closing because: server conn crashed\\?",
                LOG_WAIT);
        pgloom.waitForLogAfter(mark, "C-0x[0-9a-f]+: app_session/app@\\S+ closing because: server conn crashed\\?",
                LOG_WAIT);
        // The pool recovered: a new client gets a new, working server.
        try (Connection c = connect("app_session")) {
            String newPid = Sql.value(c, "select pg_backend_pid()");
            assertThat(newPid).isNotEqualTo(pid);
            assertThat(Sql.value(c, "select 'recovered'")).isEqualTo("recovered");
        }
    }

    /** A server killed while idle in the pool is noticed and dropped, not handed to the next client. */
    @Test
    @Order(21)
    void idleServerKilled() throws SQLException {
        String pid;
        try (Connection c = connect("app_session")) {
            pid = Sql.value(c, "select pg_backend_pid()");
        }
        // Back in the pool after the reset query: wait until PostgreSQL shows it idle.
        try (Connection admin = Sql.admin(pg)) {
            Wait.until("backend " + pid + " idle after the reset", Duration.ofSeconds(5),
                    () -> "idle".equals(state(admin, pid)));
            long mark = pgloom.logSize();
            assertThat(Sql.value(admin, "select pg_terminate_backend(" + pid + ")")).isEqualTo("t");
            pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: app_session/app@\\S+ closing because: ", LOG_WAIT);
        }
        try (Connection c = connect("app_session")) {
            assertThat(Sql.value(c, "select pg_backend_pid()")).isNotEqualTo(pid);
        }
    }

    private static String state(Connection admin, String pid) {
        try (PreparedStatement ps = admin.prepareStatement("select state from pg_stat_activity where pid = ?::int")) {
            ps.setString(1, pid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    private static boolean sleepingOn(Connection admin, String pid) {
        try (PreparedStatement ps = admin.prepareStatement("select count(*) from pg_stat_activity"
                + " where pid = ?::int and state = 'active' and query like '%pg_sleep%'")) {
            ps.setString(1, pid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    // *** Last: the bystander ***

    @Test
    @Order(100)
    void concurrentPgbenchHadNoFailures() throws Exception {
        Pgbench.Result result = bench.get(60, TimeUnit.SECONDS);
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.failed()).as(result.toString()).isZero();
        assertThat(result.processed()).as(result.toString()).isPositive();
        assertThat(CASES_DURING_BENCH.get()).as("bad-input cases that ran while pgbench was running").isPositive();
        assertThat(pgloom.log()).doesNotContain("Exception").doesNotContain("internal error");
    }
}
