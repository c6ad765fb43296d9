package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
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
 * Slow-loris logins against a pgloom serving 4 writers of the numbered-row workload: {@value
 * #LORISES} connections each send their login one byte per second, half of them the
 * StartupMessage itself, half (after a whole StartupMessage and pgloom's password request) the
 * PasswordMessage. Each must be closed by {@code client_login_timeout} with PgBouncer's
 * ErrorResponse, without ever holding a pool resource: no server connection is opened for them,
 * nobody waits in the pool, and their {@code max_client_conn} slots are free again afterwards.
 * The writers see nothing: no error, every acknowledged row in the table exactly once.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultSlowLorisIT {

    private static final String PG_DB = "fault_slow_loris";
    private static final String DB = "loris";
    private static final int WRITERS = 4;
    private static final int LORISES = 20;
    private static final int MAX_CLIENT_CONN = WRITERS + LORISES + 2;
    private static final int POOL_SIZE = 4;
    private static final Duration LOGIN_TIMEOUT = Duration.ofSeconds(3);
    /** One byte per this long; also how long a loris waits for pgloom's answer before the next byte. */
    private static final Duration DRIP = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static PgCluster pg;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, PG_DB);
    }

    /** What one slow-loris connection saw. */
    private record Loris(int id, boolean inPassword, int bytesSent, Duration closedAfter, List<RawPg.Message> got,
            String end) {

        @Override
        public String toString() {
            return "loris " + id + (inPassword ? " (password)" : " (startup)") + ": sent " + bytesSent
                    + " bytes, closed after " + closedAfter.toMillis() + " ms, got " + got + ", " + end;
        }
    }

    @Test
    void slowLoginsAreClosedByClientLoginTimeoutHoldingNothing() throws Exception {
        try (Connection direct = pg.connect(PG_DB, "app", "apppass")) {
            NumberedRows.createTable(direct, "loris_rows");
        }
        try (PgloomProcess pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", POOL_SIZE)
                .set("max_client_conn", MAX_CLIENT_CONN)
                .set("client_login_timeout", "3s")
                .set("auth_type", "md5")
                .database(DB, pg, PG_DB)
                .user("app", "apppass")
                .start();
                Connection admin = Sql.admin(pg);
                NumberedRows rows = NumberedRows.start("loris_rows", WRITERS, () -> connect(pgloom));
                ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            rows.awaitProgress("before the slow logins", new long[WRITERS], WAIT);
            long mark = pgloom.logSize();
            long[] before = rows.snapshot();
            long start = System.nanoTime();
            List<Future<Loris>> lorises = new ArrayList<>();
            for (int i = 0; i < LORISES; i++) {
                int id = i;
                lorises.add(threads.submit(() -> loris(pgloom, id, id % 2 == 1)));
            }

            // While they drip: a normal login still works, nobody waits in the pool, and
            // PostgreSQL sees no more backends than the pool's size.
            Wait.until("the slow logins to be under way", WAIT,
                    () -> System.nanoTime() - start > LOGIN_TIMEOUT.dividedBy(2).toNanos());
            try (Connection c = connect(pgloom)) {
                assertThat(Sql.value(c, "select 'in during the slow logins'")).isEqualTo("in during the slow logins");
            }
            assertThat(ShowPools.count(pgloom, DB, "app", "cl_waiting")).as("clients waiting in the pool").isZero();
            assertThat(backends(admin)).as("PostgreSQL backends of the pool").isLessThanOrEqualTo(POOL_SIZE);

            List<Loris> seen = new ArrayList<>();
            for (Future<Loris> f : lorises) {
                seen.add(f.get(60, TimeUnit.SECONDS));
            }
            System.out.println("slow-loris logins, client_login_timeout " + LOGIN_TIMEOUT.toSeconds() + "s:\n  "
                    + String.join("\n  ", seen.stream().map(Object::toString).toList()));
            assertThat(seen).allSatisfy(l -> {
                assertThat(l.closedAfter()).as("%s", l).isGreaterThanOrEqualTo(LOGIN_TIMEOUT.minusMillis(100))
                        .isLessThan(LOGIN_TIMEOUT.plusSeconds(3));
                assertThat(l.got()).as("%s", l).anySatisfy(m -> {
                    assertThat(m.tag()).isEqualTo('E');
                    assertThat(m.sqlState()).isEqualTo("08P01");
                    assertThat(m.errorMessage()).isEqualTo("client_login_timeout");
                });
                assertThat(l.got()).as("nothing but the password request and the error: %s", l)
                        .allSatisfy(m -> assertThat(m.tag()).isIn('R', 'E'));
            });
            assertThat(rows.everyClientProgressedSince(before)).as("every writer committed during the slow logins")
                    .isTrue();
            Wait.until("a log line for every slow login closed", WAIT, () -> pgloom.logSince(mark).lines()
                    .filter(l -> l.contains("closing because: client_login_timeout")).count() == LORISES,
                    () -> pgloom.logSince(mark));
            assertThat(backends(admin)).as("PostgreSQL backends of the pool").isLessThanOrEqualTo(POOL_SIZE);

            // Their max_client_conn slots are free again: everyone but the writers fits in.
            List<Connection> more = new ArrayList<>();
            try {
                for (int i = 0; i < MAX_CLIENT_CONN - WRITERS; i++) {
                    more.add(connect(pgloom));
                }
                assertThat(Sql.value(more.getLast(), "select 'slot " + more.size() + "'"))
                        .isEqualTo("slot " + more.size());
            } finally {
                for (Connection c : more) {
                    c.close();
                }
            }
            rows.awaitProgress("after the slow logins", rows.snapshot(), WAIT);
            rows.stop(WAIT);
            assertThat(rows.failures()).as("errors the writers got").isEmpty();
            try (Connection d = pg.connect(PG_DB, "app", "apppass")) {
                rows.verify(d);
            }
            assertThat(pgloom.log()).doesNotContain("Exception in thread").doesNotContain(": unexpected ");
        }
    }

    /**
     * One slow login: sends its bytes one at a time, each after waiting up to {@link #DRIP} for
     * pgloom to answer; returns once pgloom closed the connection.
     */
    private static Loris loris(PgloomProcess pgloom, int id, boolean inPassword) throws IOException {
        byte[] startup = RawPg.startupPacket(Map.of("user", "app", "database", DB));
        byte[] password = RawPg.message('p', RawPg.cstring("md5" + "0".repeat(32)));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", pgloom.port()), 5000);
            s.setTcpNoDelay(true);
            long start = System.nanoTime();
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            RawPg raw = RawPg.over(s);
            List<RawPg.Message> got = new ArrayList<>();
            int sent = 0;
            byte[] drip = startup;
            if (inPassword) {
                out.write(startup);
                out.flush();
                sent = startup.length;
                s.setSoTimeout(10_000);
                RawPg.Message ask = raw.read();
                got.add(ask);
                assertThat(ask.tag()).as("pgloom's password request").isEqualTo('R');
                drip = password;
            }
            s.setSoTimeout((int) DRIP.toMillis());
            String end = null;
            for (int i = 0; end == null; i++) {
                if (i < drip.length) {
                    try {
                        out.write(drip[i]);
                        out.flush();
                        sent++;
                    } catch (IOException e) {
                        end = "write failed: " + e.getMessage();
                        break;
                    }
                }
                // Waits for pgloom up to DRIP: this is the one-byte-per-second pace.
                try {
                    int b = in.read();
                    if (b < 0) {
                        end = "EOF";
                    } else {
                        int len = ByteBuffer.wrap(in.readNBytes(4)).getInt();
                        byte[] body = in.readNBytes(len - 4);
                        got.add(new RawPg.Message((char) b, body));
                    }
                } catch (SocketTimeoutException e) {
                    // pgloom is still waiting for the rest: next byte
                } catch (IOException e) {
                    end = "read failed: " + e.getMessage();
                }
            }
            return new Loris(id, inPassword, sent, Duration.ofNanos(System.nanoTime() - start), got, end);
        }
    }

    private static int backends(Connection admin) {
        try {
            return Integer.parseInt(Sql.value(admin, "select count(*) from pg_stat_activity where datname = '"
                    + PG_DB + "' and backend_type = 'client backend'"));
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    private static Connection connect(PgloomProcess pgloom) throws SQLException {
        return Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0&socketTimeout=30&connectTimeout=10");
    }
}
