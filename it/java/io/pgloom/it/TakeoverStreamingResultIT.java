package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A big result in flight across a takeover: a client asks for 500,000 rows (about 55 MB), reads
 * the first ones, then stops reading (as a client busy with what it got does), so every buffer on
 * the way fills and pgloom's server connection is blocked writing to it. The takeover happens
 * meanwhile; then the client reads on and must get every row, in order, then CommandComplete and
 * ReadyForQuery, and then run another query. At the very least it must never be left waiting
 * forever: each read is bounded, and a silence of 10 s fails the test as a hang.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverStreamingResultIT {

    private static final String DB = "takeover_stream";
    private static final int ROWS = 500_000;
    private static final int READ_BEFORE_PAUSE = 1_000;
    /** RawPg.login's read timeout: a silence this long after the takeover is a hang. */
    private static final Duration SILENCE = Duration.ofSeconds(10);

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

    @Test
    void aResultStreamingAcrossTheTakeoverArrivesWhole() throws Exception {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("suspend_timeout", 5)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        try (RawPg client = RawPg.login(current, DB, "app")) {
            client.send(RawPg.query("select g, repeat('x', 100) from generate_series(1, " + ROWS + ") g"));
            Progress progress = new Progress();
            readRows(client, progress, READ_BEFORE_PAUSE);
            assertThat(progress.rows).as("rows read before pausing").isEqualTo(READ_BEFORE_PAUSE);

            // The client reads nothing while the takeover happens.
            PgloomProcess old = current;
            Takeovers.Result r = Takeovers.takeOver(old);
            current = r.successor();
            System.out.println("takeover with a result streaming: " + r + "\n---- old process ----\n"
                    + Takeovers.suspendLines(old));

            readRows(client, progress, Integer.MAX_VALUE);
            assertThat(progress.rows).as("rows received (then: %s)", progress.end).isEqualTo(ROWS);
            assertThat(progress.end).as("how the result ended").isEqualTo("C(SELECT " + ROWS + ")");
            assertThat(client.read().tag()).as("ReadyForQuery after the result").isEqualTo('Z');

            client.send(RawPg.query("select 'next query'"));
            List<RawPg.Message> next = client.readUntil('Z');
            assertThat(next).as("the next query").anyMatch(m -> m.tag() == 'D').noneMatch(m -> m.tag() == 'E');
        }
    }

    /** What a client has read of the result: rows so far (checked to be 1, 2, 3, ...) and how it ended. */
    private static final class Progress {
        int rows;
        String end;
    }

    /**
     * Reads DataRows until {@code limit} rows were read or the result ends (CommandComplete, an
     * ErrorResponse, EOF or a silence of {@link #SILENCE}); records how it ended in {@code progress.end}.
     */
    private static void readRows(RawPg client, Progress progress, int limit) throws IOException {
        while (progress.rows < limit) {
            RawPg.Message m;
            try {
                m = client.read();
            } catch (SocketTimeoutException e) {
                progress.end = "HUNG: nothing for " + SILENCE.toSeconds() + " s after row " + progress.rows;
                return;
            } catch (IOException e) {
                progress.end = "closed after row " + progress.rows + ": " + e.getMessage();
                return;
            }
            switch (m.tag()) {
                case 'D' -> {
                    int value = Integer.parseInt(column(m.body()));
                    if (value != progress.rows + 1) {
                        progress.end = "out of order: row " + value + " after " + progress.rows;
                        return;
                    }
                    progress.rows++;
                }
                case 'T' -> {
                    // RowDescription
                }
                case 'C' -> {
                    progress.end = "C(" + new String(m.body(), 0, m.body().length - 1, StandardCharsets.UTF_8) + ")";
                    return;
                }
                default -> {
                    progress.end = "unexpected " + m;
                    return;
                }
            }
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
