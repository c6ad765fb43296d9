package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code suspend_timeout} when the successor is PgBouncer, which can take over connections only
 * at message boundaries: a fake successor (a raw console client whose application_name is not
 * pgloom's) sends SUSPEND and SHOW FDS, then goes away, so the old process resumes. What cannot
 * reach a boundary within the timeout is closed with {@code suspend_timeout}, and only that: a
 * client stalled mid-message costs another client neither its server nor its transaction; a
 * server blocked on a client that does not read is closed together with that client, which gets
 * an end instead of waiting forever for the rest of its result.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SuspendTimeoutIT {

    private static final String DB = "suspend_limits";
    private static final Duration CONSOLE_TIMEOUT = Duration.ofSeconds(60);

    private static PgCluster pg;
    private PgloomProcess pgloom;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            Sql.exec(c, "create table kept (id int)");
        }
    }

    @AfterEach
    void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private PgloomProcess start() {
        return PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("suspend_timeout", 2)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @Test
    void onlyTheClientStalledMidMessageIsClosed() throws Exception {
        pgloom = start();
        try (Connection c = Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0");
                RawPg stalled = RawPg.login(pgloom, DB, "app")) {
            Sql.exec(c, "truncate kept");
            c.setAutoCommit(false);
            Sql.exec(c, "insert into kept values (1)");
            String backend = Sql.value(c, "select pg_backend_pid()");
            byte[] query = RawPg.query("select 'never completed'");
            stalled.send(Arrays.copyOfRange(query, 0, 3));
            long mark = pgloom.logSize();

            List<Map<String, String>> fds;
            try (UnixConsole console = UnixConsole.login(pgloom, CONSOLE_TIMEOUT)) {
                long start = System.nanoTime();
                List<RawPg.Message> answer = console.query("SUSPEND;");
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(UnixConsole.commandTag(answer)).as("SUSPEND's answer: %s", answer).isEqualTo("SUSPEND");
                System.out.println("SUSPEND with a client stalled mid-message took " + millis + " ms");
                fds = rows(console.query("SHOW FDS;"));
            }
            String log = pgloom.logSince(mark);
            assertThat(log).as("the stalled client's close").containsPattern(
                    "C-0x\\p{XDigit}+: " + DB + "/app" + stalled.logAddress() + "closing because: suspend_timeout");
            assertThat(log.split("closing because: suspend_timeout", -1)).as("closes with suspend_timeout:\n%s", log)
                    .hasSize(2);
            assertThat(fds).as("SHOW FDS client rows").filteredOn(r -> "client".equals(r.get("task"))).hasSize(1)
                    .allSatisfy(r -> assertThat(r.get("link")).isNotEqualTo("0"));
            assertThat(fds).as("SHOW FDS server rows").filteredOn(r -> "server".equals(r.get("task")))
                    .anySatisfy(r -> assertThat(r.get("link")).isNotEqualTo("0"));

            pgloom.waitForLogAfter(mark, "admin disappeared when suspended, doing RESUME", CONSOLE_TIMEOUT);
            assertThat(Sql.value(c, "select pg_backend_pid()")).as("the open transaction's backend after RESUME")
                    .isEqualTo(backend);
            Sql.exec(c, "insert into kept values (2)");
            c.commit();

            List<RawPg.Message> last = stalled.readUntilClosed();
            assertThat(last).as("what the stalled client got").anySatisfy(m -> {
                assertThat(m.tag()).isEqualTo('E');
                assertThat(m.errorMessage()).isEqualTo("suspend_timeout");
            });
        }
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            assertThat(Sql.value(c, "select string_agg(id::text, ',' order by id) from kept")).isEqualTo("1,2");
        }
    }

    @Test
    void aServerBlockedOnItsClientIsClosedWithThatClient() throws Exception {
        pgloom = start();
        RawPg reader = RawPg.connect(pgloom, Duration.ofSeconds(10));
        try (reader) {
            reader.send(RawPg.startupPacket(Map.of("user", "app", "database", DB)));
            reader.readUntil('Z');
            reader.send(RawPg.query("select g, repeat('x', 100) from generate_series(1, 500000) g"));
            int rows = 0;
            while (rows < 1_000) {
                if (reader.read().tag() == 'D') {
                    rows++;
                }
            }
            long mark = pgloom.logSize();
            List<Map<String, String>> fds;
            try (UnixConsole console = UnixConsole.login(pgloom, CONSOLE_TIMEOUT)) {
                List<RawPg.Message> answer = console.query("SUSPEND;");
                assertThat(UnixConsole.commandTag(answer)).as("SUSPEND's answer: %s", answer).isEqualTo("SUSPEND");
                fds = rows(console.query("SHOW FDS;"));
            }
            String log = pgloom.logSince(mark);
            assertThat(log).as("closes during SUSPEND").containsPattern("S-0x\\p{XDigit}+: " + DB
                    + "/app@.* closing because: suspend_timeout")
                    .contains(reader.logAddress() + "closing because: suspend_timeout");
            assertThat(fds).as("SHOW FDS rows").noneMatch(r -> "client".equals(r.get("task")));

            // The client reads what was already on its way, then the connection ends: it never hangs.
            String end = null;
            while (end == null) {
                try {
                    RawPg.Message m = reader.read();
                    if (m.tag() != 'D') {
                        end = "message " + m;
                    }
                } catch (SocketTimeoutException e) {
                    end = "HUNG";
                } catch (EOFException | SocketException e) {
                    end = "closed";
                } catch (IOException e) {
                    end = "closed: " + e;
                }
            }
            assertThat(end).as("how the result ended").startsWith("closed");
        }
        pgloom.waitForLog("admin disappeared when suspended, doing RESUME", CONSOLE_TIMEOUT);
        try (Connection c = Sql.connect(pgloom, DB, "app", "apppass", "prepareThreshold=0")) {
            assertThat(Sql.value(c, "select 'after'")).isEqualTo("after");
        }
    }

    /** The DataRows of a result as column name to text value (null for NULL). */
    private static List<Map<String, String>> rows(List<RawPg.Message> result) {
        List<String> names = new ArrayList<>();
        List<Map<String, String>> rows = new ArrayList<>();
        for (RawPg.Message m : result) {
            ByteBuffer b = ByteBuffer.wrap(m.body());
            if (m.tag() == 'T') {
                int n = b.getShort();
                for (int i = 0; i < n; i++) {
                    int start = b.position();
                    while (b.get() != 0) {
                        // to the end of the name
                    }
                    names.add(new String(m.body(), start, b.position() - start - 1, StandardCharsets.UTF_8));
                    b.position(b.position() + 18);
                }
            } else if (m.tag() == 'D') {
                int n = b.getShort();
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 0; i < n; i++) {
                    int len = b.getInt();
                    String v = len < 0 ? null : new String(m.body(), b.position(), len, StandardCharsets.UTF_8);
                    if (len > 0) {
                        b.position(b.position() + len);
                    }
                    row.put(names.get(i), v);
                }
                rows.add(row);
            }
        }
        return rows;
    }
}
