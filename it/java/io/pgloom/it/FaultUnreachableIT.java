package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PostgreSQL unreachable, at pgloom's start and later under load, through a {@link TcpProxy} in
 * front of it: the port refuses connections (nobody listens) or accepts them and never answers (a
 * host that swallows packets). Clients never hang: the ones whose request makes pgloom try a
 * server fail once that try fails (at once when refused, after {@code server_connect_timeout}
 * when silent), and for {@code server_login_retry} after it everyone else fails at once with
 * PgBouncer's {@code server login has been failing, cached error: ... (server_login_retry)}.
 * Once PostgreSQL answers again, logins and queries work within {@code server_login_retry}.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultUnreachableIT {

    private static final String PG_DB = "fault_unreachable";
    private static final String DB = "unreach";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration LOGIN_RETRY = Duration.ofSeconds(2);
    /** For the outage under load: a server that went silent mid-query is given up after this. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(2);
    /** What "at once" allows on a loaded 2-core machine: far below any timeout in play. */
    private static final Duration FAST = Duration.ofMillis(1500);
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String CACHED = "server login has been failing, cached error: ";

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
    }

    private static PgloomProcess.Builder pooler(TcpProxy proxy) {
        return PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 4)
                .set("server_connect_timeout", "1s")
                .set("server_login_retry", "2s")
                .set("query_wait_timeout", "20s")
                .database(DB, Map.of("host", "127.0.0.1", "port", proxy.port(), "dbname", PG_DB))
                .user("app", "apppass");
    }

    /**
     * pgjdbc's default extended protocol: it writes a query in two parts, and when pgloom closes
     * the connection in between (the outage), the second write must still succeed and the FATAL
     * be read (client_close_linger).
     */
    private static Connection connect(PgloomProcess pgloom) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", "socketTimeout=30&connectTimeout=10");
    }

    /** A login that must fail; returns its error and how long it took. */
    private record Refusal(SQLException error, Duration took) {
    }

    private static Refusal failingLogin(PgloomProcess pgloom) {
        long start = System.nanoTime();
        SQLException e = Sql.error(() -> connect(pgloom).close());
        return new Refusal(e, Duration.ofNanos(System.nanoTime() - start));
    }

    /** {@code n} logins at once, each of which must fail. */
    private static List<Refusal> failingLogins(PgloomProcess pgloom, int n) throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Refusal>> logins = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                logins.add(threads.submit(() -> failingLogin(pgloom)));
            }
            List<Refusal> out = new ArrayList<>();
            for (Future<Refusal> f : logins) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        }
    }

    /** Nobody listens when pgloom starts; the first login fails at once, the next ones with the cached error. */
    @Test
    void refusedAtStartup() throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port())) {
            proxy.onAccept(TcpProxy.Accept.REFUSE);
            try (PgloomProcess pgloom = pooler(proxy).start()) {
                List<Refusal> first = failingLogins(pgloom, 4);
                List<Refusal> cached = failingLogins(pgloom, 4);
                long failedAt = System.nanoTime();
                System.out.println("refused at startup: first logins " + describe(first) + "\n  then " + describe(cached));
                assertThat(first).allSatisfy(r -> {
                    // seen from the test JVM, which adds its own connect and class loading on a
                    // loaded machine (pgloom's own view, age=0s, is checked below)
                    assertThat(r.took()).as("a refused connection fails the login at once: %s", r.error())
                            .isLessThan(FAST.multipliedBy(2));
                    assertThat(r.error().getSQLState()).startsWith("08");
                });
                assertThat(first).anySatisfy(r -> assertThat(r.error().getMessage())
                        .contains("could not connect to server").contains("Connection refused"));
                assertThat(cached).allSatisfy(r -> {
                    assertThat(r.took()).as("the cached error comes at once").isLessThan(FAST);
                    assertThat(r.error().getMessage()).contains(CACHED).contains("(server_login_retry)");
                    assertThat(r.error().getSQLState()).startsWith("08");
                });
                pgloom.waitForLog("closing because: connect failed", WAIT);
                // pgloom's own view: every refused login (the first ones may get the cached error
                // already, when another one's attempt failed first) closed within a second
                // (the log is written asynchronously: wait for all eight lines)
                java.util.function.Supplier<List<String>> closeLines = () -> pgloom.log().lines()
                        .filter(l -> l.matches(".*C-0x[0-9a-f]+: .* closing"
                                + " because: .*could not connect to server: Connection refused.*")).toList();
                Wait.until("8 refused logins in pgloom's log", WAIT, () -> closeLines.get().size() >= 8,
                        () -> String.join("\n", closeLines.get()));
                assertThat(closeLines.get()).as("refused logins closed by pgloom")
                        .allSatisfy(l -> assertThat(l).endsWith("(age=0s)"));

                proxy.onAccept(TcpProxy.Accept.FORWARD);
                try (Connection c = Wait.untilSucceeds("a login once PostgreSQL listens", WAIT, () -> connect(pgloom))) {
                    Duration after = Duration.ofNanos(System.nanoTime() - failedAt);
                    assertThat(after).as("logins work again within server_login_retry (and a bit)")
                            .isLessThan(LOGIN_RETRY.plusSeconds(3));
                    assertThat(Sql.value(c, "select current_database()")).isEqualTo(PG_DB);
                }
            }
        }
    }

    /**
     * PostgreSQL's port accepts but never answers when pgloom starts: logins fail after
     * server_connect_timeout, all together rather than one after the other, then with the cached
     * error at once.
     */
    @Test
    void silentAtStartup() throws Exception {
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port())) {
            proxy.onAccept(TcpProxy.Accept.HOLD);
            try (PgloomProcess pgloom = pooler(proxy).start()) {
                List<Refusal> first = failingLogins(pgloom, 4);
                List<Refusal> cached = failingLogins(pgloom, 4);
                System.out.println("silent at startup: first logins " + describe(first) + "\n  then " + describe(cached));
                // Seen from the test JVM, which on a loaded machine adds seconds of its own.
                assertThat(first).allSatisfy(r -> {
                    assertThat(r.took()).as("failed no earlier than server_connect_timeout, and did not hang: %s",
                            r.error()).isGreaterThanOrEqualTo(CONNECT_TIMEOUT.minusMillis(100))
                            .isLessThan(CONNECT_TIMEOUT.plusSeconds(5));
                    assertThat(r.error().getSQLState()).startsWith("08");
                    assertThat(r.error().getMessage()).contains("connect timeout");
                });
                // Seen by pgloom: the server connection and the clients waiting for it end within
                // a tick or two of server_connect_timeout (ages are whole seconds).
                pgloom.waitForLog("S-0x[0-9a-f]+: " + DB + "/app@\\S+ closing because: connect timeout"
                        + " \\(age=[12]s\\)", WAIT);
                assertThat(pgloom.log().lines().filter(l -> l.matches(".*closing because: server login failed: connect"
                        + " timeout \\(age=[12]s\\)")).count()).as("clients closed 1-2s after they logged in")
                        .isEqualTo(4);
                assertThat(cached).allSatisfy(r -> {
                    assertThat(r.took()).as("the cached error comes at once").isLessThan(FAST);
                    // PgBouncer's cached text would be just "connect timeout"; pgloom says whose.
                    assertThat(r.error().getMessage()).contains(CACHED).contains("connect timeout (server_login_retry)");
                });
                assertThat(proxy.held()).as("server connections tried (one at a time, none while the cached error"
                        + " is served)").isEqualTo(1);
            }
        }
    }

    /**
     * Under the numbered-row workload, PostgreSQL goes away twice: first its port refuses (and
     * every open connection is reset), then it accepts and stays silent (and every open
     * connection stops delivering). Each time, nobody waits longer than server_connect_timeout
     * (a new server) or query_timeout (a server that went silent mid-query) plus slack for an
     * answer, clients fail fast with the cached error, and after PostgreSQL is back the workload
     * resumes by itself; no acknowledged row is lost or doubled. When the silent network heals,
     * what pgloom had sent to a server it gave up on still arrives: such an insert may commit
     * though its client got "query timeout" (an in-doubt row, which the check allows once).
     */
    @Test
    void unreachableUnderLoad() throws Exception {
        String table = "unreachable_rows";
        try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            NumberedRows.createTable(direct, table);
        }
        try (TcpProxy proxy = TcpProxy.to(pg.host(), pg.port());
                PgloomProcess pgloom = pooler(proxy).set("query_timeout", "2s").start();
                NumberedRows rows = NumberedRows.start(table, 6, () -> connect(pgloom))) {
            rows.awaitProgress("before the outage", new long[6], WAIT);

            outage(pgloom, proxy, rows, "refused", () -> {
                proxy.onAccept(TcpProxy.Accept.REFUSE);
                proxy.cutAll(TcpProxy.Cut.RST);
            });
            outage(pgloom, proxy, rows, "silent", () -> {
                proxy.onAccept(TcpProxy.Accept.HOLD);
                proxy.dropAll(TcpProxy.Direction.BOTH);
            });

            rows.stop(WAIT);
            try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
                rows.verify(direct);
            }
            assertThat(pgloom.log()).doesNotContain("Exception in thread").doesNotContain(": unexpected ");
        }
    }

    private static void outage(PgloomProcess pgloom, TcpProxy proxy, NumberedRows rows, String kind, Runnable fault)
            throws Exception {
        long start = System.nanoTime();
        fault.run();
        // Outage long enough for at least two server_login_retry periods.
        Wait.until("the " + kind + " outage to last " + LOGIN_RETRY.multipliedBy(2), WAIT,
                () -> System.nanoTime() - start > LOGIN_RETRY.multipliedBy(2).toNanos());
        List<NumberedRows.Failure> during = rows.failures().stream().filter(f -> f.atNanos() - start >= 0).toList();

        long back = System.nanoTime();
        proxy.onAccept(TcpProxy.Accept.FORWARD);
        if (kind.equals("silent")) {
            // The network heals: what was kept is delivered, and the connections pgloom gave up
            // on end (their close reaches PostgreSQL).
            proxy.resumeAll();
            proxy.releaseHeld();
        }
        long[] atBack = rows.snapshot();
        rows.awaitProgress("after the " + kind + " outage", atBack, WAIT);
        Duration resumed = Duration.ofNanos(System.nanoTime() - back);

        long cached = during.stream().filter(f -> f.message().contains(CACHED)).count();
        Duration slowest = during.stream().map(NumberedRows.Failure::took).max(Duration::compareTo).orElse(Duration.ZERO);
        System.out.printf("%s outage: %d errors in %d ms (%d of them the cached error), slowest %d ms; workload"
                + " resumed %d ms after PostgreSQL was back%n  %s%n", kind, during.size(),
                (back - start) / 1_000_000, cached, slowest.toMillis(), resumed.toMillis(),
                String.join("\n  ", during.stream().limit(12).map(Object::toString).toList()));
        assertThat(during).as("errors during the %s outage", kind).isNotEmpty().allSatisfy(f -> {
            assertThat(f.sqlState()).as("%s", f).startsWith("08");
            assertThat(f.fromServer()).as("came as an ErrorResponse: %s", f).isTrue();
            assertThat(f.took()).as("nobody hangs: %s", f).isLessThan(QUERY_TIMEOUT.plusSeconds(3));
        });
        assertThat(cached).as("clients failed fast with the cached error").isPositive();
        assertThat(resumed).as("the workload resumes within server_login_retry of PostgreSQL being back")
                .isLessThan(LOGIN_RETRY.plusSeconds(4));
    }

    private static String describe(List<Refusal> refusals) {
        return refusals.stream().map(r -> r.took().toMillis() + " ms: " + r.error().getMessage()).toList().toString();
    }
}
