package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Messages larger than pgloom's buffer, caught half way by a takeover. pgloom passes such a
 * message on in pieces as they arrive; SUSPEND stops it in the middle, and the successor goes on
 * with the rest: a client that sent half of a 1 MB query sends the other half to the new process
 * and gets its answer; a client that stopped reading in the middle of an 8 MB row reads the rest
 * of it, unchanged, from the new process.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverLargeMessagesIT {

    private static final String DB = "takeover_large";

    private static PgCluster pg;
    private PgloomProcess current;

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
    }

    @AfterEach
    void stop() {
        if (current != null) {
            current.close();
        }
    }

    private void start() {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @Test
    void aQueryHalfSentBeforeTheTakeoverIsAnsweredAfterIt() throws Exception {
        start();
        try (RawPg client = RawPg.login(current, DB, "app")) {
            String literal = "y".repeat(1 << 20);
            byte[] query = RawPg.query("select length('" + literal + "')");
            int half = query.length / 2;
            client.send(Arrays.copyOfRange(query, 0, half));

            PgloomProcess old = current;
            Takeovers.Result r = Takeovers.takeOver(old);
            current = r.successor();
            System.out.println("takeover with half a query sent: " + r + "\n---- old process ----\n"
                    + Takeovers.suspendLines(old));
            assertThat(r.clients()).as("clients handed over").isEqualTo(1);

            client.send(Arrays.copyOfRange(query, half, query.length));
            List<RawPg.Message> answer = client.readUntil('Z');
            assertThat(answer).as("the answer").noneMatch(m -> m.tag() == 'E');
            assertThat(answer.stream().filter(m -> m.tag() == 'D').map(m -> column(m.body())))
                    .containsExactly(String.valueOf(literal.length()));
        }
    }

    @Test
    void aRowHalfReadBeforeTheTakeoverArrivesWholeAfterIt() throws Exception {
        start();
        int size = 8 << 20;
        try (RawPg client = RawPg.login(current, DB, "app")) {
            client.send(RawPg.query("select repeat('0123456789abcdef', " + size / 16 + ") as big, 'after' as tail"));
            // Read nothing: the row fills every buffer on the way and pgloom is in the middle of it.
            PgloomProcess old = current;
            Takeovers.Result r = Takeovers.takeOver(old);
            current = r.successor();
            System.out.println("takeover with a row half passed on: " + r + "\n---- old process ----\n"
                    + Takeovers.suspendLines(old));
            assertThat(r.servers()).as("servers handed over").isGreaterThanOrEqualTo(1);

            List<RawPg.Message> answer = client.readUntil('Z');
            assertThat(answer).as("the answer").noneMatch(m -> m.tag() == 'E');
            RawPg.Message row = answer.stream().filter(m -> m.tag() == 'D').findFirst().orElseThrow();
            ByteBuffer b = ByteBuffer.wrap(row.body());
            assertThat(b.getShort()).isEqualTo((short) 2);
            int len = b.getInt();
            assertThat(len).isEqualTo(size);
            byte[] big = new byte[len];
            b.get(big);
            byte[] pattern = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < len; i += 16) {
                if (!Arrays.equals(big, i, i + 16, pattern, 0, 16)) {
                    throw new AssertionError("the row differs at byte " + i);
                }
            }
            int tailLen = b.getInt();
            assertThat(new String(row.body(), b.position(), tailLen, StandardCharsets.UTF_8)).isEqualTo("after");

            client.send(RawPg.query("select 'next'"));
            assertThat(client.readUntil('Z')).anyMatch(m -> m.tag() == 'D').noneMatch(m -> m.tag() == 'E');
        }
    }

    /** The first column of a DataRow, as text. */
    private static String column(byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(body);
        b.getShort();
        int len = b.getInt();
        return new String(body, 6, len, StandardCharsets.UTF_8);
    }
}
