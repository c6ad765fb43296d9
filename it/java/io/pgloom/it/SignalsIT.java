package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The signals, each observed doing its job with PgBouncer's log line: SIGHUP reloads the file,
 * SIGTERM refuses new logins and exits once the last client has left, SIGINT exits once the
 * servers are released, a second SIGTERM or SIGINT exits at once, SIGUSR1 pauses (a query waits,
 * no server runs) and SIGUSR2 resumes (the query completes). PgloomProcess starts the JVM itself
 * (not from a shell's {@code &}), so it inherits no ignored signal. Each test has its own pgloom,
 * since most of them end it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SignalsIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final String DB = "signals";

    private static PgCluster pg;
    private static final ExecutorService BACKGROUND = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
    }

    @AfterAll
    static void stop() {
        BACKGROUND.shutdownNow();
    }

    private static PgloomProcess.Builder pooler() {
        PgloomProcess.Builder b = PgloomProcess.builder();
        return b.set("pool_mode", "transaction")
                .set("default_pool_size", 4)
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("pidfile", b.dir().resolve("pgloom.pid").toString())
                .database(DB, pg, DB)
                .user("app", "apppass");
    }

    private static Connection client(PgloomProcess pgloom) throws SQLException {
        return pgloom.connect(DB, "app", "apppass");
    }

    /** A row of SHOW CONFIG or SHOW STATE ({@code key|value|...}) through the unix socket as user pgbouncer. */
    private static String console(PgloomProcess pgloom, String show, String key) {
        Psql.Result r = Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "")
                .run(Duration.ofSeconds(20), "-A", "-t", "-F", "|", "-c", "SHOW " + show);
        assertThat(r.ok()).as(r.toString()).isTrue();
        return r.stdout().lines().filter(l -> l.startsWith(key + "|")).map(l -> l.split("\\|", -1)[1])
                .findFirst().orElseThrow(() -> new AssertionError("no " + key + " in SHOW " + show + "\n" + r));
    }

    private static boolean tcpAccepts(PgloomProcess pgloom) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", pgloom.port()), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** PostgreSQL's backends for database {@value #DB}: pgloom's server connections. */
    private static long backends(Connection direct) {
        try {
            return Long.parseLong(Sql.value(direct, "select count(*) from pg_stat_activity where datname = '" + DB
                    + "' and backend_type = 'client backend'"));
        } catch (SQLException e) {
            throw new AssertionError("pg_stat_activity: " + e.getMessage(), e);
        }
    }

    @Test
    void sighupReloadsTheFile() throws Exception {
        try (PgloomProcess pgloom = pooler().set("server_check_query", "select 1").start()) {
            assertThat(console(pgloom, "CONFIG", "server_check_query")).isEqualTo("select 1");
            Path config = pgloom.configFile();
            String text = Files.readString(config, StandardCharsets.UTF_8);
            Files.writeString(config, text.replace("\"select 1\"", "\"select 2\""), StandardCharsets.UTF_8);
            long mark = pgloom.logSize();

            pgloom.signal("HUP");

            pgloom.waitForLogAfter(mark, "LOG got SIGHUP, re-reading config", WAIT);
            Wait.until("SHOW CONFIG to show the reloaded server_check_query", WAIT,
                    () -> console(pgloom, "CONFIG", "server_check_query").equals("select 2"));
            try (Connection c = client(pgloom)) {
                assertThat(Sql.value(c, "select 6 * 7")).isEqualTo("42");
            }
            assertThat(pgloom.isAlive()).isTrue();
        }
    }

    @Test
    void sigtermRefusesNewLoginsAndExitsWhenTheLastClientLeaves() throws Exception {
        try (PgloomProcess pgloom = pooler().start()) {
            Path pidfile = pgloom.dir().resolve("pgloom.pid");
            assertThat(Files.readString(pidfile).trim()).isEqualTo(Long.toString(pgloom.pid()));
            Connection stays = client(pgloom);
            assertThat(Sql.value(stays, "select 1")).isEqualTo("1");

            pgloom.signal("TERM");

            pgloom.waitForLog("LOG got SIGTERM, shutting down, waiting for all clients disconnect", WAIT);
            Wait.until("the TCP listener to close", WAIT, () -> !tcpAccepts(pgloom));
            Psql.Result refused = Psql.toSocket(pgloom, DB, "app", "apppass").command("select 1");
            assertThat(refused.ok()).as(refused.toString()).isFalse();
            assertThat(refused.stderr()).contains("pooler is shutting down");
            // the client that was there keeps working, with a server per transaction as before
            for (int i = 0; i < 3; i++) {
                assertThat(Sql.value(stays, "select " + i)).isEqualTo(Integer.toString(i));
            }
            assertThat(pgloom.isAlive()).isTrue();

            stays.close();

            assertThat(pgloom.waitForExit(WAIT)).isZero();
            assertThat(pgloom.log()).contains("LOG client connections dropped, exiting");
            assertThat(pidfile).doesNotExist();
        }
    }

    @Test
    void sigintExitsOnceTheServersAreReleased() throws Exception {
        try (PgloomProcess pgloom = pooler().start()) {
            Connection inTransaction = client(pgloom);
            inTransaction.setAutoCommit(false);
            assertThat(Sql.value(inTransaction, "select 1")).isEqualTo("1");

            pgloom.signal("INT");

            pgloom.waitForLog("LOG got SIGINT, shutting down, waiting for all servers connections to be released",
                    WAIT);
            Wait.until("the TCP listener to close", WAIT, () -> !tcpAccepts(pgloom));
            // the open transaction keeps its server until it ends
            assertThat(Sql.value(inTransaction, "select 2")).isEqualTo("2");
            assertThat(pgloom.isAlive()).isTrue();

            inTransaction.commit();

            assertThat(pgloom.waitForExit(WAIT)).isZero();
            assertThat(pgloom.log()).contains("LOG server connections dropped, exiting");
            assertThat(pgloom.dir().resolve("pgloom.pid")).doesNotExist();
            inTransaction.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT"})
    void aSecondSignalExitsAtOnce(String signal) throws Exception {
        try (PgloomProcess pgloom = pooler().start(); Connection inTransaction = client(pgloom)) {
            inTransaction.setAutoCommit(false);
            Sql.value(inTransaction, "select 1");
            pgloom.signal(signal);
            pgloom.waitForLog("LOG got SIG" + signal + ", shutting down", WAIT);
            assertThat(pgloom.isAlive()).isTrue();

            pgloom.signal(signal);

            assertThat(pgloom.waitForExit(WAIT)).isZero();
            assertThat(pgloom.log()).contains("LOG got SIG" + signal + " while shutting down, fast exit");
            assertThatThrownBy(() -> Sql.value(inTransaction, "select 2")).isInstanceOf(SQLException.class);
        }
    }

    @Test
    void sigusr1PausesAndSigusr2Resumes() throws Exception {
        try (PgloomProcess pgloom = pooler().start(); Connection c = client(pgloom);
                Connection direct = Sql.admin(pg)) {
            assertThat(Sql.value(c, "select 1")).isEqualTo("1");

            pgloom.signal("USR1");

            pgloom.waitForLog("LOG got SIGUSR1, pausing all activity", WAIT);
            Wait.until("SHOW STATE paused", WAIT, () -> console(pgloom, "STATE", "paused").equals("yes"));
            Wait.until("no server connection to " + DB, WAIT, () -> backends(direct) == 0);
            CompletableFuture<String> query = CompletableFuture.supplyAsync(() -> {
                try {
                    return Sql.value(c, "select 6 * 7");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, BACKGROUND);
            Wait.until("the query to wait for a server", WAIT,
                    () -> ShowPools.count(pgloom, DB, "app", "cl_waiting") == 1);
            assertThat(query).isNotDone();
            assertThat(backends(direct)).isZero();
            pgloom.signal("USR1");
            pgloom.waitForLog("LOG got SIGUSR1, but already paused/suspended", WAIT);

            pgloom.signal("USR2");

            assertThat(query.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("42");
            pgloom.waitForLog("LOG got SIGUSR2, continuing from PAUSE", WAIT);
            assertThat(console(pgloom, "STATE", "paused")).isEqualTo("no");
            pgloom.signal("USR2");
            pgloom.waitForLog("LOG got SIGUSR2, but not paused/suspended", WAIT);
        }
    }
}
