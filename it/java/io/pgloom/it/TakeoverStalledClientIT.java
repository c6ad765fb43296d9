package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One client stalled in the middle of a message must not cost the other clients their work. While
 * a client has sent only the first bytes of a Query, SUSPEND cannot bring it to a message boundary;
 * after {@code suspend_timeout} the old process may give up on that client, but a well-behaved
 * client sitting in an open transaction on its server must still be handed over with that
 * transaction (PgBouncer, at suspend_timeout, disconnects only the sockets that are not at a
 * boundary and then suspends the rest). The stalled client may be carried over with its partial
 * message or closed with {@code suspend_timeout}; either is accepted.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverStalledClientIT {

    private static final String DB = "takeover_stalled";

    private static PgCluster pg;
    private PgloomProcess current;

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
        if (current != null) {
            current.close();
        }
    }

    @Test
    void aClientStalledMidMessageDoesNotAbortAnotherClientsTransaction() throws Exception {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("suspend_timeout", 2)
                .set("auth_type", "trust")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        try (Connection c = Sql.connect(current, DB, "app", "apppass", "prepareThreshold=0");
                RawPg stalled = RawPg.login(current, DB, "app")) {
            c.setAutoCommit(false);
            Sql.exec(c, "insert into kept values (1)");
            String backend = Sql.value(c, "select pg_backend_pid()");
            byte[] query = RawPg.query("select 'the rest came later'");
            stalled.send(Arrays.copyOfRange(query, 0, 3));

            PgloomProcess old = current;
            Takeovers.Result r = Takeovers.takeOver(old);
            current = r.successor();
            System.out.println("takeover with a client stalled mid-message: " + r);
            String what = "the open transaction's backend after the takeover\n---- old process ----\n"
                    + Takeovers.suspendLines(old);

            assertThat(valueOrError(c, "select pg_backend_pid()")).as(what).isEqualTo(backend);
            Sql.exec(c, "insert into kept values (2)");
            c.commit();

            // The stalled client: carried over (its query completes) or closed; never left hanging.
            String outcome;
            try {
                stalled.send(Arrays.copyOfRange(query, 3, query.length));
                List<RawPg.Message> answer = stalled.readUntil('Z');
                outcome = "answered: " + answer;
            } catch (EOFException | SocketException e) {
                outcome = "closed: " + e.getMessage();
            } catch (IOException e) {
                outcome = "closed: " + e;
            }
            System.out.println("the stalled client was " + outcome);
        }
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            assertThat(Sql.value(c, "select string_agg(id::text, ',' order by id) from kept")).isEqualTo("1,2");
        }
    }

    /** The value, or the error's SQLSTATE and message, so that the assertion shows what happened. */
    private static String valueOrError(Connection c, String sql) {
        try {
            return Sql.value(c, sql);
        } catch (SQLException e) {
            return "ERROR " + e.getSQLState() + ": " + e.getMessage();
        }
    }
}
