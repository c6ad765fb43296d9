package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Small pgjdbc helpers shared by the integration tests: one-value queries, connections through
 * pgloom with extra URL parameters, and catching the {@link SQLException} a call must throw.
 *
 * <p>Stateless; safe to call from any thread.
 */
final class Sql {

    /** A call that is expected to fail with an {@link SQLException}. */
    @FunctionalInterface
    interface SqlCall {
        void run() throws Exception;
    }

    private Sql() {
    }

    /** The first column of the first row of {@code sql}, as text (null for SQL NULL). */
    static String value(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).as("a row from: %s", sql).isTrue();
            return rs.getString(1);
        }
    }

    /** Runs {@code sql} (no result expected). */
    static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** A pgjdbc connection through pgloom with extra URL parameters ({@code "preferQueryMode=simple"}). */
    static Connection connect(PgloomProcess pgloom, String db, String user, String password, String extraParams)
            throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        String url = extraParams.isEmpty() ? pgloom.jdbcUrl(db) : pgloom.jdbcUrl(db, extraParams);
        return Drivers.PGJDBC.connect(url, props);
    }

    /** The superuser connection straight to PostgreSQL, for setup and for watching the backends. */
    static Connection admin(PgCluster pg) throws SQLException {
        return pg.connect("postgres", pg.superuser(), pg.password());
    }

    /**
     * Runs {@code call}, which must throw an {@link SQLException}, and returns it (a connection
     * the call opened by mistake is the caller's leak, but then the test fails anyway).
     */
    static SQLException error(SqlCall call) {
        try {
            call.run();
        } catch (SQLException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected an SQLException, got " + e, e);
        }
        throw new AssertionError("expected an SQLException, but the call succeeded");
    }

    /** Creates (or re-creates) database {@code name} owned by role {@code app}. */
    static void recreateDatabase(PgCluster pg, String name) throws SQLException {
        try (Connection c = admin(pg); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            s.execute("CREATE DATABASE " + name + " OWNER app");
        }
    }
}
