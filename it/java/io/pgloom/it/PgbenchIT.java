package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * pgbench through pgloom: TPC-B and select-only, in every query mode, in session pooling (as
 * many clients as servers, since a session holds its server for the whole run) and in
 * transaction pooling (20 clients sharing 5 servers). Zero failed transactions each time, and
 * never more servers than the pool allows.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PgbenchIT {

    private static final String DB = "bench_pgbench";
    private static final int POOL_SIZE = 5;
    private static final Pattern SERVER_FROM =
            Pattern.compile("new connection to server \\(from 127\\.0\\.0\\.1:(\\d+)\\)");

    /** One thread per task: the common pool may have a single worker, busy with another task. */
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess session;
    private static PgloomProcess transaction;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        Pgbench.to(pg, DB, "app", "apppass").init(1);
        session = pooler("session");
        transaction = pooler("transaction");
    }

    @AfterAll
    static void stop() {
        if (session != null) {
            session.close();
        }
        if (transaction != null) {
            transaction.close();
        }
    }

    private static PgloomProcess pooler(String mode) {
        return PgloomProcess.builder()
                .set("pool_mode", mode)
                .set("default_pool_size", POOL_SIZE)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @ParameterizedTest(name = "session {0} -M {1}")
    @CsvSource({
        "tpcb, simple", "tpcb, extended", "tpcb, prepared",
        "select-only, simple", "select-only, extended", "select-only, prepared"})
    void sessionMode(String script, String queryMode) {
        run(session, script, queryMode, POOL_SIZE);
    }

    @ParameterizedTest(name = "transaction {0} -M {1}, 20 clients over a pool of 5")
    @CsvSource({"tpcb, simple", "tpcb, extended", "select-only, simple", "select-only, extended"})
    void transactionModeTwentyClientsOverFiveServers(String script, String queryMode) {
        run(transaction, script, queryMode, 20);
    }

    private static void run(PgloomProcess pgloom, String script, String queryMode, int clients) {
        List<String> args = new ArrayList<>(List.of("-M", queryMode, "-c", Integer.toString(clients), "-j", "2",
                "-T", "3", "-n"));
        if (script.equals("select-only")) {
            args.add("-S");
        }
        AtomicInteger maxServers = new AtomicInteger();
        try (Connection admin = Sql.admin(pg)) {
            CompletableFuture<Pgbench.Result> running = CompletableFuture.supplyAsync(
                    () -> Pgbench.to(pgloom, DB, "app", "apppass").run(Duration.ofSeconds(45), args.toArray(String[]::new)),
                    ASYNC);
            Wait.until("pgbench to finish", Duration.ofSeconds(50), () -> {
                maxServers.accumulateAndGet(backends(admin, pgloom), Math::max);
                return running.isDone();
            });
            Pgbench.Result result = running.join();
            assertThat(result.exitCode()).as(result.toString()).isZero();
            assertThat(result.failed()).as(result.toString()).isZero();
            assertThat(result.processed()).as(result.toString()).isPositive();
            assertThat(result.output()).as(result.toString()).contains("number of clients: " + clients);
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        assertThat(maxServers.get()).as("most server connections to %s seen at once", DB)
                .isPositive()
                .isLessThanOrEqualTo(POOL_SIZE);
    }

    /**
     * How many backends of the bench database belong to this pgloom right now: those whose client
     * port is one that this pgloom logged as {@code new connection to server (from 127.0.0.1:<port>)}
     * (the other pgloom of this class may keep idle servers to the same database).
     */
    private static int backends(Connection admin, PgloomProcess pgloom) {
        Matcher m = SERVER_FROM.matcher(pgloom.log());
        List<Integer> ports = new ArrayList<>();
        while (m.find()) {
            ports.add(Integer.parseInt(m.group(1)));
        }
        if (ports.isEmpty()) {
            return 0;
        }
        try (PreparedStatement ps = admin.prepareStatement(
                "select count(*) from pg_stat_activity where datname = ? and usename = 'app' and client_port = any(?)")) {
            ps.setString(1, DB);
            ps.setArray(2, admin.createArrayOf("int4", ports.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }
}
