package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * idle_thread_timeout: a client idle for that long lets its virtual thread end, and the
 * connection carries on without one until something needs a thread again (a request that must
 * wait for a server, a close, KILL_CLIENT, a disconnect). Counted from outside with a thread
 * dump of the pgloom process (jcmd), and checked by what the clients see.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IdleThreadIT {

    private static final String TX_DB = "idle_tx";
    private static final String SESSION_DB = "idle_session";
    private static final int CLIENTS = 60;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static PgCluster pg;
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 3)
                .set("max_client_conn", 200)
                .set("idle_thread_timeout", 1)
                .set("admin_users", "app")
                .database(TX_DB, pg, "app")
                .database(SESSION_DB, Map.of("host", pg.host(), "port", pg.port(), "dbname", "app",
                        "pool_mode", "session"))
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    /** Client threads (named C-0x...) alive in pgloom right now, from a jcmd thread dump. */
    private static int clientThreads() {
        return clientThreads(pgloom);
    }

    private static int clientThreads(PgloomProcess pgloom) {
        try {
            Path dir = Files.createTempDirectory("pgloom-threads");
            Path dump = dir.resolve("dump.txt");
            try {
                Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
                Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pgloom.pid()), "Thread.dump_to_file",
                        dump.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(dump)) {
                    throw new IllegalStateException("jcmd Thread.dump_to_file failed: " + out);
                }
                return (int) Files.readAllLines(dump).stream().filter(l -> l.matches("#\\d+ \"C-0x[0-9a-f]+\" virtual.*"))
                        .count();
            } finally {
                Files.deleteIfExists(dump);
                Files.deleteIfExists(dir);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitThreadsLeft(int atMost) {
        Wait.until("at most " + atMost + " client threads alive", WAIT, () -> clientThreads() <= atMost,
                () -> clientThreads() + " client threads alive");
    }

    private static Connection client(String db, String appName) throws SQLException {
        return Sql.connect(pgloom, db, "app", "apppass", "ApplicationName=" + appName);
    }

    private static Connection console() throws SQLException {
        return Sql.connect(pgloom, "pgbouncer", "app", "apppass", "preferQueryMode=simple");
    }

    @Test
    void idleClientsGiveUpTheirThreadsAndAllServeAgainAtOnce() throws Exception {
        List<Connection> clients = new ArrayList<>();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            for (int i = 0; i < CLIENTS; i++) {
                Connection c = client(TX_DB, "idle-" + i);
                assertThat(Sql.value(c, "select " + i)).isEqualTo(Integer.toString(i));
                clients.add(c);
            }
            awaitThreadsLeft(CLIENTS / 10);

            // every client at once over 3 servers: most must wait for a server on a new thread
            for (int round = 0; round < 2; round++) {
                List<Future<?>> work = new ArrayList<>();
                for (int i = 0; i < CLIENTS; i++) {
                    Connection c = clients.get(i);
                    int tag = i * 1000 + round;
                    work.add(pool.submit(() -> {
                        c.setAutoCommit(false);
                        String pid = Sql.value(c, "select pg_backend_pid()");
                        assertThat(Sql.value(c, "select " + tag)).isEqualTo(Integer.toString(tag));
                        assertThat(Sql.value(c, "select pg_backend_pid()")).as("one backend per transaction").isEqualTo(pid);
                        c.commit();
                        c.setAutoCommit(true);
                        return null;
                    }));
                }
                for (Future<?> f : work) {
                    f.get(60, TimeUnit.SECONDS);
                }
                awaitThreadsLeft(CLIENTS / 10);
            }
        } finally {
            pool.shutdownNow();
            for (Connection c : clients) {
                c.close();
            }
        }
        Wait.until("the clients gone from SHOW CLIENTS", WAIT, () -> {
            try (Connection admin = console()) {
                return countClients(admin, TX_DB) == 0;
            } catch (SQLException e) {
                return false;
            }
        });
    }

    private static int countClients(Connection admin, String db) throws SQLException {
        int n = 0;
        try (var st = admin.createStatement(); var rs = st.executeQuery("show clients")) {
            while (rs.next()) {
                if (db.equals(rs.getString("database"))) {
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * A connection that has sent nothing yet has no thread at all, and a client that has just
     * logged in and sent nothing more gives its thread up at its first idle wait, long before
     * idle_thread_timeout. Both carry on as usual afterwards.
     */
    @Test
    void silentConnectionsAndFreshLoginsHoldNoThread() throws Exception {
        try (PgloomProcess p = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("idle_thread_timeout", 600)
                .set("auth_type", "trust")
                .database(TX_DB, pg, "app")
                .user("app", "apppass")
                .start()) {
            List<RawPg> silent = new ArrayList<>();
            List<RawPg> fresh = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    silent.add(RawPg.connect(p, Duration.ofSeconds(10)));
                    fresh.add(RawPg.login(p, TX_DB, "app"));
                }
                Wait.until("no client thread alive", WAIT, () -> clientThreads(p) == 0,
                        () -> clientThreads(p) + " client threads alive");
                for (int i = 0; i < fresh.size(); i++) {
                    RawPg c = fresh.get(i);
                    c.send(RawPg.query("select " + i));
                    assertThat(c.readUntil('Z')).as("a query after the thread left")
                            .anySatisfy(m -> assertThat(m.tag()).isEqualTo('D'))
                            .noneSatisfy(m -> assertThat(m.tag()).isEqualTo('E'));
                }
                RawPg late = silent.get(0);
                late.send(RawPg.startupPacket(Map.of("user", "app", "database", TX_DB)));
                assertThat(late.readUntil('Z')).as("a login that started late").anySatisfy(m -> assertThat(m.tag()).isEqualTo('R'));
            } finally {
                for (RawPg r : silent) {
                    r.close();
                }
                for (RawPg r : fresh) {
                    r.close();
                }
            }
        }
    }

    @Test
    void aSessionClientKeepsItsServerAndSettingsAcrossItsThreadLeaving() throws Exception {
        try (Connection c = client(SESSION_DB, "session-idle")) {
            String pid = Sql.value(c, "select pg_backend_pid()");
            Sql.exec(c, "set application_name = 'still-me'");
            Sql.exec(c, "create temp table mine (x int)");
            Sql.exec(c, "insert into mine values (42)");
            awaitThreadsLeft(2);
            assertThat(Sql.value(c, "select pg_backend_pid()")).isEqualTo(pid);
            assertThat(Sql.value(c, "show application_name")).isEqualTo("still-me");
            assertThat(Sql.value(c, "select x from mine")).isEqualTo("42");
        }
    }

    @Test
    void aClientWithoutAThreadIsKilledOrLeavesCleanly() throws Exception {
        try (Connection admin = console(); Connection victim = client(TX_DB, "victim");
                Connection leaver = client(TX_DB, "leaver"); Connection bystander = client(TX_DB, "bystander")) {
            Sql.value(victim, "select 1");
            Sql.value(leaver, "select 1");
            Sql.value(bystander, "select 1");
            awaitThreadsLeft(2);
            String id = null;
            try (var st = admin.createStatement(); var rs = st.executeQuery("show clients")) {
                while (rs.next()) {
                    if ("victim".equals(rs.getString("application_name"))) {
                        id = rs.getString("id");
                    }
                }
            }
            assertThat(id).isNotNull();
            long mark = pgloom.logSize();
            Sql.exec(admin, "KILL_CLIENT " + id);
            pgloom.waitForLogAfter(mark, "idle_tx/app@.*closing because: ", WAIT);
            assertThat(Sql.error(() -> Sql.value(victim, "select 1")).getMessage()).isNotEmpty();

            mark = pgloom.logSize();
            leaver.close();
            pgloom.waitForLogAfter(mark, "idle_tx/app@.*closing because: client close request", WAIT);
            assertThat(Sql.value(bystander, "select 2")).isEqualTo("2");
        }
    }
}
