package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every timeout, one test each, with its own pgloom and PgBouncer's semantics and texts: the
 * {@code closing because:} line in the log and the error the client gets. Timeouts are 1s or
 * less; pgloom's janitor checks about three times a second, so each fires within about 1.5s;
 * the tests wait up to several times that, and check that nothing fires early.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TimeoutsIT {

    private static final String PG_DB = "timeouts_it";
    private static final String DB = "to";
    private static final Duration WAIT = Duration.ofSeconds(15);
    /** The least time a 1s timeout may take to fire (clock and tick slack). */
    private static final Duration NOT_BEFORE = Duration.ofMillis(900);

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
        try (Connection c = pg.connect(PG_DB, "app", "apppass")) {
            Sql.exec(c, "create table check_log (at timestamptz default clock_timestamp())");
        }
    }

    /** A transaction-mode pgloom for {@link #DB} (PostgreSQL's {@value #PG_DB}) with these extra settings. */
    private static PgloomProcess.Builder pooler(Object... settings) {
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(DB, pg, PG_DB)
                .user("app", "apppass");
        for (int i = 0; i < settings.length; i += 2) {
            b.set((String) settings[i], settings[i + 1]);
        }
        return b;
    }

    private static Connection connect(PgloomProcess pgloom) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0");
    }

    private static Duration since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** Waits (polling) until {@code d} has passed since {@code startNanos}: idle time a test needs. */
    private static void idleFor(long startNanos, Duration d) {
        Wait.until("idle for " + d, d.plusSeconds(5), () -> since(startNanos).compareTo(d) >= 0);
    }

    private static String serverLine(String reason) {
        return "S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: " + reason + " \\(age=";
    }

    private static String clientLine(String reason) {
        return "C-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: " + reason + " \\(age=";
    }

    // *** client side ***

    @Test
    void queryTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("query_timeout", "1s").start(); Connection c = connect(pgloom)) {
            assertThat(Sql.value(c, "select 'short query'")).isEqualTo("short query");
            long start = System.nanoTime();
            SQLException e = Sql.error(() -> Sql.value(c, "select 'never' from pg_sleep(5)"));
            Duration took = since(start);
            assertThat(e.getMessage()).contains("query timeout");
            assertThat(took).isGreaterThanOrEqualTo(NOT_BEFORE).isLessThan(Duration.ofMillis(4500));
            pgloom.waitForLog(serverLine("query timeout"), WAIT);
            pgloom.waitForLog(clientLine("query timeout"), WAIT);
            assertThat(e.getSQLState()).as("PgBouncer's SQLSTATE for pooler errors: " + e).isEqualTo("08P01");
        }
    }

    @Test
    void queryWaitTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("query_wait_timeout", "1s", "default_pool_size", 1).start();
                Connection holder = connect(pgloom); Connection waiter = connect(pgloom)) {
            holder.setAutoCommit(false);
            Sql.value(holder, "select 'holding the only server'");
            long start = System.nanoTime();
            SQLException e = Sql.error(() -> Sql.value(waiter, "select 'never served'"));
            Duration took = since(start);
            assertThat(e.getMessage()).contains("query_wait_timeout");
            assertThat(took).isGreaterThanOrEqualTo(NOT_BEFORE).isLessThan(Duration.ofSeconds(5));
            pgloom.waitForLog(clientLine("query_wait_timeout"), WAIT);
            // The holder was not disturbed.
            assertThat(Sql.value(holder, "select 'still mine'")).isEqualTo("still mine");
            holder.commit();
        }
    }

    /**
     * query_timeout also bounds a request still waiting for a server (PgBouncer's
     * pool_client_maint): the waiting client is closed with "query_timeout" when it is shorter
     * than query_wait_timeout.
     */
    @Test
    void queryTimeoutWhileWaitingForAServer() throws Exception {
        try (PgloomProcess pgloom = pooler("query_timeout", "1s", "query_wait_timeout", "20s", "default_pool_size", 1)
                .start();
                Connection holder = connect(pgloom); Connection waiter = connect(pgloom)) {
            holder.setAutoCommit(false);
            Sql.value(holder, "select 'holding the only server'");
            long start = System.nanoTime();
            SQLException e = Sql.error(() -> Sql.value(waiter, "select 'never served'"));
            Duration took = since(start);
            assertThat(e.getMessage()).contains("query_timeout").doesNotContain("query_wait_timeout");
            assertThat(took).isGreaterThanOrEqualTo(NOT_BEFORE).isLessThan(Duration.ofSeconds(5));
            pgloom.waitForLog(clientLine("query_timeout"), WAIT);
            assertThat(Sql.value(holder, "select 'still mine'")).isEqualTo("still mine");
            holder.commit();
        }
    }

    @Test
    void clientIdleTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("client_idle_timeout", "1s").start(); Connection c = connect(pgloom)) {
            assertThat(Sql.value(c, "select 'then idle'")).isEqualTo("then idle");
            long lastActivity = System.nanoTime();
            pgloom.waitForLog(clientLine("client_idle_timeout"), WAIT);
            assertThat(since(lastActivity)).isGreaterThanOrEqualTo(NOT_BEFORE);
            SQLException e = Sql.error(() -> Sql.value(c, "select 'too late'"));
            assertThat(e.getMessage()).contains("client_idle_timeout");
        }
    }

    /**
     * client_idle_timeout counts from the client's last message, and a client still logging in
     * (waiting for the pool's first server to log in, here 1.5s through a slow server) is not
     * idle: it logs in, and is closed only after 1s without a request.
     */
    @Test
    void clientIdleTimeoutDoesNotCutALogin() throws Exception {
        try (TcpProxy slow = TcpProxy.to(pg.host(), pg.port())) {
            slow.blackhole(true);
            try (PgloomProcess pgloom = PgloomProcess.builder()
                    .set("pool_mode", "transaction")
                    .set("client_idle_timeout", "1s")
                    .set("ignore_startup_parameters", "extra_float_digits")
                    .database(DB, Map.of("host", "127.0.0.1", "port", slow.port(), "dbname", PG_DB))
                    .user("app", "apppass")
                    .start()) {
                long start = System.nanoTime();
                CompletableFuture<Connection> login = CompletableFuture.supplyAsync(() -> {
                    try {
                        return connect(pgloom);
                    } catch (SQLException e) {
                        throw new AssertionError("login failed", e);
                    }
                }, ASYNC);
                Wait.until("pgloom to connect to the slow server", WAIT, () -> slow.held() == 1);
                idleFor(start, Duration.ofMillis(1500));
                slow.blackhole(false);
                slow.releaseHeld();
                try (Connection c = login.get(10, TimeUnit.SECONDS)) {
                    long loggedIn = System.nanoTime();
                    assertThat(Sql.value(c, "select 'logged in after a slow server login'"))
                            .isEqualTo("logged in after a slow server login");
                    pgloom.waitForLog(clientLine("client_idle_timeout"), WAIT);
                    assertThat(since(loggedIn)).isGreaterThanOrEqualTo(NOT_BEFORE);
                }
            }
        }
    }

    @Test
    void idleTransactionTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("idle_transaction_timeout", "1s").start();
                Connection c = connect(pgloom); Connection admin = Sql.admin(pg)) {
            c.setAutoCommit(false);
            Sql.value(c, "select 'in a transaction'");
            long idleSince = System.nanoTime();
            assertThat(PgActivity.backends(admin, PG_DB, "app")).isEqualTo(1);
            pgloom.waitForLog(serverLine("idle transaction timeout"), WAIT);
            assertThat(since(idleSince)).isGreaterThanOrEqualTo(NOT_BEFORE);
            pgloom.waitForLog(clientLine("idle transaction timeout"), WAIT);
            SQLException e = Sql.error(() -> Sql.value(c, "select 'too late'"));
            assertThat(e.getMessage()).contains("idle transaction timeout");
            Wait.until("the server to be gone from PostgreSQL", WAIT, () -> PgActivity.backends(admin, PG_DB, "app") == 0);
        }
    }

    /** A transaction that keeps running short statements still ends at transaction_timeout. */
    @Test
    void transactionTimeout() throws Exception {
        // the extended protocol: pgjdbc writes twice, and once pgloom has closed the connection
        // the second write must still go through and the FATAL be read (client_close_linger)
        try (PgloomProcess pgloom = pooler("transaction_timeout", "1s").start();
                Connection c = Sql.connect(pgloom, DB, "app", "apppass", "")) {
            c.setAutoCommit(false);
            long start = System.nanoTime();
            Sql.value(c, "select 'first statement'");
            SQLException[] failure = new SQLException[1];
            Wait.until("a statement of the long transaction to fail", WAIT, () -> {
                try {
                    Sql.value(c, "select 'busy'");
                    return false;
                } catch (SQLException e) {
                    failure[0] = e;
                    return true;
                }
            });
            assertThat(since(start)).isGreaterThanOrEqualTo(NOT_BEFORE);
            assertThat(failure[0].getMessage()).contains("transaction timeout");
            pgloom.waitForLog(serverLine("transaction timeout"), WAIT);
        }
    }

    /**
     * A client that connects and sends nothing: on the epoll transport it has no thread until its
     * first byte, so only the janitor can time it out.
     */
    @Test
    void clientLoginTimeoutOfASilentConnection() throws Exception {
        try (PgloomProcess pgloom = pooler("client_login_timeout", "1s").start();
                RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            long start = System.nanoTime();
            List<RawPg.Message> before = raw.readUntilClosed();
            assertThat(since(start)).isGreaterThanOrEqualTo(NOT_BEFORE);
            assertThat(before).as("nothing but a possible error before the close").allSatisfy(m -> assertThat(m.tag()).isEqualTo('E'));
            pgloom.waitForLog("C-0x[0-9a-f]+: .*@127.0.0.1:" + raw.localPort() + " closing because: client_login_timeout \\(age=", WAIT);
        }
    }

    /** A client that asked to log in but never answers the password request. */
    @Test
    void clientLoginTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("client_login_timeout", "1s", "auth_type", "md5").start();
                RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(10))) {
            long start = System.nanoTime();
            raw.send(RawPg.startupPacket(Map.of("user", "app", "database", DB)));
            RawPg.Message ask = raw.read();
            assertThat(ask.tag()).as("password request").isEqualTo('R');
            List<RawPg.Message> rest = raw.readUntilClosed();
            assertThat(since(start)).isGreaterThanOrEqualTo(NOT_BEFORE);
            assertThat(rest).as("what came before the close").anySatisfy(m -> {
                assertThat(m.tag()).isEqualTo('E');
                assertThat(m.errorMessage()).isEqualTo("client_login_timeout");
            });
            pgloom.waitForLog("C-0x[0-9a-f]+: " + DB + "/app@127.0.0.1:" + raw.localPort()
                    + " closing because: client_login_timeout \\(age=", WAIT);
        }
    }

    // *** server side ***

    @Test
    void serverIdleTimeout() throws Exception {
        try (PgloomProcess pgloom = pooler("server_idle_timeout", "1s").start();
                Connection c = connect(pgloom); Connection admin = Sql.admin(pg)) {
            assertThat(Sql.value(c, "select 'leaves its server idle'")).isEqualTo("leaves its server idle");
            long idleSince = System.nanoTime();
            assertThat(PgActivity.backends(admin, PG_DB, "app")).isEqualTo(1);
            Wait.until("the idle server to be closed", WAIT, () -> PgActivity.backends(admin, PG_DB, "app") == 0);
            assertThat(since(idleSince)).isGreaterThanOrEqualTo(NOT_BEFORE);
            pgloom.waitForLog(serverLine("server idle timeout"), WAIT);
            // The client, still connected, gets a new server.
            assertThat(Sql.value(c, "select 'new server'")).isEqualTo("new server");
        }
    }

    /** A server reused all the time is still replaced once it is older than server_lifetime. */
    @Test
    void serverLifetime() throws Exception {
        try (PgloomProcess pgloom = pooler("server_lifetime", "1s", "default_pool_size", 1).start()) {
            // The pool's first server is born when the first client logs in: measure from before.
            long start = System.nanoTime();
            try (Connection c = connect(pgloom)) {
                String first = Sql.value(c, "select pg_backend_pid()");
                String next = Wait.untilValue("another server than " + first, WAIT, () -> {
                    try {
                        return Sql.value(c, "select pg_backend_pid()");
                    } catch (SQLException e) {
                        throw new AssertionError(e);
                    }
                }, pid -> !pid.equals(first));
                assertThat(next).isNotEqualTo(first);
                assertThat(since(start)).isGreaterThanOrEqualTo(NOT_BEFORE);
                pgloom.waitForLog(serverLine("server lifetime over"), WAIT);
            }
        }
    }

    private static final Pattern LOG_TIME =
            Pattern.compile("^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");
    private static final DateTimeFormatter LOG_TIME_FORMAT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    /**
     * Four servers born together do not all die together: PgBouncer closes at most one per
     * server_lifetime / pool_size (here 1s / 4).
     */
    @Test
    void serverLifetimeIsStaggered() throws Exception {
        try (PgloomProcess pgloom = pooler("server_lifetime", "1s", "default_pool_size", 4).start()) {
            List<Connection> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Connection c = connect(pgloom);
                    clients.add(c);
                    c.setAutoCommit(false);
                    Sql.value(c, "select 'four servers at once'");
                }
                for (Connection c : clients) {
                    c.commit();
                }
            } finally {
                for (Connection c : clients) {
                    c.close();
                }
            }
            Wait.until("four servers to reach their lifetime", WAIT, () -> lifetimeCloses(pgloom).size() >= 4);
            List<LocalDateTime> closes = lifetimeCloses(pgloom);
            for (int i = 1; i < closes.size(); i++) {
                assertThat(Duration.between(closes.get(i - 1), closes.get(i)))
                        .as("gap between lifetime closes %d and %d: %s", i - 1, i, closes)
                        .isGreaterThanOrEqualTo(Duration.ofMillis(200));
            }
        }
    }

    /**
     * The same while the servers are busy: servers past their lifetime are closed when released,
     * but still at most one per server_lifetime / pool_size (PgBouncer's life_over() applies the
     * gap on release too), so a busy pool does not reconnect everything at once.
     */
    @Test
    void serverLifetimeIsStaggeredUnderLoad() throws Exception {
        try (PgloomProcess pgloom = pooler("server_lifetime", "1s", "default_pool_size", 4).start()) {
            AtomicBoolean stop = new AtomicBoolean();
            List<CompletableFuture<Void>> load = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                load.add(CompletableFuture.runAsync(() -> {
                    try (Connection c = connect(pgloom)) {
                        while (!stop.get()) {
                            Sql.value(c, "select 'busy' from pg_sleep(0.005)");
                        }
                    } catch (SQLException e) {
                        throw new AssertionError(e);
                    }
                }, ASYNC));
            }
            try {
                Wait.until("four lifetime closes", WAIT, () -> lifetimeCloses(pgloom).size() >= 4);
            } finally {
                stop.set(true);
            }
            CompletableFuture.allOf(load.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            List<LocalDateTime> closes = lifetimeCloses(pgloom);
            for (int i = 1; i < 4; i++) {
                assertThat(Duration.between(closes.get(i - 1), closes.get(i)))
                        .as("gap between lifetime closes %d and %d: %s", i - 1, i, closes)
                        .isGreaterThanOrEqualTo(Duration.ofMillis(200));
            }
        }
    }

    private static List<LocalDateTime> lifetimeCloses(PgloomProcess pgloom) {
        return pgloom.log().lines()
                .filter(l -> l.contains("closing because: server lifetime over"))
                .map(l -> {
                    Matcher m = LOG_TIME.matcher(l);
                    assertThat(m.find()).as(l).isTrue();
                    return LocalDateTime.parse(m.group(1), LOG_TIME_FORMAT);
                }).toList();
    }

    /** A server that hangs during login (accepts TCP, never answers) is closed after server_connect_timeout. */
    @Test
    void serverConnectTimeout() throws Exception {
        try (TcpProxy hang = TcpProxy.to(pg.host(), pg.port())) {
            hang.blackhole(true);
            try (PgloomProcess pgloom = PgloomProcess.builder()
                    .set("pool_mode", "transaction")
                    .set("server_connect_timeout", "1s")
                    .set("ignore_startup_parameters", "extra_float_digits")
                    .database(DB, Map.of("host", "127.0.0.1", "port", hang.port(), "dbname", PG_DB))
                    .user("app", "apppass")
                    .start()) {
                long start = System.nanoTime();
                SQLException e = Sql.error(() -> connect(pgloom).close());
                Duration took = since(start);
                String closed = pgloom.waitForLog(serverLine("connect timeout"), WAIT);
                System.out.println("client error after a connect timeout: " + e.getMessage() + "\nlog: " + closed);
                assertThat(hang.held()).as("connections the hanging server accepted").isPositive();
                assertThat(took).isGreaterThanOrEqualTo(NOT_BEFORE).isLessThan(Duration.ofSeconds(10));
                assertThat(e.getMessage()).contains("connect timeout");
            }
        }
    }

    /**
     * After a failed server login, no new attempt for server_login_retry (2s); clients meanwhile
     * fail at once with the cached error; after it, a new attempt succeeds.
     */
    @Test
    void serverLoginRetry() throws Exception {
        String missing = "login_retry_it";
        try (Connection admin = Sql.admin(pg)) {
            Sql.exec(admin, "drop database if exists " + missing + " with (force)");
        }
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("server_login_retry", "2s")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(DB, pg, missing)
                .user("app", "apppass")
                .start()) {
            SQLException first = Sql.error(() -> connect(pgloom).close());
            long failedAt = System.nanoTime();
            assertThat(first.getMessage()).contains("database \"" + missing + "\" does not exist");
            try (Connection admin = Sql.admin(pg)) {
                Sql.exec(admin, "create database " + missing + " owner app");
            }
            SQLException cached = Sql.error(() -> connect(pgloom).close());
            assertThat(since(failedAt)).as("still within server_login_retry").isLessThan(Duration.ofMillis(1800));
            assertThat(cached.getMessage()).contains("server login has been failing, cached error: ")
                    .contains("(server_login_retry)").contains("does not exist");
            assertThat(serverAttempts(pgloom)).as("server connections tried so far").isEqualTo(1);

            try (Connection c = Wait.untilSucceeds("a login once server_login_retry is over", WAIT, () -> connect(pgloom))) {
                assertThat(since(failedAt)).isGreaterThanOrEqualTo(Duration.ofMillis(1800));
                assertThat(Sql.value(c, "select current_database()")).isEqualTo(missing);
            }
        } finally {
            try (Connection admin = Sql.admin(pg)) {
                Sql.exec(admin, "drop database if exists " + missing + " with (force)");
            }
        }
    }

    private static long serverAttempts(PgloomProcess pgloom) {
        return pgloom.log().lines().filter(l -> l.contains("new connection to server")).count();
    }

    /** server_check_query runs before a server that was idle longer than server_check_delay is reused, only then. */
    @Test
    void serverCheckQueryAfterCheckDelay() throws Exception {
        try (PgloomProcess pgloom = pooler("server_check_delay", 0.3, "server_check_query",
                "insert into check_log default values", "default_pool_size", 1).start();
                Connection c = connect(pgloom); Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            Sql.exec(direct, "truncate check_log");
            String pid = Sql.value(c, "select pg_backend_pid()");
            assertThat(Sql.value(direct, "select count(*) from check_log")).as("no check for a new server").isEqualTo("0");
            long idleSince = System.nanoTime();
            idleFor(idleSince, Duration.ofMillis(500));
            assertThat(Sql.value(c, "select pg_backend_pid()")).isEqualTo(pid);
            assertThat(Sql.value(direct, "select count(*) from check_log")).as("checked after 0.5s idle").isEqualTo("1");
            assertThat(Sql.value(c, "select pg_backend_pid()")).isEqualTo(pid);
            assertThat(Sql.value(direct, "select count(*) from check_log")).as("no check right after use").isEqualTo("1");
        }
    }

    /**
     * A server handed straight from one client to the next waiting one was never idle: no check
     * query, however long ago it last sat idle (before, every hand-off after server_check_delay
     * ran the check: one more round trip per transaction under contention).
     */
    @Test
    void noCheckQueryOnDirectHandOff() throws Exception {
        try (PgloomProcess pgloom = pooler("server_check_delay", 0.3, "server_check_query",
                "insert into check_log default values", "default_pool_size", 1).start();
                Connection a = connect(pgloom); Connection b = connect(pgloom);
                Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            Sql.exec(direct, "truncate check_log");
            Sql.value(a, "select 1"); // the server goes idle now
            a.setAutoCommit(false);
            long busySince = System.nanoTime();
            Sql.value(a, "select 1"); // taken from idle at once: no check
            idleFor(busySince, Duration.ofMillis(500)); // the server stays lent to a, past server_check_delay
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return Sql.value(b, "select 'served'");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            Wait.until("b waits for the server", WAIT, () -> ShowPools.count(pgloom, DB, "app", "cl_waiting") == 1);
            a.commit(); // the server goes straight to b
            assertThat(waiting.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("served");
            assertThat(Sql.value(direct, "select count(*) from check_log")).as("checks").isEqualTo("0");
        }
    }

    /** A server failing server_check_query is closed, and the client transparently gets another. */
    @Test
    void failingServerCheckReplacesTheServer() throws Exception {
        try (PgloomProcess pgloom = pooler("server_check_delay", "300ms", "server_check_query", "select 1/0",
                "default_pool_size", 1).start();
                Connection c = connect(pgloom)) {
            String first = Sql.value(c, "select pg_backend_pid()");
            idleFor(System.nanoTime(), Duration.ofMillis(500));
            String second = Sql.value(c, "select pg_backend_pid()");
            assertThat(second).as("a new server after the failed check").isNotEqualTo(first);
            pgloom.waitForLog(serverLine("test query failed"), WAIT);
        }
    }

    /**
     * A cancel that PostgreSQL never acknowledges (the connection is accepted and then left
     * silent) is given up after cancel_wait_timeout, and the query it was meant for runs on.
     */
    @Test
    void cancelWaitTimeout() throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port());
                PgloomProcess pgloom = PgloomProcess.builder()
                        .set("pool_mode", "transaction")
                        .set("cancel_wait_timeout", "1s")
                        .set("ignore_startup_parameters", "extra_float_digits")
                        .database(DB, Map.of("host", "127.0.0.1", "port", proxy.port(), "dbname", PG_DB))
                        .user("app", "apppass")
                        .start();
                Connection c = connect(pgloom); Connection admin = Sql.admin(pg); Statement s = c.createStatement()) {
            CompletableFuture<String> sleeping = CompletableFuture.supplyAsync(() -> {
                try (var rs = s.executeQuery("select 'slept' from pg_sleep(3)")) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }, ASYNC);
            Wait.until("pg_sleep(3) to run", WAIT, () -> PgActivity.running(admin, "pg_sleep(3)") == 1);
            proxy.blackhole(true);
            long mark = pgloom.logSize();
            long start = System.nanoTime();
            s.cancel();
            Duration cancelTook = since(start);
            pgloom.waitForLogAfter(mark, "closing because: cancel_wait_timeout \\(age=", Duration.ofSeconds(8));
            assertThat(proxy.held()).as("cancel connections PostgreSQL's stand-in left silent").isEqualTo(1);
            assertThat(cancelTook).as("pgjdbc's cancel() returns once pgloom gives up")
                    .isGreaterThanOrEqualTo(NOT_BEFORE).isLessThan(Duration.ofSeconds(5));
            assertThat(sleeping.get(10, TimeUnit.SECONDS)).isEqualTo("slept");
        }
    }
}
