package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Prepared statements in transaction pooling (issue 8): named protocol-level statements and
 * SQL-level PREPARE / EXECUTE / DEALLOCATE follow their client from server to server. pgbench
 * {@code -M prepared}, pgjdbc {@code prepareThreshold=1}, psycopg 3 {@code prepare=True}, psql and
 * raw protocol clients; LRU eviction at {@code max_prepared_statements}; pipelining; DEALLOCATE
 * ALL / DISCARD ALL; a 1 MB statement; and the re-prepare after "cached plan must not change
 * result type".
 *
 * <p>Which server a transaction lands on is steered with {@link Holders}: pgjdbc connections that
 * hold every server of the pool in open transactions and let go of one (the next transaction of
 * the client under test runs there) or of all but one (it runs anywhere else). That makes "this
 * statement ran on a server that had never seen it" a fact the test checks with
 * {@code pg_backend_pid()}, not a likelihood.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PreparedStatementsIT {

    private static final String DB = "prepared_it";
    private static final int POOL_SIZE = 5;
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** One thread per task: the common pool may have a single worker. */
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    /** Transaction pooling, pool of 5, trust auth (raw clients log in too), metrics on. */
    private static PgloomProcess pgloom;
    private static int metricsPort;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        Pgbench.to(pg, DB, "app", "apppass").init(1);
        try (Connection c = direct()) {
            Sql.exec(c, "create table jdbc_rows (client int, n int)");
            Sql.exec(c, "create table py_rows (n int)");
            Sql.exec(c, "create table plan_jdbc (id int primary key, c int)");
            Sql.exec(c, "insert into plan_jdbc values (1, 10), (2, 20)");
            Sql.exec(c, "create table plan_sql (id int primary key, c int)");
            Sql.exec(c, "insert into plan_sql values (1, 10), (2, 20)");
        }
        metricsPort = PgloomProcess.freePort();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", POOL_SIZE)
                .set("max_client_conn", 200)
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
                .set("metrics_listen", "127.0.0.1:" + metricsPort)
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static Connection direct() throws SQLException {
        return pg.connect(DB, "app", "apppass");
    }

    private static Connection connect(String params) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", params);
    }

    // *** pgbench ***

    @Test
    void pgbenchPreparedHundredClientsOverFiveServers() {
        Map<String, String> before = stats(pgloom, DB);
        Pgbench.Result r = Pgbench.to(pgloom, DB, "app", "apppass").run(Duration.ofSeconds(90),
                "-M", "prepared", "-c", "100", "-j", "4", "-T", "4", "-n");
        System.out.printf("pgbench -M prepared, 100 clients over 5 servers: %d transactions, tps %.0f%n",
                r.processed(), r.tps());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.output()).as(r.toString()).contains("number of clients: 100");
        assertThat(r.failed()).as(r.toString()).isZero();
        assertThat(r.processed()).as(r.toString()).isPositive();

        Map<String, String> after = stats(pgloom, DB);
        long clientParses = num(after, "total_client_parse_count") - num(before, "total_client_parse_count");
        long serverParses = num(after, "total_server_parse_count") - num(before, "total_server_parse_count");
        long binds = num(after, "total_bind_count") - num(before, "total_bind_count");
        System.out.printf("client parses %d, server parses %d, binds %d%n", clientParses, serverParses, binds);
        // TPC-B has 7 statements (BEGIN, 3 UPDATE, SELECT, INSERT, END): every client prepares each
        assertThat(clientParses).as("client parses of 100 clients x 7 statements").isGreaterThanOrEqualTo(700);
        // ... but each of the at most 5 servers parses each statement once
        assertThat(serverParses).as("server parses: at most 5 servers x 7 statements")
                .isPositive()
                .isLessThanOrEqualTo(5 * 7);
        assertThat(serverParses * 10).as("server parses far below client parses").isLessThan(clientParses);
        assertThat(binds).as("one Bind per statement of every transaction").isGreaterThanOrEqualTo(7 * r.processed());
        assertThat(pgloom.log()).as("pgloom log").doesNotContain(": unexpected ").doesNotContain("internal error");
    }

    // *** pgjdbc ***

    @Test
    void pgjdbcNamedStatementsFollowTheClientAcrossServers() throws Exception {
        long serverParsesBefore = num(stats(pgloom, DB), "total_server_parse_count");
        Set<String> pids = new LinkedHashSet<>();
        try (Connection j = connect("prepareThreshold=1");
                Holders h = new Holders();
                PreparedStatement ps = j.prepareStatement("select ?::int * 2, pg_backend_pid() /* jdbc across */");
                PreparedStatement ins = j.prepareStatement("insert into jdbc_rows (client, n) values (?, ?)")) {
            String last = doubled(ps, 0);
            pids.add(last);
            for (int round = 1; round <= 6; round++) {
                h.holdOnly(last);
                String pid = doubled(ps, round);
                assertThat(pid).as("round %d runs on a server other than the held one", round).isNotEqualTo(last);
                assertThat(insertBatch(ins, 1, round * 100, 25)).hasSize(25).containsOnly(1);
                h.release();
                pids.add(pid);
                last = pid;
            }
            // an explicit transaction keeps its server for all of its statements
            j.setAutoCommit(false);
            String inTx = doubled(ps, 21);
            assertThat(doubled(ps, 22)).isEqualTo(inTx);
            assertThat(insertBatch(ins, 1, 5000, 10)).hasSize(10).containsOnly(1);
            assertThat(doubled(ps, 23)).isEqualTo(inTx);
            j.commit();
            j.setAutoCommit(true);
        }
        assertThat(pids).as("backends that ran the client's statements").hasSizeGreaterThan(1);
        assertThat(num(stats(pgloom, DB), "total_server_parse_count") - serverParsesBefore)
                .as("the statements were parsed on more than one server").isGreaterThanOrEqualTo(2);

        // several connections at once, autocommit and explicit transactions, statements and batches
        Set<String> seen = ConcurrentHashMap.newKeySet();
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int client = 10; client < 16; client++) {
            int me = client;
            clients.add(CompletableFuture.runAsync(() -> {
                try (Connection c = connect("prepareThreshold=1");
                        PreparedStatement ps = c.prepareStatement("select ?::int * 2, pg_backend_pid() /* jdbc across */");
                        PreparedStatement other = c.prepareStatement("select ?::text || '-' || ?::int");
                        PreparedStatement ins = c.prepareStatement("insert into jdbc_rows (client, n) values (?, ?)")) {
                    for (int i = 0; i < 100; i++) {
                        boolean tx = i % 10 == 5;
                        if (tx) {
                            c.setAutoCommit(false);
                        }
                        seen.add(doubled(ps, me * 1000 + i));
                        other.setString(1, "c" + me);
                        other.setInt(2, i);
                        try (ResultSet rs = other.executeQuery()) {
                            assertThat(rs.next()).isTrue();
                            assertThat(rs.getString(1)).isEqualTo("c" + me + "-" + i);
                        }
                        if (i % 20 == 0) {
                            assertThat(insertBatch(ins, me, i * 100, 20)).hasSize(20).containsOnly(1);
                        }
                        if (tx) {
                            c.commit();
                            c.setAutoCommit(true);
                        }
                    }
                } catch (SQLException e) {
                    throw new AssertionError("client " + me, e);
                }
            }, ASYNC));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
        System.out.println("pgjdbc: backends seen by the concurrent clients: " + seen);
        try (Connection c = direct()) {
            assertThat(Sql.value(c, "select count(*) from jdbc_rows where client = 1")).isEqualTo("160");
            assertThat(Sql.value(c, "select count(*) || ' ' || count(distinct (client, n)) from jdbc_rows"
                    + " where client between 10 and 15")).isEqualTo("600 600");
        }
    }

    /** Runs {@code select ?::int * 2, pg_backend_pid()} with {@code v}; checks the result, returns the pid. */
    private static String doubled(PreparedStatement ps, int v) throws SQLException {
        ps.setInt(1, v);
        try (ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).as("%d * 2", v).isEqualTo(v * 2);
            return rs.getString(2);
        }
    }

    private static int[] insertBatch(PreparedStatement ins, int client, int from, int rows) throws SQLException {
        for (int n = from; n < from + rows; n++) {
            ins.setInt(1, client);
            ins.setInt(2, n);
            ins.addBatch();
        }
        return ins.executeBatch();
    }

    // *** psycopg 3 ***

    private static final String PSYCOPG_SCRIPT = """
            import json, sys
            import psycopg

            port, db, pool = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

            def connect(autocommit):
                return psycopg.connect(host="127.0.0.1", port=port, dbname=db, user="app", password="apppass",
                                       autocommit=autocommit, connect_timeout=10)

            a = connect(True)
            b = connect(True)
            holders = [connect(False) for _ in range(pool)]

            def hold_only(pid):
                held = {}
                for h in holders:
                    held[h.execute("select pg_backend_pid()").fetchone()[0]] = h
                if pid not in held:
                    sys.exit(f"server {pid} is not among the held ones {sorted(held)}")
                for p, h in held.items():
                    if p != pid:
                        h.rollback()
                return held[pid]

            def run(conn, factor, i):
                # both connections call their statement _pg3_0, with different texts
                row = conn.execute("select %s::int * " + str(factor) + ", pg_backend_pid()", (i,), prepare=True).fetchone()
                if row[0] != i * factor:
                    sys.exit(f"{i} * {factor} came back as {row[0]}")
                return row[1]

            pids = set()
            last = run(a, 2, 0)
            pids.add(last)
            for i in range(1, 9):
                holder = hold_only(last)
                pid = run(a, 2, i)
                if pid == last:
                    sys.exit(f"round {i} ran on the held server {pid}")
                run(b, 3, i)
                holder.rollback()
                pids.add(pid)
                last = pid
            with a.cursor() as cur:
                cur.executemany("insert into py_rows (n) values (%s)", [(n,) for n in range(100)])
            for i in range(100, 150):
                pids.add(run(a, 2, i))
                run(b, 3, i)
            with a.transaction():
                p1 = run(a, 2, 7)
                p2 = run(a, 2, 8)
                if p1 != p2:
                    sys.exit("a transaction changed servers")
            names = [r[0] for r in a.execute("select name from pg_prepared_statements")]
            print(json.dumps({"pids": sorted(pids), "server_names": names}))
            """;

    @Test
    void psycopgPreparedStatementsAcrossServers() throws IOException, SQLException {
        Exec.Result probe = Exec.run(List.of("/usr/bin/python3", "-c", "import psycopg"), Map.of(),
                Duration.ofSeconds(30), true);
        Assumptions.assumeTrue(probe.exitCode() == 0,
                "psycopg 3 is not importable by /usr/bin/python3 (Debian package python3-psycopg): " + probe.stdout());
        Path script = Files.createTempFile("pgloom-psycopg-", ".py");
        try {
            Files.writeString(script, PSYCOPG_SCRIPT);
            Exec.Result r = Exec.run(List.of("/usr/bin/python3", script.toString(), Integer.toString(pgloom.port()), DB,
                    Integer.toString(POOL_SIZE)), Map.of(), Duration.ofSeconds(90), true);
            System.out.println("psycopg: " + r.stdout().strip());
            assertThat(r.exitCode()).as(r.describe()).isZero();
            Matcher pids = Pattern.compile("\"pids\": \\[([^\\]]*)\\]").matcher(r.stdout());
            assertThat(pids.find()).as(r.stdout()).isTrue();
            assertThat(pids.group(1).split(",")).as("backends that ran the prepared statement").hasSizeGreaterThan(1);
            // the server only ever sees pgloom's names, never psycopg's _pg3_0
            Matcher names = Pattern.compile("\"server_names\": \\[([^\\]]*)\\]").matcher(r.stdout());
            assertThat(names.find()).as(r.stdout()).isTrue();
            assertThat(names.group(1)).doesNotContain("_pg3_");
        } finally {
            Files.deleteIfExists(script);
        }
        try (Connection c = direct()) {
            assertThat(Sql.value(c, "select count(*) || ' ' || sum(n) from py_rows")).isEqualTo("100 4950");
        }
    }

    // *** LRU eviction ***

    @Test
    void leastRecentlyUsedStatementsAreEvictedAtMaxPreparedStatements() throws Exception {
        String lruDb = "prepared_lru";
        try (PgloomProcess lru = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("max_prepared_statements", 2)
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(lruDb, pg, DB)
                .user("app", "apppass")
                .start()) {
            int maxSeen = 0;
            try (Connection c = Sql.connect(lru, lruDb, "app", "apppass", "prepareThreshold=1")) {
                List<PreparedStatement> five = new ArrayList<>();
                for (int k = 1; k <= 5; k++) {
                    five.add(c.prepareStatement("select ?::int + " + k));
                }
                for (int round = 0; round < 12; round++) {
                    boolean tx = round % 2 == 1;
                    c.setAutoCommit(!tx);
                    for (int k = 1; k <= 5; k++) {
                        PreparedStatement ps = five.get((k + round) % 5);
                        int add = (k + round) % 5 + 1;
                        ps.setInt(1, round * 10);
                        try (ResultSet rs = ps.executeQuery()) {
                            assertThat(rs.next()).isTrue();
                            assertThat(rs.getInt(1)).as("round %d statement %d", round, add).isEqualTo(round * 10 + add);
                        }
                    }
                    if (tx) {
                        // the server this transaction ran on holds at most 2 statements, all pgloom's
                        String onServer = Sql.value(c, "select count(*) || ' ' || count(*) filter (where name not like"
                                + " 'PGLOOM\\_%') from pg_prepared_statements");
                        String[] counts = onServer.split(" ");
                        assertThat(Integer.parseInt(counts[0])).as("statements on the server, round %d", round)
                                .isBetween(1, 2);
                        assertThat(counts[1]).as("statements not named by pgloom").isEqualTo("0");
                        c.commit();
                    }
                    for (Map<String, String> server : show(lru, "SERVERS")) {
                        int n = Integer.parseInt(server.get("prepared_statements"));
                        assertThat(n).as("SHOW SERVERS prepared_statements of %s", server).isLessThanOrEqualTo(2);
                        maxSeen = Math.max(maxSeen, n);
                    }
                }
                c.setAutoCommit(true);
                for (PreparedStatement ps : five) {
                    ps.close();
                }
            }
            assertThat(maxSeen).as("SHOW SERVERS prepared_statements at its peak").isEqualTo(2);

            // raw protocol: Describe and Bind of evicted statements, their hidden Parse and Close unseen
            try (RawSession s = RawSession.login(lru, lruDb, "app", Map.of())) {
                RawPg raw = s.raw();
                for (int k = 1; k <= 5; k++) {
                    raw.send(RawPg.concat(parse("r" + k, "select $1::int * " + k, 23), sync()));
                    assertThat(tags(raw.readUntil('Z'))).isEqualTo("1Z");
                }
                for (int round = 0; round < 6; round++) {
                    List<byte[]> out = new ArrayList<>();
                    out.add(RawPg.query("BEGIN"));
                    for (int k = 1; k <= 5; k++) {
                        out.add(RawPg.concat(describe("r" + k), bind("r" + k, Integer.toString(round)), execute(), sync()));
                    }
                    out.add(RawPg.query("select count(*) from pg_prepared_statements"));
                    out.add(RawPg.query("COMMIT"));
                    raw.send(RawPg.concat(out.toArray(byte[][]::new)));
                    assertThat(tags(raw.readUntil('Z'))).isEqualTo("CZ");
                    for (int k = 1; k <= 5; k++) {
                        List<RawPg.Message> answer = raw.readUntil('Z');
                        assertThat(tags(answer)).as("round %d r%d", round, k).isEqualTo("tT2DCZ");
                        assertThat(firstValue(answer)).isEqualTo(Integer.toString(round * k));
                    }
                    List<RawPg.Message> count = raw.readUntil('Z');
                    assertThat(Integer.parseInt(firstValue(count))).as("statements on the server").isBetween(1, 2);
                    assertThat(tags(raw.readUntil('Z'))).isEqualTo("CZ");
                }
            }
            // a fresh process: its totals are this test's
            Map<String, String> after = stats(lru, lruDb);
            long serverParses = num(after, "total_server_parse_count");
            long clientParses = num(after, "total_client_parse_count");
            System.out.printf("LRU: client parses %d, server parses %d%n", clientParses, serverParses);
            assertThat(serverParses).as("evicted statements are parsed again").isGreaterThan(2L * 10);
            assertThat(lru.log()).doesNotContain(": unexpected ").doesNotContain("internal error");
        }
    }

    // *** pipelining ***

    /**
     * One write of 120 Parse/Bind/Execute/Sync runs (some with Describe), then one write of
     * Bind/Execute/Sync of all of them on another server (hidden Parses): every answer complete
     * and in order. Then six raw clients at once, each pipelining its own statements.
     */
    @Test
    void pipelinedRunsOfManyStatementsInOneWrite() throws Exception {
        int n = 120;
        try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of()); Holders h = new Holders()) {
            RawPg raw = s.raw();
            List<byte[]> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(parse("pl_" + i, pipelineSql(i, "one write"), 23));
                if (i % 5 == 0) {
                    out.add(describe("pl_" + i));
                }
                out.add(RawPg.concat(bind("pl_" + i, Integer.toString(i)), execute(), sync()));
            }
            raw.send(RawPg.concat(out.toArray(byte[][]::new)));
            String pid = null;
            for (int i = 0; i < n; i++) {
                List<RawPg.Message> answer = raw.readUntil('Z');
                assertThat(tags(answer)).as("answer %d", i).isEqualTo(i % 5 == 0 ? "1tT2DCZ" : "12DCZ");
                List<String> row = dataRow(answer);
                assertThat(row.get(0)).as("answer %d", i).isEqualTo(pipelineValue(i));
                pid = row.get(1);
            }

            h.holdOnly(pid);
            out.clear();
            for (int i = n - 1; i >= 0; i--) {
                if (i % 5 == 0) {
                    out.add(describe("pl_" + i));
                }
                out.add(RawPg.concat(bind("pl_" + i, Integer.toString(i)), execute(), sync()));
            }
            raw.send(RawPg.concat(out.toArray(byte[][]::new)));
            Set<String> secondPids = new LinkedHashSet<>();
            for (int i = n - 1; i >= 0; i--) {
                List<RawPg.Message> answer = raw.readUntil('Z');
                assertThat(tags(answer)).as("second answer %d", i).isEqualTo(i % 5 == 0 ? "tT2DCZ" : "2DCZ");
                List<String> row = dataRow(answer);
                assertThat(row.get(0)).as("second answer %d", i).isEqualTo(pipelineValue(i));
                secondPids.add(row.get(1));
            }
            assertThat(secondPids).as("the second write ran away from the held server").doesNotContain(pid);
            h.release();

            // Close only forgets the names (pgloom answers), which are then free for new statements
            raw.send(RawPg.concat(close("pl_0"), close("pl_1"), sync()));
            assertThat(tags(raw.readUntil('Z'))).isEqualTo("33Z");
            raw.send(RawPg.concat(parse("pl_0", "select 'again'"), bind("pl_0"), execute(), sync()));
            List<RawPg.Message> again = raw.readUntil('Z');
            assertThat(tags(again)).isEqualTo("12DCZ");
            assertThat(firstValue(again)).isEqualTo("again");
        }

        // six raw clients at once, each pipelining its own statements over the shared servers
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int client = 0; client < 6; client++) {
            int me = client;
            clients.add(CompletableFuture.runAsync(() -> {
                try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of())) {
                    RawPg raw = s.raw();
                    for (int round = 0; round < 15; round++) {
                        List<byte[]> out = new ArrayList<>();
                        for (int i = 0; i < 20; i++) {
                            if (round == 0) {
                                out.add(parse("c_" + i, pipelineSql(i, "client " + me), 23));
                            }
                            out.add(RawPg.concat(bind("c_" + i, Integer.toString(i)), execute(), sync()));
                        }
                        raw.send(RawPg.concat(out.toArray(byte[][]::new)));
                        for (int i = 0; i < 20; i++) {
                            List<RawPg.Message> answer = raw.readUntil('Z');
                            assertThat(tags(answer)).as("client %d round %d answer %d", me, round, i)
                                    .isEqualTo(round == 0 ? "12DCZ" : "2DCZ");
                            assertThat(dataRow(answer).get(0)).isEqualTo(pipelineValue(i));
                        }
                    }
                } catch (IOException e) {
                    throw new AssertionError("client " + me, e);
                }
            }, ASYNC));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    }

    /**
     * In one write, runs that each Parse a statement the server already has (pgloom answers the
     * Parse itself) and Closes (pgloom answers too), each after the Sync of the run before: each
     * answer in its place, after the ReadyForQuery of the run before it.
     */
    @Test
    void pipelinedParsesAndClosesAnsweredByPgloomComeInOrder() throws Exception {
        try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of())) {
            RawPg raw = s.raw();
            String shared = "select $1::int * 10, pg_backend_pid() /* shared in a pipeline */";
            List<byte[]> out = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                out.add(RawPg.concat(parse("f_" + i, shared, 23), bind("f_" + i, Integer.toString(i)), execute(), sync()));
            }
            out.add(RawPg.concat(close("f_0"), close("f_1"), sync()));
            raw.send(RawPg.concat(out.toArray(byte[][]::new)));
            for (int i = 0; i < 20; i++) {
                List<RawPg.Message> answer = raw.readUntil('Z');
                assertThat(tags(answer)).as("answer %d", i).isEqualTo("12DCZ");
                assertThat(firstValue(answer)).isEqualTo(Integer.toString(i * 10));
            }
            assertThat(tags(raw.readUntil('Z'))).isEqualTo("33Z");
        }
    }

    /** Distinct texts for distinct {@code tag}s and {@code i}s. */
    private static String pipelineSql(int i, String tag) {
        return "select $1::int + " + (1000 * i) + ", pg_backend_pid() /* " + tag + " */";
    }

    private static String pipelineValue(int i) {
        return Integer.toString(i + 1000 * i);
    }

    // *** DEALLOCATE ALL, DISCARD ALL ***

    @Test
    void deallocateAllAndDiscardAllForgetTheClientsNames() throws Exception {
        Map<String, List<RawPg.Message>> bindOfGoneName = new LinkedHashMap<>();
        for (String command : List.of("DEALLOCATE ALL", "DISCARD ALL")) {
            try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of())) {
                RawPg raw = s.raw();
                raw.send(RawPg.concat(parse("d1", "select 'one'::text"), bind("d1"), execute(), sync()));
                List<RawPg.Message> first = raw.readUntil('Z');
                assertThat(tags(first)).isEqualTo("12DCZ");
                assertThat(firstValue(first)).isEqualTo("one");
                assertThat(clientPrepared(raw)).as("SHOW CLIENTS prepared_statements").isEqualTo(1);

                raw.send(RawPg.query(command));
                List<RawPg.Message> done = raw.readUntil('Z');
                assertThat(done).as(command).noneMatch(m -> m.tag() == 'E');
                assertThat(commandTag(done)).isEqualTo(command);
                assertThat(clientPrepared(raw)).as("SHOW CLIENTS prepared_statements after %s", command).isZero();

                // the same name again: not "already in use", and the server parses it anew
                raw.send(RawPg.concat(parse("d1", "select 'one'::text"), bind("d1"), execute(), sync()));
                List<RawPg.Message> again = raw.readUntil('Z');
                assertThat(tags(again)).as("%s, then the same Parse: %s", command, again).isEqualTo("12DCZ");
                assertThat(firstValue(again)).isEqualTo("one");
                raw.send(RawPg.concat(parse("d2", "select 'two'::text"), bind("d2"), execute(), sync()));
                List<RawPg.Message> other = raw.readUntil('Z');
                assertThat(tags(other)).isEqualTo("12DCZ");
                assertThat(firstValue(other)).isEqualTo("two");

                raw.send(RawPg.query(command));
                assertThat(commandTag(raw.readUntil('Z'))).isEqualTo(command);
                // a Bind of a forgotten name: PgBouncer's error, and the client is closed
                raw.send(RawPg.concat(bind("d1"), execute(), sync()));
                bindOfGoneName.put(command, raw.readUntilClosed());
            }
        }
        // pgjdbc knows both commands and prepares its statements anew afterwards
        try (Connection c = connect("prepareThreshold=1");
                PreparedStatement ps = c.prepareStatement("select ?::int * 2, pg_backend_pid() /* dealloc */")) {
            doubled(ps, 1);
            doubled(ps, 2);
            Sql.exec(c, "DEALLOCATE ALL");
            doubled(ps, 3);
            doubled(ps, 4);
            Sql.exec(c, "DISCARD ALL");
            doubled(ps, 5);
            doubled(ps, 6);
        }
        bindOfGoneName.forEach((command, gone) -> assertThat(gone)
                .as("answer to a Bind of a name gone with %s", command)
                .anyMatch(m -> m.tag() == 'E' && m.errorMessage().equals("prepared statement did not exist")
                        && m.sqlState().equals("08P01")));
    }

    /** The prepared_statements column of SHOW CLIENTS for this raw client. */
    private static int clientPrepared(RawPg raw) {
        for (Map<String, String> row : show(pgloom, "CLIENTS")) {
            if (row.get("port").equals(Integer.toString(raw.localPort()))) {
                return Integer.parseInt(row.get("prepared_statements"));
            }
        }
        throw new AssertionError("no SHOW CLIENTS row for port " + raw.localPort());
    }

    // *** 1 MB statement ***

    @Test
    void oneMegabyteStatementPreparedAndExecutedOnSeveralServers() throws Exception {
        StringBuilder text = new StringBuilder(1 << 20);
        for (int i = 0; text.length() < (1 << 20); i++) {
            text.append((char) ('a' + i % 26)).append(i % 10);
        }
        text.setLength(1 << 20);
        String literal = text.toString();
        String md5 = md5(literal);
        String sql = "select md5(x), length(x) + ?::int, pg_backend_pid() from (select '" + literal + "'::text as x) s";
        assertThat(sql.length()).isGreaterThan(1 << 20);
        Set<String> pids = new LinkedHashSet<>();
        try (Connection c = connect("prepareThreshold=1"); Holders h = new Holders();
                PreparedStatement ps = c.prepareStatement(sql)) {
            String last = null;
            for (int i = 0; i < 4; i++) {
                if (last != null) {
                    h.holdOnly(last);
                }
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo(md5);
                    assertThat(rs.getInt(2)).isEqualTo((1 << 20) + i);
                    String pid = rs.getString(3);
                    assertThat(pid).isNotEqualTo(last);
                    pids.add(pid);
                    last = pid;
                }
                h.release();
            }
        }
        assertThat(pids).hasSizeGreaterThan(1);
    }

    private static String md5(String s) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    // *** SQL-level PREPARE / EXECUTE / DEALLOCATE ***

    @Test
    void sqlPrepareAndExecuteAcrossServers() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<CompletableFuture<Void>> load = new ArrayList<>();
        try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of()); Holders h = new Holders()) {
            RawPg raw = s.raw();
            assertThat(commandTag(ok(raw, "PREPARE sq (int) AS SELECT $1 * 3, pg_backend_pid()"))).isEqualTo("PREPARE");
            assertThat(commandTag(ok(raw, "prepare \"Mixed\"\"Name\" as select 'mixed'"))).isEqualTo("PREPARE");
            assertThat(commandTag(ok(raw, "PREPARE Folded AS SELECT 'folded', pg_backend_pid();"))).isEqualTo("PREPARE");
            // PostgreSQL's whitespace and comment rules: form feed, vertical tab, a -- comment ended by CR
            assertThat(commandTag(ok(raw, "\f\u000bPREPARE odd AS SELECT 'odd', pg_backend_pid()"))).isEqualTo("PREPARE");
            assertThat(clientPrepared(raw)).as("SHOW CLIENTS prepared_statements").isEqualTo(4);

            // other clients keep the servers busy meanwhile
            for (int i = 0; i < 3; i++) {
                load.add(CompletableFuture.runAsync(() -> {
                    try (Connection c = connect("prepareThreshold=0")) {
                        while (!stop.get()) {
                            Sql.value(c, "select 1 from pg_sleep(0.002)");
                        }
                    } catch (SQLException e) {
                        throw new AssertionError(e);
                    }
                }, ASYNC));
            }
            Set<String> pids = new LinkedHashSet<>();
            String last = null;
            for (int i = 0; i < 60; i++) {
                boolean steer = i % 6 == 5;
                if (steer) {
                    h.holdOnly(last);
                }
                List<String> row = dataRow(ok(raw, "EXECUTE sq(" + i + ")"));
                assertThat(row.get(0)).as("EXECUTE sq(%d)", i).isEqualTo(Integer.toString(i * 3));
                if (steer) {
                    assertThat(row.get(1)).as("EXECUTE %d ran away from the held server", i).isNotEqualTo(last);
                    List<String> folded = dataRow(ok(raw, "EXECUTE FOLDED"));
                    assertThat(folded.get(0)).isEqualTo("folded");
                    assertThat(folded.get(1)).isNotEqualTo(last);
                    assertThat(firstValue(ok(raw, "execute \"Mixed\"\"Name\" ;"))).isEqualTo("mixed");
                    List<String> odd = dataRow(ok(raw, "-- comment\r\fEXECUTE odd"));
                    assertThat(odd.get(0)).isEqualTo("odd");
                    assertThat(odd.get(1)).isNotEqualTo(last);
                    h.release();
                }
                pids.add(row.get(1));
                last = row.get(1);
            }
            stop.set(true);
            CompletableFuture.allOf(load.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertThat(pids).as("backends that ran EXECUTE sq").hasSizeGreaterThan(1);

            // DEALLOCATE: the name is gone, PostgreSQL's own error
            assertThat(commandTag(ok(raw, "DEALLOCATE sq"))).isEqualTo("DEALLOCATE");
            RawPg.Message error = error(raw, "EXECUTE sq(1)");
            assertThat(error.errorMessage()).isEqualTo("prepared statement \"sq\" does not exist");
            assertThat(error.sqlState()).isEqualTo("26000");
            assertThat(commandTag(ok(raw, "DEALLOCATE PREPARE folded"))).isEqualTo("DEALLOCATE");
            assertThat(error(raw, "EXECUTE folded").errorMessage()).isEqualTo("prepared statement \"folded\" does not exist");
            assertThat(error(raw, "DEALLOCATE folded").errorMessage())
                    .isEqualTo("prepared statement \"folded\" does not exist");
            assertThat(commandTag(ok(raw, "\u000bDEALLOCATE\fodd"))).isEqualTo("DEALLOCATE");

            // PREPARE of a name in use: 42P05, and the first statement stays
            ok(raw, "PREPARE dup AS SELECT 1");
            RawPg.Message dup = error(raw, "PREPARE dup AS SELECT 2");
            assertThat(dup.sqlState()).isEqualTo("42P05");
            assertThat(dup.errorMessage()).isEqualTo("prepared statement \"dup\" already exists");
            assertThat(firstValue(ok(raw, "EXECUTE dup"))).isEqualTo("1");
            // inside a transaction the error aborts it, as PostgreSQL's would
            ok(raw, "BEGIN");
            assertThat(error(raw, "PREPARE dup AS SELECT 3").sqlState()).isEqualTo("42P05");
            assertThat(error(raw, "SELECT 1").sqlState()).isEqualTo("25P02");
            ok(raw, "ROLLBACK");
            assertThat(firstValue(ok(raw, "EXECUTE dup"))).isEqualTo("1");
            assertThat(clientPrepared(raw)).as("SHOW CLIENTS prepared_statements: Mixed\"Name and dup").isEqualTo(2);
        } finally {
            stop.set(true);
        }

        // psql (simple protocol), one statement per Query, while others keep the servers busy
        AtomicBoolean stopPsqlLoad = new AtomicBoolean();
        List<CompletableFuture<Void>> psqlLoad = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            psqlLoad.add(CompletableFuture.runAsync(() -> {
                try (Connection c = connect("prepareThreshold=0")) {
                    while (!stopPsqlLoad.get()) {
                        Sql.value(c, "select 1 from pg_sleep(0.002)");
                    }
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }, ASYNC));
        }
        Path file = Files.createTempFile("pgloom-prepare-", ".sql");
        try {
            StringBuilder script = new StringBuilder("PREPARE ps_sql(int) AS SELECT $1 + 1000;\n");
            StringBuilder expected = new StringBuilder();
            for (int i = 1; i <= 50; i++) {
                script.append("EXECUTE ps_sql(").append(i).append(");\n");
                expected.append(1000 + i).append('\n');
            }
            script.append("DEALLOCATE ps_sql;\nEXECUTE ps_sql(1);\n");
            Files.writeString(file, script.toString());
            Psql.Result r = Psql.to(pgloom, DB, "app", "apppass").run(Duration.ofSeconds(60), "-q", "-At", "-f",
                    file.toString());
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
            assertThat(r.stdout()).as(r.toString()).isEqualTo(expected.toString());
            assertThat(r.stderr()).as(r.toString()).contains("prepared statement \"ps_sql\" does not exist");
        } finally {
            stopPsqlLoad.set(true);
            CompletableFuture.allOf(psqlLoad.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            Files.deleteIfExists(file);
        }
    }

    // *** cached plan must not change result type ***

    @Test
    void pgjdbcStatementWorksAgainAfterAlterTableChangesItsResultType() throws Exception {
        long recoveriesBefore = num(stats(pgloom, DB), "total_plan_recovery_count");
        try (Connection c = connect("prepareThreshold=1"); Holders h = new Holders();
                PreparedStatement ps = c.prepareStatement("select t.*, pg_backend_pid() from plan_jdbc t where id >= ? order by id")) {
            String a = planRows(ps, "int4");
            h.holdOnly(a);
            String b = planRows(ps, "int4");
            h.release();
            assertThat(b).as("the statement is on two servers").isNotEqualTo(a);

            try (Connection d = direct()) {
                Sql.exec(d, "alter table plan_jdbc alter column c type text");
            }
            // on a server with the old plan: pgjdbc may retry by itself; otherwise the next try works
            h.holdAllBut(a);
            int failures = 0;
            String ranOn = null;
            for (int attempt = 0; attempt < 2 && ranOn == null; attempt++) {
                try {
                    ranOn = planRows(ps, "text");
                } catch (SQLException e) {
                    assertThat(e.getMessage()).contains("cached plan must not change result type");
                    failures++;
                }
            }
            h.release();
            assertThat(ranOn).as("an execution after the failing one succeeds").isNotNull();
            assertThat(ranOn).isEqualTo(a);
            assertThat(failures).isLessThanOrEqualTo(1);
            // the other server still has the old plan under the old name: not used any more
            h.holdAllBut(b);
            assertThat(planRows(ps, "text")).isEqualTo(b);
            h.release();
            assertThat(planRows(ps, "text")).isNotNull();
        }
        long recoveries = Wait.untilValue("total_plan_recovery_count to grow", WAIT,
                () -> num(stats(pgloom, DB), "total_plan_recovery_count"), v -> v > recoveriesBefore);
        assertThat(recoveries).isGreaterThanOrEqualTo(1);
        assertThat(totals(pgloom).get("total_plan_recovery_count")).isGreaterThanOrEqualTo(recoveries);
        assertThat(metric("pgbouncer_stats_plan_recoveries_total{database=\"" + DB + "\"}"))
                .isGreaterThanOrEqualTo(recoveries);
        pgloom.waitForLog("cached plan of prepared statement PGLOOM_\\d+ no longer fits", WAIT);
    }

    /** Runs the plan_jdbc statement; checks its two rows and the type of c; returns the pid. */
    private static String planRows(PreparedStatement ps, String type) throws SQLException {
        ps.setInt(1, 1);
        try (ResultSet rs = ps.executeQuery()) {
            assertThat(rs.getMetaData().getColumnTypeName(2)).as("type of column c").isEqualTo(type);
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(2)).isEqualTo("10");
            String pid = rs.getString(3);
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(2)).isEqualTo("20");
            assertThat(rs.next()).isFalse();
            return pid;
        }
    }

    @Test
    void sqlExecuteWorksAgainAfterAlterTableChangesItsResultType() throws Exception {
        long recoveriesBefore = num(stats(pgloom, DB), "total_plan_recovery_count");
        try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of()); Holders h = new Holders()) {
            RawPg raw = s.raw();
            ok(raw, "PREPARE plan_q AS SELECT t.*, pg_backend_pid() FROM plan_sql t ORDER BY id");
            String a = sqlPlanRows(ok(raw, "EXECUTE plan_q"), 23);
            h.holdOnly(a);
            String b = sqlPlanRows(ok(raw, "EXECUTE plan_q"), 23);
            h.release();
            assertThat(b).as("the statement is on two servers").isNotEqualTo(a);

            try (Connection d = direct()) {
                Sql.exec(d, "alter table plan_sql alter column c type text");
            }
            h.holdAllBut(a);
            RawPg.Message stale = error(raw, "EXECUTE plan_q");
            assertThat(stale.errorMessage()).isEqualTo("cached plan must not change result type");
            assertThat(stale.sqlState()).isEqualTo("0A000");
            assertThat(sqlPlanRows(ok(raw, "EXECUTE plan_q"), 25)).as("the next EXECUTE, on the same server").isEqualTo(a);
            h.release();
            h.holdAllBut(b);
            assertThat(sqlPlanRows(ok(raw, "EXECUTE plan_q"), 25)).as("on the other server").isEqualTo(b);
            h.release();
            assertThat(commandTag(ok(raw, "DEALLOCATE plan_q"))).isEqualTo("DEALLOCATE");
        }
        long recoveries = Wait.untilValue("total_plan_recovery_count to grow", WAIT,
                () -> num(stats(pgloom, DB), "total_plan_recovery_count"), v -> v > recoveriesBefore);
        assertThat(metric("pgbouncer_stats_plan_recoveries_total{database=\"" + DB + "\"}"))
                .isGreaterThanOrEqualTo(recoveries);
    }

    /** Checks the answer to EXECUTE plan_q: column c of type {@code typeOid}, rows 1/10 and 2/20; returns the pid. */
    private static String sqlPlanRows(List<RawPg.Message> answer, int typeOid) {
        RawPg.Message description = answer.stream().filter(m -> m.tag() == 'T').findFirst()
                .orElseThrow(() -> new AssertionError("no RowDescription in " + answer));
        assertThat(columnTypes(description.body())).as("column types").containsExactly(23, typeOid, 23);
        List<List<String>> rows = answer.stream().filter(m -> m.tag() == 'D').map(m -> columns(m.body())).toList();
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).subList(0, 2)).containsExactly("1", "10");
        assertThat(rows.get(1).subList(0, 2)).containsExactly("2", "20");
        return rows.get(0).get(2);
    }

    // *** steering clients to servers ***

    /**
     * pgjdbc connections, one per server of the pool, that hold servers in open transactions so
     * that the next transaction of the client under test runs where the test wants it.
     */
    private static final class Holders implements AutoCloseable {
        private final List<Connection> conns = new ArrayList<>();
        private final Map<String, Connection> held = new HashMap<>();

        /** Holds every server of the pool (pool full, one per holder); returns pid to holder. */
        private Map<String, Connection> holdAll() throws SQLException {
            while (conns.size() < POOL_SIZE) {
                Connection c = connect("prepareThreshold=0");
                c.setAutoCommit(false);
                conns.add(c);
            }
            held.clear();
            for (Connection c : conns) {
                String pid = Sql.value(c, "select pg_backend_pid()");
                assertThat(held.put(pid, c)).as("two holders on server %s", pid).isNull();
            }
            return held;
        }

        /** The next transaction of another client runs on any server but {@code pid}. */
        void holdOnly(String pid) throws SQLException {
            holdAll();
            assertThat(held).as("servers of the pool").containsKey(pid);
            for (Map.Entry<String, Connection> e : held.entrySet()) {
                if (!e.getKey().equals(pid)) {
                    e.getValue().rollback();
                }
            }
        }

        /** The next transaction of another client runs on server {@code pid}. */
        void holdAllBut(String pid) throws SQLException {
            holdAll();
            assertThat(held).as("servers of the pool").containsKey(pid);
            held.get(pid).rollback();
        }

        void release() throws SQLException {
            for (Connection c : conns) {
                c.rollback();
            }
            held.clear();
        }

        @Override
        public void close() throws SQLException {
            for (Connection c : conns) {
                c.rollback();
                c.close();
            }
        }
    }

    // *** admin console and metrics ***

    /** A SHOW of pgloom's admin console (psql over the unix socket as user pgbouncer), as rows. */
    private static List<Map<String, String>> show(PgloomProcess p, String subject) {
        Psql.Result r = Psql.toSocket(p, "pgbouncer", "pgbouncer", "")
                .run(Duration.ofSeconds(20), "-A", "-F", "|", "-P", "footer=off", "-c", "SHOW " + subject);
        if (!r.ok()) {
            throw new AssertionError("SHOW " + subject + " failed\n" + r);
        }
        String[] lines = r.stdout().strip().split("\n");
        String[] header = lines[0].split("\\|", -1);
        List<Map<String, String>> rows = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String[] cells = lines[i].split("\\|", -1);
            assertThat(cells).as("SHOW %s line %s", subject, lines[i]).hasSameSizeAs(header);
            Map<String, String> row = new LinkedHashMap<>();
            for (int c = 0; c < header.length; c++) {
                row.put(header[c], cells[c]);
            }
            rows.add(row);
        }
        return rows;
    }

    /** The SHOW STATS row of {@code db}. */
    private static Map<String, String> stats(PgloomProcess p, String db) {
        return show(p, "STATS").stream().filter(r -> db.equals(r.get("database"))).findFirst()
                .orElseThrow(() -> new AssertionError("no SHOW STATS row for " + db));
    }

    private static Map<String, Long> totals(PgloomProcess p) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map<String, String> r : show(p, "TOTALS")) {
            out.put(r.get("name"), Long.parseLong(r.get("value")));
        }
        return out;
    }

    private static long num(Map<String, String> row, String column) {
        String v = row.get(column);
        assertThat(v).as("%s in %s", column, row).isNotNull();
        return Long.parseLong(v);
    }

    /** The value of one sample of pgloom's /metrics page. */
    private static long metric(String sample) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        for (String line : page.split("\n")) {
            if (line.startsWith(sample + " ")) {
                return (long) Double.parseDouble(line.substring(sample.length() + 1).strip());
            }
        }
        throw new AssertionError("no sample " + sample + " in\n" + page);
    }

    // *** raw protocol ***

    /** A Parse of {@code sql} as statement {@code name}, with these parameter type OIDs. */
    private static byte[] parse(String name, String sql, int... paramTypes) {
        ByteBuffer types = ByteBuffer.allocate(2 + 4 * paramTypes.length).putShort((short) paramTypes.length);
        for (int t : paramTypes) {
            types.putInt(t);
        }
        return RawPg.message('P', RawPg.concat(RawPg.cstring(name), RawPg.cstring(sql), types.array()));
    }

    /** A Bind of statement {@code name} to the unnamed portal with text parameters, text results. */
    private static byte[] bind(String name, String... params) {
        List<byte[]> parts = new ArrayList<>();
        parts.add(RawPg.cstring(""));
        parts.add(RawPg.cstring(name));
        parts.add(new byte[] {0, 0});
        parts.add(ByteBuffer.allocate(2).putShort((short) params.length).array());
        for (String p : params) {
            byte[] v = p.getBytes(StandardCharsets.UTF_8);
            parts.add(ByteBuffer.allocate(4 + v.length).putInt(v.length).put(v).array());
        }
        parts.add(new byte[] {0, 0});
        return RawPg.message('B', RawPg.concat(parts.toArray(byte[][]::new)));
    }

    private static byte[] describe(String name) {
        return RawPg.message('D', RawPg.concat(new byte[] {'S'}, RawPg.cstring(name)));
    }

    private static byte[] close(String name) {
        return RawPg.message('C', RawPg.concat(new byte[] {'S'}, RawPg.cstring(name)));
    }

    private static byte[] execute() {
        return RawPg.message('E', RawPg.concat(RawPg.cstring(""), new byte[] {0, 0, 0, 0}));
    }

    private static byte[] sync() {
        return RawPg.message('S', new byte[0]);
    }

    /** One simple Query that must succeed; returns its answer up to ReadyForQuery. */
    private static List<RawPg.Message> ok(RawPg raw, String sql) throws IOException {
        raw.send(RawPg.query(sql));
        List<RawPg.Message> got = raw.readUntil('Z');
        assertThat(got).as("answer to %s", sql).noneMatch(m -> m.tag() == 'E');
        return got;
    }

    /** One simple Query that must fail; returns its ErrorResponse. */
    private static RawPg.Message error(RawPg raw, String sql) throws IOException {
        raw.send(RawPg.query(sql));
        List<RawPg.Message> got = raw.readUntil('Z');
        return got.stream().filter(m -> m.tag() == 'E').findFirst()
                .orElseThrow(() -> new AssertionError("no error for " + sql + ": " + got));
    }

    /** The message tags of an answer, e.g. {@code "12DCZ"}. */
    private static String tags(List<RawPg.Message> answer) {
        StringBuilder sb = new StringBuilder();
        for (RawPg.Message m : answer) {
            sb.append(m.tag());
        }
        return sb.toString();
    }

    /** The tag of the answer's only CommandComplete. */
    private static String commandTag(List<RawPg.Message> answer) {
        List<RawPg.Message> completes = answer.stream().filter(m -> m.tag() == 'C').toList();
        assertThat(completes).as("CommandComplete in %s", answer).hasSize(1);
        byte[] body = completes.get(0).body();
        return new String(body, 0, body.length - 1, StandardCharsets.UTF_8);
    }

    /** The columns of the answer's only DataRow. */
    private static List<String> dataRow(List<RawPg.Message> answer) {
        List<RawPg.Message> rows = answer.stream().filter(m -> m.tag() == 'D').toList();
        assertThat(rows).as("rows in %s", answer).hasSize(1);
        return columns(rows.get(0).body());
    }

    private static String firstValue(List<RawPg.Message> answer) {
        return dataRow(answer).get(0);
    }

    private static List<String> columns(byte[] dataRow) {
        ByteBuffer b = ByteBuffer.wrap(dataRow);
        int n = b.getShort();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = b.getInt();
            if (len < 0) {
                out.add(null);
            } else {
                byte[] v = new byte[len];
                b.get(v);
                out.add(new String(v, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** The type OIDs of a RowDescription's fields. */
    private static List<Integer> columnTypes(byte[] rowDescription) {
        ByteBuffer b = ByteBuffer.wrap(rowDescription);
        int n = b.getShort();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            while (b.get() != 0) {
                // the field name
            }
            b.getInt();
            b.getShort();
            out.add(b.getInt());
            b.getShort();
            b.getInt();
            b.getShort();
        }
        return out;
    }
}
