package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tracked parameters travel with their client across a takeover: application_name, TimeZone,
 * DateStyle and an extra tracked parameter (IntervalStyle, from {@code track_extra_parameters}).
 * Two clients with different values share one server in transaction pooling, so each query of
 * one lands on a server the other has just set up; after the takeover, and again after RECONNECT
 * has replaced the server by a fresh one, each client still sees its own values, and a client
 * that connects after the takeover sees the defaults.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverParamsIT {

    private static final String DB = "takeover_params";

    /** The values a client sets and then reads back, in the order of {@link #READ}. */
    record Settings(String applicationName, String timeZone, String dateStyle, String intervalStyle) {
    }

    private static final String READ = "select current_setting('application_name'), current_setting('TimeZone'),"
            + " current_setting('DateStyle'), current_setting('IntervalStyle')";

    // pgjdbc insists on a DateStyle starting with ISO, so the two clients differ in the field order.
    private static final Settings FIRST = new Settings("takeover-first", "America/New_York", "ISO, DMY", "iso_8601");
    private static final Settings SECOND = new Settings("takeover-second", "Asia/Tokyo", "ISO, YMD", "sql_standard");

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
    void trackedParametersSurviveTheTakeover() throws SQLException {
        current = Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 1)
                .set("track_extra_parameters", "IntervalStyle")
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
        try (Connection first = connect(); Connection second = connect()) {
            apply(first, FIRST);
            apply(second, SECOND);
            Settings defaults;
            try (Connection probe = connect()) {
                defaults = read(probe);
            }
            assertThat(defaults).as("a fresh client's values differ from both").isNotEqualTo(FIRST).isNotEqualTo(SECOND);
            for (int round = 0; round < 2; round++) {
                assertThat(read(first)).as("first client, before the takeover").isEqualTo(FIRST);
                assertThat(read(second)).as("second client, before the takeover").isEqualTo(SECOND);
            }

            Takeovers.Result r = Takeovers.takeOver(current);
            current = r.successor();
            System.out.println("takeover with tracked parameters: " + r);

            for (int round = 0; round < 2; round++) {
                assertThat(read(first)).as("first client, after the takeover (round %d)", round).isEqualTo(FIRST);
                assertThat(read(second)).as("second client, after the takeover (round %d)", round).isEqualTo(SECOND);
                assertThat(show(first, "IntervalStyle")).isEqualTo(FIRST.intervalStyle());
                assertThat(show(second, "TimeZone")).isEqualTo(SECOND.timeZone());
            }
            try (Connection third = connect()) {
                assertThat(read(third)).as("a client connected after the takeover").isEqualTo(defaults);
                assertThat(read(first)).as("first client after the new one").isEqualTo(FIRST);
            }

            // A fresh server connection, which has never seen either client's SETs.
            String pidBefore = Sql.value(first, "select pg_backend_pid()");
            Psql.Result reconnect = Takeovers.console(current).command("RECONNECT " + DB);
            assertThat(reconnect.ok()).as(reconnect.toString()).isTrue();
            Wait.until("RECONNECT to replace the server", java.time.Duration.ofSeconds(30),
                    () -> !pidBefore.equals(valueUnchecked(second, "select pg_backend_pid()")));
            assertThat(read(first)).as("first client on a fresh server").isEqualTo(FIRST);
            assertThat(read(second)).as("second client on a fresh server").isEqualTo(SECOND);
        }
    }

    private Connection connect() throws SQLException {
        return Sql.connect(current, DB, "app", "apppass", "prepareThreshold=0");
    }

    private static void apply(Connection c, Settings s) throws SQLException {
        Sql.exec(c, "set application_name = '" + s.applicationName() + "'");
        Sql.exec(c, "set TimeZone = '" + s.timeZone() + "'");
        Sql.exec(c, "set DateStyle = '" + s.dateStyle() + "'");
        Sql.exec(c, "set IntervalStyle = '" + s.intervalStyle() + "'");
    }

    private static Settings read(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(READ)) {
            assertThat(rs.next()).isTrue();
            return new Settings(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4));
        }
    }

    private static String show(Connection c, String parameter) throws SQLException {
        return Sql.value(c, "show " + parameter);
    }

    private static String valueUnchecked(Connection c, String sql) {
        try {
            return Sql.value(c, sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + " failed", e);
        }
    }
}
