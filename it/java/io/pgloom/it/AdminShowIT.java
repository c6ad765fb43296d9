package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every SHOW of the admin console, read by pgjdbc ({@code preferQueryMode=simple}, an
 * {@code admin_users} member over TCP) and by psql (user {@code pgbouncer} over the unix socket,
 * same OS user, no password): column names, order and type OIDs exactly as PgBouncer 1.25 /
 * master sends them (PgBouncer's {@code src/admin.c} and {@code src/stats.c}, written down
 * below), and values that follow what the test did: clients connected, a server busy in
 * {@code pg_sleep}, bytes and queries moved.
 */
@Timeout(120)
class AdminShowIT {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private static final String SOCKET = "type text, user text, database text, replication text, state text, addr text,"
            + " port int4, local_addr text, local_port int4, connect_time text, request_time text, wait int4,"
            + " wait_us int4, close_needed int4, ptr text, link text, remote_pid int4, tls text, application_name text,"
            + " prepared_statements int4, id int4";
    private static final String DEBUG = ", recv_pos int4, pkt_pos int4, pkt_remain int4, send_pos int4,"
            + " send_remain int4, pkt_avail int4, send_avail int4";
    private static final String STATS_FIGURES = "server_assignment_count, xact_count, query_count, bytes_received,"
            + " bytes_sent, xact_time, query_time, wait_time";

    /** SHOW subject -> its columns as "name type", from PgBouncer's RowDescription type codes. */
    private static final Map<String, List<String>> EXPECTED = new LinkedHashMap<>();

    static {
        expect("CONFIG", "key text, value text, default text, changeable text");
        expect("DATABASES", "name text, host text, port int4, database text, force_user text, pool_size int4,"
                + " min_pool_size int4, reserve_pool_size int4, server_lifetime int4, pool_mode text,"
                + " load_balance_hosts text, max_connections int4, current_connections int4,"
                + " max_client_connections int4, current_client_connections int4, paused int4, disabled int4");
        expect("POOLS", "database text, user text, cl_active int4, cl_waiting int4, cl_active_cancel_req int4,"
                + " cl_waiting_cancel_req int4, sv_active int4, sv_active_cancel int4, sv_being_canceled int4,"
                + " sv_idle int4, sv_used int4, sv_tested int4, sv_login int4, maxwait int4, maxwait_us int4,"
                + " pool_mode text, load_balance_hosts text");
        expect("CLIENTS", SOCKET);
        expect("SERVERS", SOCKET);
        expect("SOCKETS", SOCKET + DEBUG);
        expect("ACTIVE_SOCKETS", SOCKET + DEBUG);
        expect("USERS", "name text, pool_size text, reserve_pool_size text, pool_mode text, max_user_connections int4,"
                + " current_connections int4, max_user_client_connections int4, current_client_connections int4");
        expect("VERSION", "version text");
        expect("STATS", "database text, total_server_assignment_count numeric, total_xact_count numeric,"
                + " total_query_count numeric, total_received numeric, total_sent numeric, total_xact_time numeric,"
                + " total_query_time numeric, total_wait_time numeric, total_client_parse_count numeric,"
                + " total_server_parse_count numeric, total_bind_count numeric, total_client_login_count numeric,"
                + " avg_server_assignment_count numeric, avg_xact_count numeric, avg_query_count numeric,"
                + " avg_recv numeric, avg_sent numeric, avg_xact_time numeric, avg_query_time numeric,"
                + " avg_wait_time numeric, avg_client_parse_count numeric, avg_server_parse_count numeric,"
                + " avg_bind_count numeric, avg_client_login_count numeric, total_plan_recovery_count numeric");
        expect("STATS_TOTALS", "database text, " + numeric(STATS_FIGURES)
                + ", client_parse_count numeric, server_parse_count numeric, bind_count numeric,"
                + " client_login_count numeric");
        expect("STATS_AVERAGES", "database text, " + numeric(STATS_FIGURES)
                + ", avg_client_parse_count numeric, avg_server_parse_count numeric, avg_bind_count numeric,"
                + " avg_client_login_count numeric");
        expect("TOTALS", "name text, value numeric");
        expect("LISTS", "list text, items int4");
        expect("STATE", "key text, value text");
        expect("MEM", "name text, size int4, used int4, free int4, memtotal int4");
        expect("DNS_HOSTS", "hostname text, ttl int8, addrs text");
        expect("DNS_ZONES", "zonename text, serial int8, count int4");
        expect("PEERS", "peer_id int4, host text, port int4, pool_size int4");
        expect("PEER_POOLS", "peer_id int4, cl_active_cancel_req int4, cl_waiting_cancel_req int4,"
                + " sv_active_cancel int4, sv_login int4");
    }

