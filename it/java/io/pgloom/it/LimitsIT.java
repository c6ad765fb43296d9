package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every connection limit, one test each, with its own pgloom: server limits are watched in
 * PostgreSQL's pg_stat_activity while clients push against them (pool_size, reserve pool,
 * max_db_connections and max_user_connections with eviction, min_pool_size), client limits by
 * the refused client's error and pgloom's log line.
 *
 * <p>All pools point at PostgreSQL database {@value #PG_DB}; each test starts with no backend
 * there, so a count is this test's pgloom's servers.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LimitsIT {

    private static final String PG_DB = "limits_it";
    private static final Duration WAIT = Duration.ofSeconds(15);

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
    }

    @BeforeEach
    void noBackendsLeft() throws SQLException {
        try (Connection admin = Sql.admin(pg)) {
            Wait.until("the previous test's servers to be gone from " + PG_DB, WAIT,
                    () -> PgActivity.backends(admin, PG_DB, null) == 0);
        }
    }

    /** A transaction-mode pgloom with users app and md5user in its auth_file; databases are added by each test. */
    private static PgloomProcess.Builder pooler() {
        return PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("ignore_startup_parameters", "extra_float_digits")
                .user("app", "apppass")
                .user("md5user", "md5pass");
    }

    /** A [databases] entry for PostgreSQL's {@value #PG_DB}, plus these key/value pairs. */
    private static Map<String, Object> db(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", pg.host());
        m.put("port", pg.port());
        m.put("dbname", PG_DB);
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static Connection connect(PgloomProcess pgloom, String db, String user) throws SQLException {
        return Sql.connect(pgloom, db, user, user.equals("app") ? "apppass" : "md5pass", "prepareThreshold=0");
    }

    /** {@code clients} clients of (db, user), each running {@code queries} short sleeps; completes when all are done. */
    private static CompletableFuture<Void> load(PgloomProcess pgloom, String db, String user, int clients, int queries) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            all.add(CompletableFuture.runAsync(() -> {
                try (Connection c = connect(pgloom, db, user)) {
                    for (int q = 0; q < queries; q++) {
                        assertThat(Sql.value(c, "select 'ok' from pg_sleep(0.02)")).isEqualTo("ok");
                    }
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }, ASYNC));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /** Runs {@code sql} on {@code c} in the background. */
    private static CompletableFuture<String> async(Connection c, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Sql.value(c, sql);
            } catch (SQLException e) {
                throw new AssertionError(e);
            }
        }, ASYNC);
    }

    // *** server limits ***

    /** The database's pool_size (3) wins over default_pool_size (20); 20 busy clients never get more. */
    @Test
    void poolSize() throws Exception {
        try (PgloomProcess pgloom = pooler().set("default_pool_size", 20).database("lim_size", db("pool_size", 3)).start();
                Connection admin = Sql.admin(pg)) {
            CompletableFuture<Void> work = load(pgloom, "lim_size", "app", 20, 10);
            int max = PgActivity.maxWhile(admin, PG_DB, null, work, Duration.ofSeconds(40));
            work.get();
            assertThat(max).as("most servers at once for pool_size 3").isEqualTo(3);
        }
    }

    /**
     * pool_size 1 + reserve_pool_size 1: a client that waited reserve_pool_timeout (1s) gets a
     * second server, with PgBouncer's warning; not before.
     */
    @Test
    void reservePool() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("reserve_pool_timeout", "1s")
                .database("lim_reserve", db("pool_size", 1, "reserve_pool_size", 1))
                .start();
                Connection admin = Sql.admin(pg);
                Connection holder = connect(pgloom, "lim_reserve", "app");
                Connection waiter = connect(pgloom, "lim_reserve", "app")) {
            holder.setAutoCommit(false);
            Sql.value(holder, "select 'holding the only server'");
            assertThat(PgActivity.backends(admin, PG_DB, null)).isEqualTo(1);
            long mark = pgloom.logSize();

            long asked = System.nanoTime();
            CompletableFuture<String> waiting = async(waiter, "select 'served from the reserve'");
            Wait.until("a second server", WAIT, () -> PgActivity.backends(admin, PG_DB, null) == 2);
            Duration after = Duration.ofNanos(System.nanoTime() - asked);

            assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo("served from the reserve");
            assertThat(after).as("the reserve server appears only after reserve_pool_timeout")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(950));
            assertThat(pgloom.waitForLogAfter(mark, "taking connection from reserve_pool", WAIT)).contains("WARNING");
            assertThat(PgActivity.backends(admin, PG_DB, null)).isEqualTo(2);
            holder.rollback();
        }
    }

    /**
     * max_db_connections 2 shared by the pools of two users: a pool whose client waits while the
     * other pool holds the limit in idle servers gets a server by eviction, both ways; under load
     * from both, never more than 2 servers of the database.
     */
    @Test
    void maxDbConnectionsWithEviction() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("default_pool_size", 5)
                .database("lim_db", db("max_db_connections", 2))
                .start();
                Connection admin = Sql.admin(pg)) {
            evictionBothWays(pgloom, admin, "lim_db", "md5user", "lim_db", "app", null);
            CompletableFuture<Void> both = CompletableFuture.allOf(load(pgloom, "lim_db", "app", 6, 10),
                    load(pgloom, "lim_db", "md5user", 6, 10));
            int max = PgActivity.maxWhile(admin, PG_DB, null, both, Duration.ofSeconds(40));
            both.get();
            assertThat(max).as("servers of the database at once, both users busy").isLessThanOrEqualTo(2);
        }
    }

    /**
     * max_user_connections 2 for app across two databases: as {@link #maxDbConnectionsWithEviction}
     * for one user's pools.
     */
    @Test
    void maxUserConnectionsWithEviction() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("default_pool_size", 5)
                .database("lim_u1", db())
                .database("lim_u2", db())
                .userSection("app", Map.of("max_user_connections", 2))
                .start();
                Connection admin = Sql.admin(pg)) {
            evictionBothWays(pgloom, admin, "lim_u2", "app", "lim_u1", "app", "app");
            CompletableFuture<Void> both = CompletableFuture.allOf(load(pgloom, "lim_u1", "app", 6, 10),
                    load(pgloom, "lim_u2", "app", 6, 10));
            int max = PgActivity.maxWhile(admin, PG_DB, "app", both, Duration.ofSeconds(40));
            both.get();
            assertThat(max).as("servers of user app at once, both databases busy").isLessThanOrEqualTo(2);
        }
    }

    /**
     * Under a shared limit of 2: pool X uses one server (left idle), then two clients of pool Y
     * need two servers at once, so X's idle one is evicted; then a client of X needs one while Y
     * holds both idle, so one of Y's is evicted. {@code countUser} narrows the backend count.
     */
    private static void evictionBothWays(PgloomProcess pgloom, Connection admin, String xDb, String xUser, String yDb,
            String yUser, String countUser) throws Exception {
        try (Connection x = connect(pgloom, xDb, xUser)) {
            assertThat(Sql.value(x, "select 'x first'")).isEqualTo("x first");
            long mark = pgloom.logSize();
            try (Connection a = connect(pgloom, yDb, yUser); Connection b = connect(pgloom, yDb, yUser)) {
                a.setAutoCommit(false);
                b.setAutoCommit(false);
                String pa = Sql.value(a, "select pg_backend_pid()");
                CompletableFuture<String> second = async(b, "select pg_backend_pid()");
                int max = PgActivity.maxWhile(admin, PG_DB, countUser, second, WAIT);
                assertThat(second.get()).isNotEqualTo(pa);
                assertThat(max).as("servers under the limit at once").isLessThanOrEqualTo(2);
                a.commit();
                b.commit();
            }
            pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: " + xDb + "/" + xUser + "@\\S+ closing because: evicted", WAIT);

            mark = pgloom.logSize();
            CompletableFuture<String> q = async(x, "select 'x again'");
            int max = PgActivity.maxWhile(admin, PG_DB, countUser, q, WAIT);
            assertThat(q.get()).isEqualTo("x again");
            assertThat(max).as("servers under the limit at once").isLessThanOrEqualTo(2);
            pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: " + yDb + "/" + yUser + "@\\S+ closing because: evicted", WAIT);
        }
    }

    /**
     * The first client of a pool that never had a server must be able to log in (it waits for
     * the pool's first server login) while other pools hold max_db_connections in idle servers:
     * eviction serves it too (PgBouncer: a client in CL_WAITING_LOGIN waits on the pool like any
     * other, and launch_new_connection evicts). client_login_timeout is short so that a client
     * left waiting fails fast with its message.
     */
    @Test
    void firstLoginOfAPoolEvictsUnderMaxDbConnections() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("default_pool_size", 5)
                .set("client_login_timeout", 8)
                .database("lim_db", db("max_db_connections", 2))
                .start();
                Connection admin = Sql.admin(pg)) {
            holdTwoThenIdle(pgloom, "lim_db", "app");
            assertThat(PgActivity.backends(admin, PG_DB, "app")).isEqualTo(2);
            long mark = pgloom.logSize();
            try (Connection other = connect(pgloom, "lim_db", "md5user")) {
                assertThat(Sql.value(other, "select 'md5user got a server'")).isEqualTo("md5user got a server");
            }
            pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: lim_db/app@\\S+ closing because: evicted", WAIT);
        }
    }

    /** As {@link #firstLoginOfAPoolEvictsUnderMaxDbConnections}, for max_user_connections. */
    @Test
    void firstLoginOfAPoolEvictsUnderMaxUserConnections() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("default_pool_size", 5)
                .set("client_login_timeout", 8)
                .database("lim_u1", db())
                .database("lim_u2", db())
                .userSection("app", Map.of("max_user_connections", 2))
                .start();
                Connection admin = Sql.admin(pg)) {
            holdTwoThenIdle(pgloom, "lim_u1", "app");
            assertThat(PgActivity.backends(admin, PG_DB, "app")).isEqualTo(2);
            long mark = pgloom.logSize();
            try (Connection other = connect(pgloom, "lim_u2", "app")) {
                assertThat(Sql.value(other, "select 'lim_u2 got a server'")).isEqualTo("lim_u2 got a server");
            }
            pgloom.waitForLogAfter(mark, "S-0x[0-9a-f]+: lim_u1/app@\\S+ closing because: evicted", WAIT);
        }
    }

    /** Two clients of (db, user) in transactions at once, so the pool has two servers; then both commit. */
    private static void holdTwoThenIdle(PgloomProcess pgloom, String db, String user) throws SQLException {
        try (Connection a = connect(pgloom, db, user); Connection b = connect(pgloom, db, user)) {
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            String pa = Sql.value(a, "select pg_backend_pid()");
            String pb = Sql.value(b, "select pg_backend_pid()");
            assertThat(pa).isNotEqualTo(pb);
            a.commit();
            b.commit();
        }
    }

    /** min_pool_size 3: nothing before the first client; then three servers, though nobody runs a query. */
    @Test
    void minPoolSize() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("default_pool_size", 5)
                .database("lim_min", db("min_pool_size", 3))
                .start();
                Connection admin = Sql.admin(pg)) {
            assertThat(PgActivity.backends(admin, PG_DB, null)).as("servers before any client").isZero();
            try (Connection c = connect(pgloom, "lim_min", "app")) {
                Wait.until("min_pool_size servers", WAIT, () -> PgActivity.backends(admin, PG_DB, null) == 3);
                assertThat(ShowPools.count(pgloom, "lim_min", "app", "sv_idle")).isEqualTo(3);
                assertThat(PgActivity.backends(admin, PG_DB, null)).as("no more than min_pool_size").isEqualTo(3);
                assertThat(Sql.value(c, "select 'served'")).isEqualTo("served");
            }
        }
    }

    // *** client limits ***

    @Test
    void maxClientConn() throws Exception {
        try (PgloomProcess pgloom = pooler().set("max_client_conn", 3).database("lim_cc", db()).start()) {
            List<Connection> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    open.add(connect(pgloom, "lim_cc", "app"));
                }
                SQLException refused = Sql.error(() -> connect(pgloom, "lim_cc", "app").close());
                assertThat(refused.getMessage()).contains("no more connections allowed (max_client_conn)");
                pgloom.waitForLog("closing because: no more connections allowed \\(max_client_conn\\)", WAIT);
                open.remove(0).close();
                try (Connection again = Wait.untilSucceeds("a client slot to be free again", WAIT,
                        () -> connect(pgloom, "lim_cc", "app"))) {
                    assertThat(Sql.value(again, "select 'in'")).isEqualTo("in");
                }
            } finally {
                for (Connection c : open) {
                    c.close();
                }
            }
        }
    }

    @Test
    void maxDbClientConnections() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .database("lim_dbc", db("max_db_client_connections", 2))
                .database("lim_free", db())
                .start();
                Connection a = connect(pgloom, "lim_dbc", "app");
                Connection b = connect(pgloom, "lim_dbc", "md5user")) {
            SQLException refused = Sql.error(() -> connect(pgloom, "lim_dbc", "app").close());
            assertThat(refused.getMessage()).contains("client connections exceeded (max_db_client_connections)");
            pgloom.waitForLog("closing because: client connections exceeded \\(max_db_client_connections\\)", WAIT);
            try (Connection other = connect(pgloom, "lim_free", "app")) {
                assertThat(Sql.value(other, "select 'other database'")).isEqualTo("other database");
            }
            assertThat(Sql.value(a, "select 'a'") + Sql.value(b, "select 'b'")).isEqualTo("ab");
            b.close();
            try (Connection again = Wait.untilSucceeds("a slot of lim_dbc to be free again", WAIT,
                    () -> connect(pgloom, "lim_dbc", "app"))) {
                assertThat(Sql.value(again, "select 'in'")).isEqualTo("in");
            }
            assertThat(pgloom.log()).doesNotContain("Exception in thread");
        }
    }

    /**
     * max_user_client_connections 2 for md5user: a third md5user client is refused, others are
     * not. A refused client gives back every slot it took: after three refusals there is still
     * room under max_client_conn (5) for a client of another user.
     */
    @Test
    void maxUserClientConnections() throws Exception {
        try (PgloomProcess pgloom = pooler()
                .set("max_client_conn", 5)
                .database("lim_uc1", db())
                .database("lim_uc2", db())
                .userSection("md5user", Map.of("max_user_client_connections", 2))
                .start();
                Connection a = connect(pgloom, "lim_uc1", "md5user");
                Connection b = connect(pgloom, "lim_uc2", "md5user")) {
            for (int i = 0; i < 3; i++) {
                SQLException refused = Sql.error(() -> connect(pgloom, "lim_uc1", "md5user").close());
                assertThat(refused.getMessage()).contains("client connections exceeded (max_user_client_connections)");
            }
            pgloom.waitForLog("closing because: client connections exceeded \\(max_user_client_connections\\)", WAIT);
            try (Connection other = connect(pgloom, "lim_uc1", "app")) {
                assertThat(Sql.value(other, "select 'other user'")).isEqualTo("other user");
            }
            assertThat(Sql.value(a, "select 'a'") + Sql.value(b, "select 'b'")).isEqualTo("ab");
            a.close();
            try (Connection again = Wait.untilSucceeds("a slot of md5user to be free again", WAIT,
                    () -> connect(pgloom, "lim_uc1", "md5user"))) {
                assertThat(Sql.value(again, "select 'in'")).isEqualTo("in");
            }
            assertThat(pgloom.log()).doesNotContain("Exception in thread");
        }
    }
}
