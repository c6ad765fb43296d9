package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pipelining in transaction pooling: many requests written before their answers are read. The
 * server must stay with its client until every request's ReadyForQuery has come back (the
 * release rule counts them), so every row lands exactly once and every client reads its own
 * results. pgjdbc batches, pgbench {@code \startpipeline}, and raw pipelined Query and
 * Parse/Bind/Execute/Sync runs from concurrent clients over fewer servers.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PipelineIT {

    private static final String DB = "pipeline_it";

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    /** Transaction pooling, pool_size 2, trust auth (raw clients log in too). */
    private static PgloomProcess pgloom;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            Sql.exec(c, "create table batch_rows (client int, n int, payload text, primary key (client, n))");
            Sql.exec(c, "create table pipe_rows (client int, step int, seen bigint)");
            Sql.exec(c, "create table pipe_counter (client int primary key, n int not null)");
            Sql.exec(c, "insert into pipe_counter select g, 0 from generate_series(0, 19) g");
        }
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
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

    private static Connection connect() throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0");
    }

    private static String direct(String sql) throws SQLException {
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            return Sql.value(c, sql);
        }
    }

    private static int[] batchInsert(Connection c, int client, int rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into batch_rows values (?, ?, ?)")) {
            for (int n = 1; n <= rows; n++) {
                ps.setInt(1, client);
                ps.setInt(2, n);
                ps.setString(3, "client " + client + " row " + n);
                ps.addBatch();
            }
            return ps.executeBatch();
        }
    }

    @Test
    void pgjdbcBatchOfThousandInserts() throws SQLException {
        try (Connection c = connect()) {
            // Autocommit: pgjdbc pipelines the 1,000 Bind/Execute and one Sync.
            int[] counts = batchInsert(c, 1, 1000);
            assertThat(counts).hasSize(1000).containsOnly(1);
            // In an explicit transaction, committed afterwards.
            c.setAutoCommit(false);
            counts = batchInsert(c, 2, 1000);
            assertThat(counts).hasSize(1000).containsOnly(1);
            c.commit();
            c.setAutoCommit(true);
            assertThat(Sql.value(c, "select 'still in step'")).isEqualTo("still in step");
        }
        assertThat(direct("select count(*) || ' ' || count(distinct n) || ' ' || sum(n) from batch_rows where client = 1"))
                .isEqualTo("1000 1000 500500");
        assertThat(direct("select count(*) || ' ' || count(distinct n) || ' ' || sum(n) from batch_rows where client = 2"))
                .isEqualTo("1000 1000 500500");
    }

    /** Six clients over two servers, each batch returning its rows: everyone reads only its own. */
    @Test
    void concurrentBatchesReturnEachClientItsOwnRows() throws Exception {
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int client = 10; client < 16; client++) {
            int me = client;
            clients.add(CompletableFuture.runAsync(() -> {
                try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(
                        "insert into batch_rows values (?, ?, ?)", new String[] {"client", "n"})) {
                    for (int n = 1; n <= 1000; n++) {
                        ps.setInt(1, me);
                        ps.setInt(2, n);
                        ps.setString(3, "x");
                        ps.addBatch();
                    }
                    assertThat(ps.executeBatch()).hasSize(1000);
                    Set<Integer> ns = new HashSet<>();
                    try (ResultSet keys = ps.getGeneratedKeys()) {
                        while (keys.next()) {
                            assertThat(keys.getInt("client")).as("a returned row of client %d", me).isEqualTo(me);
                            ns.add(keys.getInt("n"));
                        }
                    }
                    assertThat(ns).as("rows returned to client %d", me).hasSize(1000);
                } catch (SQLException e) {
                    throw new AssertionError("client " + me, e);
                }
            }, ASYNC));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        assertThat(direct("select count(*) || ' ' || count(distinct (client, n)) from batch_rows where client between 10 and 15"))
                .isEqualTo("6000 6000");
    }

    @Test
    void pgbenchPipelineScript() throws IOException, SQLException {
        Path script = Files.createTempFile("pgloom-pipeline-", ".sql");
        try {
            Files.writeString(script, """
                    \\startpipeline
                    insert into pipe_rows (client, step) values (:client_id, 1);
                    select count(*) from pipe_rows where client = :client_id;
                    insert into pipe_rows (client, step) values (:client_id, 2);
                    update pipe_counter set n = n + 1 where client = :client_id;
                    insert into pipe_rows (client, step, seen) select :client_id, 3, n from pipe_counter where client = :client_id;
                    \\endpipeline
                    """);
            Pgbench.Result r = Pgbench.to(pgloom, DB, "app", "apppass").run(Duration.ofSeconds(60),
                    "-n", "-M", "extended", "-c", "20", "-j", "2", "-t", "30", "-f", script.toString());
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.failed()).as(r.toString()).isZero();
            assertThat(r.processed()).as(r.toString()).isEqualTo(600);
        } finally {
            Files.deleteIfExists(script);
        }
        // Each of the 20 clients ran 30 pipelines of 3 inserts and one update, all of them once.
        assertThat(direct("select count(*) from pipe_rows")).isEqualTo("1800");
        assertThat(direct("select count(*) from (select client from pipe_rows group by client"
                + " having count(*) filter (where step = 1) = 30 and count(*) filter (where step = 2) = 30"
                + " and count(*) filter (where step = 3) = 30) ok")).isEqualTo("20");
        assertThat(direct("select count(*) from pipe_counter where n = 30")).isEqualTo("20");
        // The third insert of each pipeline saw that pipeline's own update: 1..30 for each client.
        assertThat(direct("select count(*) from (select client from pipe_rows where step = 3 group by client"
                + " having count(distinct seen) = 30 and min(seen) = 1 and max(seen) = 30) ok")).isEqualTo("20");
    }

    /**
     * Raw clients write three Query messages, or three Parse/Bind/Execute/Sync runs, in one go;
     * eight of them over two servers, 50 rounds each. Each reads exactly its own three answers in
     * order.
     */
    @Test
    void pipelinedQueriesFromRawClients() throws Exception {
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int client = 0; client < 8; client++) {
            int me = client;
            boolean extended = client % 2 == 1;
            clients.add(CompletableFuture.runAsync(() -> {
                try (RawSession session = RawSession.login(pgloom, DB, "app", Map.of())) {
                    RawPg raw = session.raw();
                    for (int round = 0; round < 50; round++) {
                        List<String> sql = List.of("select 'c" + me + " r" + round + " q1'",
                                "select 'c" + me + " r" + round + " q2' from pg_sleep(0.001)",
                                "select 'c" + me + " r" + round + " q3'");
                        List<byte[]> parts = new ArrayList<>();
                        for (String q : sql) {
                            parts.add(extended ? extendedRun(q) : RawPg.query(q));
                        }
                        raw.send(RawPg.concat(parts.toArray(byte[][]::new)));
                        for (String q : sql) {
                            List<RawPg.Message> answer = raw.readUntil('Z');
                            String expected = q.substring(q.indexOf('\'') + 1, q.indexOf('\'', q.indexOf('\'') + 1));
                            assertThat(rowValue(answer)).as("client %d round %d", me, round).isEqualTo(expected);
                        }
                    }
                } catch (IOException e) {
                    throw new AssertionError("client " + me, e);
                }
            }, ASYNC));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    }

    /** Parse (unnamed), Bind (unnamed portal, no parameters, text results), Execute, Sync. */
    private static byte[] extendedRun(String sql) {
        byte[] parse = RawPg.message('P', RawPg.concat(RawPg.cstring(""), RawPg.cstring(sql), new byte[] {0, 0}));
        byte[] bind = RawPg.message('B', RawPg.concat(RawPg.cstring(""), RawPg.cstring(""),
                new byte[] {0, 0, 0, 0, 0, 0}));
        byte[] execute = RawPg.message('E', RawPg.concat(RawPg.cstring(""), new byte[] {0, 0, 0, 0}));
        byte[] sync = RawPg.message('S', new byte[0]);
        return RawPg.concat(parse, bind, execute, sync);
    }

    /** The first column of the only DataRow among {@code answer}. */
    private static String rowValue(List<RawPg.Message> answer) {
        List<RawPg.Message> rows = answer.stream().filter(m -> m.tag() == 'D').toList();
        assertThat(rows).as("rows in %s", answer).hasSize(1);
        return RawSession.firstColumn(rows.get(0).body());
    }

    /** Not a pipelining rule, but the reason it matters: a statement batch does not hold the server afterwards. */
    @Test
    void serverIsReleasedAfterTheBatch() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (int i = 0; i < 50; i++) {
                s.addBatch("insert into batch_rows values (3, " + i + ", 'statement batch')");
            }
            assertThat(s.executeBatch()).hasSize(50);
            Wait.until("the pool to have its servers idle again", Duration.ofSeconds(10),
                    () -> ShowPools.count(pgloom, DB, "app", "sv_active") == 0);
        }
        assertThat(direct("select count(*) from batch_rows where client = 3")).isEqualTo("50");
    }
}
