package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * No lost and no doubled work: 8 clients insert numbered rows (client, seq) one autocommitted
 * statement at a time through pgloom in transaction pooling (more clients than servers), while
 * three takeovers happen one after the other. Afterwards, for every client, the numbers in the
 * table are exactly the numbers the client saw committed, each once. Any error a client gets
 * is recorded and fails the test. Each takeover also keeps the clients' SHOW CLIENTS ids and the
 * database's SHOW STATS counters (total_xact_count never goes back).
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverNumberedRowsIT {

    private static final String DB = "takeover_rows";
    private static final int CLIENTS = 8;
    private static final int POOL_SIZE = 4;
    private static final int TAKEOVERS = 3;

    private static PgCluster pg;
    private PgloomProcess current;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            // No unique key on purpose: a doubled row must show up as two rows.
            Sql.exec(c, "create table numbered (client int not null, seq int not null)");
        }
    }

    @AfterEach
    void stop() {
        if (current != null) {
            current.close();
        }
    }

    @Test
    void everyCommittedNumberIsThereExactlyOnce() throws Exception {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", POOL_SIZE)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        List<List<Integer>> committed = new ArrayList<>();
        List<Future<?>> writers = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int client = 0; client < CLIENTS; client++) {
                List<Integer> mine = Collections.synchronizedList(new ArrayList<>());
                committed.add(mine);
                Connection c = Sql.connect(current, DB, "app", "apppass", "prepareThreshold=0");
                int id = client;
                writers.add(threads.submit(() -> write(c, id, mine, stop, errors)));
            }
            Wait.until("every client to commit a first row", java.time.Duration.ofSeconds(30),
                    () -> committed.stream().allMatch(l -> sizeOf(l) > 0) || !errors.isEmpty());
            for (int i = 1; i <= TAKEOVERS && errors.isEmpty(); i++) {
                Set<String> idsBefore = clientIds(current);
                long xactsBefore = xactCount(current);
                Takeovers.Result r = Takeovers.takeOver(current);
                current = r.successor();
                System.out.println("numbered rows: takeover " + i + ": " + r);
                assertThat(r.clients()).as("clients handed over").isEqualTo(CLIENTS);
                assertThat(clientIds(current)).as("SHOW CLIENTS ids after takeover %d", i).isEqualTo(idsBefore);
                assertThat(xactCount(current)).as("SHOW STATS total_xact_count after takeover %d (before: %d)", i,
                        xactsBefore).isGreaterThanOrEqualTo(xactsBefore);
                // Each takeover happens while every client keeps inserting.
                int[] before = sizes(committed);
                Wait.until("every client to commit rows after takeover " + i, java.time.Duration.ofSeconds(60),
                        () -> progressed(committed, before) || !errors.isEmpty());
            }
            stop.set(true);
            for (Future<?> w : writers) {
                w.get(60, TimeUnit.SECONDS);
            }
        }
        assertThat(errors).as("errors the clients got").isEmpty();

        Map<Integer, List<Integer>> inTable = new TreeMap<>();
        try (Connection c = pg.connect(DB, "app", "apppass"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select client, seq from numbered order by client, seq")) {
            while (rs.next()) {
                inTable.computeIfAbsent(rs.getInt(1), k -> new ArrayList<>()).add(rs.getInt(2));
            }
        }
        long total = 0;
        for (int client = 0; client < CLIENTS; client++) {
            List<Integer> expected = committed.get(client);
            total += expected.size();
            assertThat(inTable.getOrDefault(client, List.of()))
                    .as("numbers of client %d in the table (each committed number exactly once)", client)
                    .containsExactlyElementsOf(expected);
        }
        System.out.println("numbered rows: " + total + " rows committed by " + CLIENTS + " clients across "
                + TAKEOVERS + " takeovers, none lost or doubled");
    }

    /** The ids SHOW CLIENTS gives the clients of the test database. */
    private static Set<String> clientIds(PgloomProcess p) {
        Set<String> ids = new TreeSet<>();
        for (Map<String, String> row : Takeovers.show(p, "CLIENTS")) {
            if (DB.equals(row.get("database"))) {
                ids.add(row.get("id"));
            }
        }
        return ids;
    }

    /** SHOW STATS total_xact_count of the test database. */
    private static long xactCount(PgloomProcess p) {
        return Takeovers.show(p, "STATS").stream().filter(row -> DB.equals(row.get("database")))
                .mapToLong(row -> Long.parseLong(row.get("total_xact_count"))).sum();
    }

    /** Inserts (client, 1), (client, 2), ... until told to stop; records each number once it committed. */
    private static void write(Connection c, int client, List<Integer> committed, AtomicBoolean stop,
            ConcurrentLinkedQueue<String> errors) {
        try (c; PreparedStatement ps = c.prepareStatement("insert into numbered (client, seq) values (?, ?)")) {
            for (int seq = 1; !stop.get(); seq++) {
                ps.setInt(1, client);
                ps.setInt(2, seq);
                try {
                    ps.executeUpdate();
                } catch (SQLException e) {
                    errors.add("client " + client + ", seq " + seq + ": " + e.getSQLState() + " " + e.getMessage());
                    return;
                }
                committed.add(seq);
            }
        } catch (SQLException e) {
            errors.add("client " + client + ": " + e.getSQLState() + " " + e.getMessage());
        }
    }

    private static int sizeOf(List<Integer> l) {
        return l.size();
    }

    private static int[] sizes(List<List<Integer>> lists) {
        return lists.stream().mapToInt(TakeoverNumberedRowsIT::sizeOf).toArray();
    }

    private static boolean progressed(List<List<Integer>> lists, int[] before) {
        for (int i = 0; i < before.length; i++) {
            if (sizeOf(lists.get(i)) <= before[i]) {
                return false;
            }
        }
        return true;
    }
}
