package io.pgloom.it;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What PostgreSQL itself says about its backends ({@code pg_stat_activity}), read on a superuser
 * connection straight to PostgreSQL ({@link Sql#admin}): the ground truth for "pgloom never
 * opens more than N server connections". The admin connection is to database {@code postgres},
 * so counting by database never counts it.
 *
 * <p>Stateless; each call runs one query on the connection it is given.
 */
final class PgActivity {

    private PgActivity() {
    }

    /** Client backends connected to {@code db}, as {@code user} when it is not null. */
    static int backends(Connection admin, String db, String user) {
        String sql = "select count(*) from pg_stat_activity where backend_type = 'client backend' and datname = ?"
                + (user == null ? "" : " and usename = ?");
        try (PreparedStatement ps = admin.prepareStatement(sql)) {
            ps.setString(1, db);
            if (user != null) {
                ps.setString(2, user);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw new AssertionError("counting backends of " + db + " failed", e);
        }
    }

    /** The pids of the client backends connected to {@code db}, as {@code user} when it is not null. */
    static List<Integer> pids(Connection admin, String db, String user) {
        String sql = "select pid from pg_stat_activity where backend_type = 'client backend' and datname = ?"
                + (user == null ? "" : " and usename = ?") + " order by pid";
        try (PreparedStatement ps = admin.prepareStatement(sql)) {
            ps.setString(1, db);
            if (user != null) {
                ps.setString(2, user);
            }
            List<Integer> pids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            return pids;
        } catch (SQLException e) {
            throw new AssertionError("listing backends of " + db + " failed", e);
        }
    }

    /** How many backends are running (state active) a query containing {@code queryPart}. */
    static int running(Connection admin, String queryPart) {
        try (PreparedStatement ps = admin.prepareStatement(
                "select count(*) from pg_stat_activity where state = 'active' and position(? in query) > 0"
                        + " and pid <> pg_backend_pid()")) {
            ps.setString(1, queryPart);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw new AssertionError("looking for running query " + queryPart + " failed", e);
        }
    }

    /**
     * Polls {@link #backends} every {@link Wait#POLL} until {@code work} is done, and returns the
     * most backends seen at once.
     *
     * @throws AssertionError when {@code work} is not done within {@code timeout}
     */
    static int maxWhile(Connection admin, String db, String user, Future<?> work, Duration timeout) {
        AtomicInteger max = new AtomicInteger();
        Wait.until("the work watched on " + db + " to finish", timeout, () -> {
            max.accumulateAndGet(backends(admin, db, user), Math::max);
            return work.isDone();
        }, () -> "most backends seen so far: " + max.get());
        return max.get();
    }
}