    private static void expect(String subject, String columns) {
        EXPECTED.put(subject, Arrays.stream(columns.split(",")).map(String::strip).toList());
    }

    private static String numeric(String names) {
        return String.join(", ", Arrays.stream(names.split(",")).map(n -> n.strip() + " numeric").toList());
    }

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    private static final ExecutorService BACKGROUND = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("admin_users", "admin")
                .set("stats_users", List.of("watcher"))
                .set("stats_period", 1)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "pool_size", 4))
                .table("peers", "7", Map.of("host", "127.0.0.1", "port", 6999))
                .user("app", "apppass")
                .user("admin", "adminpass")
                .user("watcher", "watcherpass")
                .start();
    }

    @AfterAll
    static void stop() {
        BACKGROUND.shutdownNow();
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Connection console() throws SQLException {
        return Sql.connect(pgloom, "pgbouncer", "admin", "adminpass", "preferQueryMode=simple");
    }

    private static Connection app() throws SQLException {
        return Sql.connect(pgloom, "app", "app", "apppass", "");
    }

    /** A SHOW's rows as column name -> text value, in order. */
    private static List<Map<String, String>> show(Connection c, String subject) throws SQLException {
        List<Map<String, String>> rows = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + subject)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    private static List<Map<String, String>> where(List<Map<String, String>> rows, String column, String value) {
        return rows.stream().filter(r -> value.equals(r.get(column))).toList();
    }

    private static Map<String, String> one(List<Map<String, String>> rows, String column, String value) {
        List<Map<String, String>> found = where(rows, column, value);
        assertThat(found).as("rows with %s = %s in %s", column, value, rows).hasSize(1);
        return found.get(0);
    }

    // *** columns ***

    @Test
    void everyShowHasPgBouncersColumnsAndTypes() throws SQLException {
        try (Connection c = console()) {
            for (Map.Entry<String, List<String>> e : EXPECTED.entrySet()) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + e.getKey())) {
                    ResultSetMetaData md = rs.getMetaData();
                    List<String> got = new ArrayList<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        got.add(md.getColumnName(i) + " " + md.getColumnTypeName(i));
                        int oid = switch (md.getColumnTypeName(i)) {
                            case "int4" -> java.sql.Types.INTEGER;
                            case "int8" -> java.sql.Types.BIGINT;
                            case "numeric" -> java.sql.Types.NUMERIC;
                            case "text" -> java.sql.Types.VARCHAR;
                            case "bytea" -> java.sql.Types.BINARY;
                            default -> Integer.MIN_VALUE;
                        };
                        assertThat(md.getColumnType(i)).as("SHOW %s column %d", e.getKey(), i).isEqualTo(oid);
                    }
                    assertThat(got).as("SHOW %s", e.getKey()).containsExactlyElementsOf(e.getValue());
                }
            }
        }
    }

    @Test
    void selectIsAnAliasAndHelpIsANotice() throws SQLException {
        try (Connection c = console(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("select version")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).startsWith("PgBouncer 1.25.2");
            }
            assertThat(s.execute("SHOW HELP")).isFalse();
            SQLWarning w = s.getWarnings();
            assertThat(w != null).as("a NoticeResponse").isTrue();
            assertThat(w.getMessage()).contains("Console usage");
        }
    }

    @Test
    void psqlOverTheUnixSocketAsPgbouncerReadsEveryShow() {
        Psql psql = Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "");
        for (Map.Entry<String, List<String>> e : EXPECTED.entrySet()) {
            Psql.Result r = psql.run(Psql.DEFAULT_TIMEOUT, "-A", "-F", "|", "-P", "footer=off", "-c", "SHOW " + e.getKey());
            assertThat(r.ok()).as("SHOW %s: %s", e.getKey(), r).isTrue();
            String header = r.stdout().lines().findFirst().orElse("");
            List<String> names = e.getValue().stream().map(col -> col.substring(0, col.indexOf(' '))).toList();
            assertThat(Arrays.asList(header.split("\\|", -1))).as("SHOW %s header", e.getKey())
                    .containsExactlyElementsOf(names);
        }
        // the psql session itself is in SHOW CLIENTS, as user pgbouncer of database pgbouncer over unix
        String me = psql.value("SHOW CLIENTS");
        List<String> mine = me.lines().filter(l -> l.startsWith("C|pgbouncer|pgbouncer|none|")).toList();
        assertThat(mine).as(me).isNotEmpty();
        for (String l : mine) {
            assertThat(l.split("\\|", -1)[5]).as(l).isEqualTo("unix");
        }
    }

    // *** values ***

    @Test
    void clientsShowEachConnectedClient() throws Exception {
        List<Connection> clients = new ArrayList<>();
        try (Connection c = console()) {
            for (int i = 0; i < 3; i++) {
                Connection a = app();
                clients.add(a);
                Sql.value(a, "select 1");
            }
            List<Map<String, String>> rows = Wait.untilValue("3 app clients in SHOW CLIENTS", WAIT,
                    () -> quietly(() -> where(show(c, "CLIENTS"), "database", "app")), r -> r.size() == 3);
            for (Map<String, String> r : rows) {
                assertThat(r.get("type")).isEqualTo("C");
                assertThat(r.get("user")).isEqualTo("app");
                assertThat(r.get("replication")).isEqualTo("none");
                assertThat(r.get("state")).as("transaction pooling, between transactions").isEqualTo("idle");
                assertThat(r.get("addr")).isEqualTo("127.0.0.1");
                assertThat(r.get("local_addr")).isEqualTo("127.0.0.1");
                assertThat(r.get("local_port")).isEqualTo(Integer.toString(pgloom.port()));
                assertThat(r.get("link")).isEmpty();
                assertThat(r.get("ptr")).isEqualTo("0x" + Long.toHexString(Long.parseLong(r.get("id"))));
                assertThat(r.get("remote_pid")).isEqualTo("0");
                assertThat(r.get("tls")).isEmpty();
                assertThat(r.get("connect_time")).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+");
                assertThat(r.get("application_name")).isEqualTo("PostgreSQL JDBC Driver");
            }
            assertThat(rows.stream().map(r -> r.get("id")).distinct()).hasSize(3);
            // the console session is listed too
            assertThat(where(show(c, "CLIENTS"), "user", "admin")).extracting(r -> r.get("database"))
                    .contains("pgbouncer");

            // a client inside a transaction is linked to a server, and the server to it
            Connection inTx = clients.get(0);
            inTx.setAutoCommit(false);
            String backendPid = Sql.value(inTx, "select pg_backend_pid()");
            Map<String, String> server = Wait.untilValue("the server in SHOW SERVERS with remote_pid " + backendPid,
                    WAIT, () -> quietly(() -> where(show(c, "SERVERS"), "remote_pid", backendPid)), r -> r.size() == 1)
                    .get(0);
            assertThat(server.get("type")).isEqualTo("S");
            assertThat(server.get("state")).isEqualTo("active");
            assertThat(server.get("user")).isEqualTo("app");
            assertThat(server.get("database")).isEqualTo("app");
            assertThat(server.get("port")).isEqualTo(Integer.toString(pg.port()));
            Map<String, String> client = one(show(c, "CLIENTS"), "ptr", server.get("link"));
            assertThat(client.get("state")).isEqualTo("active");
            assertThat(client.get("link")).isEqualTo(server.get("ptr"));
            inTx.rollback();
            Wait.until("the server back to idle", WAIT,
                    () -> quietly(() -> one(show(c, "SERVERS"), "remote_pid", backendPid).get("state").equals("idle")));

            // SHOW SOCKETS lists the same connections with PgBouncer's socket state names
            List<Map<String, String>> sockets = show(c, "SOCKETS");
            assertThat(where(sockets, "database", "app")).extracting(r -> r.get("state"))
                    .contains("cl_active", "sv_idle");
            assertThat(show(c, "ACTIVE_SOCKETS")).isEmpty();
        } finally {
            for (Connection a : clients) {
                a.close();
            }
        }
    }

    @Test
    void aServerBusyInPgSleepIsActive() throws Exception {
        try (Connection c = console(); Connection busy = app(); Connection direct = Sql.admin(pg)) {
            CompletableFuture<Void> sleeping = CompletableFuture.runAsync(() -> {
                try {
                    Sql.exec(busy, "select pg_sleep(60)");
                } catch (SQLException e) {
                    // cancelled below
                }
            }, BACKGROUND);
            String pid = Wait.untilValue("pg_sleep running on PostgreSQL", WAIT, () -> quietly(() -> {
                try (Statement s = direct.createStatement(); ResultSet rs = s.executeQuery(
                        "select pid from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'")) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }), p -> p != null);
            Map<String, String> server = one(show(c, "SERVERS"), "remote_pid", pid);
            assertThat(server.get("state")).isEqualTo("active");
            assertThat(server.get("link")).startsWith("0x");
            Map<String, String> pool = one(where(show(c, "POOLS"), "database", "app"), "user", "app");
            assertThat(Integer.parseInt(pool.get("sv_active"))).isGreaterThanOrEqualTo(1);
            assertThat(Integer.parseInt(pool.get("cl_active"))).isGreaterThanOrEqualTo(1);
            assertThat(pool.get("pool_mode")).isEqualTo("transaction");
            assertThat(pool.get("load_balance_hosts")).isNull();
            Map<String, String> client = one(show(c, "CLIENTS"), "ptr", server.get("link"));
            assertThat(client.get("state")).isEqualTo("active");
            Sql.exec(direct, "select pg_cancel_backend(" + pid + ")");
            sleeping.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @Test
    void poolsHaveOneRowPerPoolAndTheAdminPool() throws SQLException {
        try (Connection c = console(); Connection a = app()) {
            Sql.value(a, "select 1");
            List<Map<String, String>> pools = show(c, "POOLS");
            Map<String, String> admin = one(pools, "database", "pgbouncer");
            assertThat(admin.get("user")).isEqualTo("pgbouncer");
            assertThat(admin.get("pool_mode")).isEqualTo("statement");
            assertThat(Integer.parseInt(admin.get("cl_active"))).isGreaterThanOrEqualTo(1);
            Map<String, String> app = one(pools, "database", "app");
            assertThat(app.get("user")).isEqualTo("app");
            assertThat(Integer.parseInt(app.get("sv_idle")) + Integer.parseInt(app.get("sv_active"))).isPositive();
            assertThat(app.get("cl_waiting")).isEqualTo("0");
            assertThat(app.get("maxwait")).isEqualTo("0");
            // PgBouncer's pool_list order: by database, then user
            List<String> order = pools.stream().map(r -> r.get("database") + "/" + r.get("user")).toList();
            assertThat(order).isSorted();
        }
    }

    @Test
    void statsGrowWithQueriesAndAveragesFollowTheStatsPeriod() throws Exception {
        try (Connection c = console(); Connection a = app()) {
            Sql.value(a, "select 1");
            Map<String, String> before = one(show(c, "STATS"), "database", "app");
            for (int i = 0; i < 10; i++) {
                Sql.value(a, "select repeat('x', 1000)");
            }
            Map<String, String> after = Wait.untilValue("10 more queries in SHOW STATS", WAIT,
                    () -> quietly(() -> one(show(c, "STATS"), "database", "app")),
                    r -> num(r, "total_query_count") >= num(before, "total_query_count") + 10);
            assertThat(num(after, "total_xact_count")).isGreaterThanOrEqualTo(num(before, "total_xact_count") + 10);
            assertThat(num(after, "total_received")).isGreaterThan(num(before, "total_received") + 10 * 20);
            assertThat(num(after, "total_sent")).isGreaterThan(num(before, "total_sent") + 10 * 1000);
            assertThat(num(after, "total_server_assignment_count")).isGreaterThan(num(before, "total_server_assignment_count"));
            assertThat(num(after, "total_query_time")).isGreaterThan(0);
            assertThat(num(after, "total_client_login_count")).isGreaterThanOrEqualTo(1);

            // STATS_TOTALS has the same totals, TOTALS sums all databases
            Map<String, String> totals = one(show(c, "STATS_TOTALS"), "database", "app");
            assertThat(num(totals, "query_count")).isGreaterThanOrEqualTo(num(after, "total_query_count"));
            Map<String, String> grand = new LinkedHashMap<>();
            for (Map<String, String> r : show(c, "TOTALS")) {
                grand.put(r.get("name"), r.get("value"));
            }
            assertThat(grand.keySet()).containsExactly("total_server_assignment_count", "total_xact_count",
                    "total_query_count", "total_client_bytes", "total_server_bytes", "total_xact_time",
                    "total_query_time", "total_wait_time", "total_ps_client_parse_count", "total_ps_server_parse_count",
                    "total_ps_bind_count", "total_client_login_count", "avg_server_assignment_count", "avg_xact_count",
                    "avg_query_count", "avg_client_bytes", "avg_server_bytes", "avg_xact_time", "avg_query_time",
                    "avg_wait_time", "avg_ps_client_parse_count", "avg_ps_server_parse_count", "avg_ps_bind_count",
                    "avg_client_login_count", "total_plan_recovery_count");
            assertThat(Long.parseLong(grand.get("total_query_count"))).isGreaterThanOrEqualTo(num(after,
                    "total_query_count"));

            // stats_period = 1: with steady load the averages of a completed period are non-zero
            long mark = pgloom.logSize();
            Map<String, String> averaged = Wait.untilValue("non-zero averages in SHOW STATS_AVERAGES", WAIT, () -> {
                quietly(() -> Sql.value(a, "select 1"));
                return quietly(() -> one(show(c, "STATS_AVERAGES"), "database", "app"));
            }, r -> num(r, "query_count") > 0 && num(r, "bytes_received") > 0);
            assertThat(num(averaged, "xact_count")).isPositive();
            assertThat(one(show(c, "STATS"), "database", "pgbouncer").get("total_query_count")).isEqualTo("0");
            // and the log line of PgBouncer 1.25
            String line = pgloom.waitForLogAfter(mark, "LOG stats: \\d+ xacts/s, \\d+ queries/s, \\d+ client parses/s, "
                    + "\\d+ server parses/s, \\d+ binds/s, in \\d+ B/s, out \\d+ B/s, xact \\d+ us, query \\d+ us, "
                    + "wait \\d+ us$", WAIT);
            assertThat(line).doesNotContain("client logins");
        }
    }

    @Test
    void databasesUsersConfigListsPeersAndState() throws SQLException {
        try (Connection c = console()) {
            List<Map<String, String>> dbs = show(c, "DATABASES");
            Map<String, String> app = one(dbs, "name", "app");
            assertThat(app.get("host")).isEqualTo(pg.host());
            assertThat(app.get("port")).isEqualTo(Integer.toString(pg.port()));
            assertThat(app.get("database")).isEqualTo("app");
            assertThat(app.get("force_user")).isNull();
            assertThat(app.get("pool_size")).isEqualTo("4");
            assertThat(app.get("reserve_pool_size")).isEqualTo("0");
            assertThat(app.get("server_lifetime")).isEqualTo("3600");
            assertThat(app.get("pool_mode")).isNull();
            assertThat(app.get("paused")).isEqualTo("0");
            assertThat(app.get("disabled")).isEqualTo("0");
            Map<String, String> admin = one(dbs, "name", "pgbouncer");
            assertThat(admin.get("force_user")).isEqualTo("pgbouncer");
            assertThat(admin.get("pool_mode")).isEqualTo("statement");
            assertThat(admin.get("port")).isEqualTo(Integer.toString(pgloom.port()));

            List<Map<String, String>> users = show(c, "USERS");
            assertThat(users).extracting(r -> r.get("name")).contains("admin", "app", "watcher").isSorted();
            Map<String, String> appUser = one(users, "name", "app");
            assertThat(appUser.get("pool_size")).isEmpty();
            assertThat(appUser.get("pool_mode")).isNull();

            List<Map<String, String>> config = show(c, "CONFIG");
            assertThat(config).extracting(r -> r.get("key")).isSorted();
            Map<String, String> port = one(config, "key", "listen_port");
            assertThat(port.get("value")).isEqualTo(Integer.toString(pgloom.port()));
            assertThat(port.get("default")).isEqualTo("6432");
            assertThat(port.get("changeable")).isEqualTo("no");
            Map<String, String> poolMode = one(config, "key", "pool_mode");
            assertThat(poolMode.get("value")).isEqualTo("transaction");
            assertThat(poolMode.get("changeable")).isEqualTo("yes");
            assertThat(one(config, "key", "stats_period").get("value")).isEqualTo("1");
            assertThat(one(config, "key", "admin_users").get("value")).isEqualTo("admin");

            List<Map<String, String>> lists = show(c, "LISTS");
            assertThat(lists).extracting(r -> r.get("list")).containsExactly("databases", "users", "peers", "pools",
                    "peer_pools", "free_clients", "used_clients", "login_clients", "free_servers", "used_servers",
                    "dns_names", "dns_zones", "dns_queries", "dns_pending");
            assertThat(one(lists, "list", "databases").get("items")).isEqualTo("2");
            assertThat(one(lists, "list", "peers").get("items")).isEqualTo("1");
            assertThat(Integer.parseInt(one(lists, "list", "used_clients").get("items"))).isPositive();

            Map<String, String> peer = one(show(c, "PEERS"), "peer_id", "7");
            assertThat(peer.get("host")).isEqualTo("127.0.0.1");
            assertThat(peer.get("port")).isEqualTo("6999");
            assertThat(peer.get("pool_size")).isEqualTo("20");

            assertThat(show(c, "STATE")).extracting(r -> r.get("key") + "=" + r.get("value"))
                    .containsExactly("active=yes", "paused=no", "suspended=no");
            for (String empty : List.of("MEM", "DNS_HOSTS", "DNS_ZONES", "PEER_POOLS")) {
                assertThat(show(c, empty)).as(empty).isEmpty();
            }
        }
    }

    @Test
    void statsUsersMayShow() throws SQLException {
        try (Connection c = Sql.connect(pgloom, "pgbouncer", "watcher", "watcherpass", "preferQueryMode=simple")) {
            assertThat(show(c, "POOLS")).isNotEmpty();
            assertThat(where(show(c, "CLIENTS"), "user", "watcher")).isNotEmpty();
        }
    }

    @Test
    void unknownSubjectIsTheInvalidCommandError() throws SQLException {
        try (Connection c = console()) {
            SQLException e = Sql.error(() -> show(c, "NOTHING"));
            assertThat(e.getMessage()).contains("invalid command 'SHOW NOTHING', use SHOW HELP;");
            assertThat(e.getSQLState()).isEqualTo("08P01");
            assertThat(show(c, "VERSION")).hasSize(1);
        }
    }

    private static long num(Map<String, String> row, String column) {
        String v = row.get(column);
        assertThat(v).as("%s in %s", column, row).isNotNull();
        return Long.parseLong(v);
    }

    /** An SQL call inside a polling condition. */
    private interface SqlSupplier<T> {
        T get() throws SQLException;
    }

    private static <T> T quietly(SqlSupplier<T> s) {
        try {
            return s.get();
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }
}
