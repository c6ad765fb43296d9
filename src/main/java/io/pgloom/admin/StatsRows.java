package io.pgloom.admin;

import io.pgloom.pool.PoolKey;
import io.pgloom.stats.StatsPeriod;
import io.pgloom.stats.StatsSnapshot;
import java.util.List;
import java.util.Map;

/**
 * SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS with PgBouncer master's columns (those of
 * 1.25 plus {@code client_login_count}): one row per database that has pools (the admin
 * console's {@code pgbouncer} included), summed over its pools; totals are live, averages are
 * those of the last completed {@code stats_period}. Every figure is numeric, as PgBouncer sends
 * them since 1.12. Confined to the console thread.
 */
final class StatsRows {
    static final String[] STATS_COLUMNS = {"database", "total_server_assignment_count", "total_xact_count",
        "total_query_count", "total_received", "total_sent", "total_xact_time", "total_query_time", "total_wait_time",
        "total_client_parse_count", "total_server_parse_count", "total_bind_count", "total_client_login_count",
        "avg_server_assignment_count", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time",
        "avg_query_time", "avg_wait_time", "avg_client_parse_count", "avg_server_parse_count", "avg_bind_count",
        "avg_client_login_count", "total_plan_recovery_count"};
    static final String[] TOTALS_COLUMNS = {"database", "server_assignment_count", "xact_count", "query_count",
        "bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time", "client_parse_count",
        "server_parse_count", "bind_count", "client_login_count"};
    static final String[] AVERAGES_COLUMNS = {"database", "server_assignment_count", "xact_count", "query_count",
        "bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time", "avg_client_parse_count",
        "avg_server_parse_count", "avg_bind_count", "avg_client_login_count"};
    /** SHOW TOTALS row names, without their total_/avg_ prefix. */
    static final List<String> TOTALS_NAMES = List.of("server_assignment_count", "xact_count", "query_count",
            "client_bytes", "server_bytes", "xact_time", "query_time", "wait_time", "ps_client_parse_count",
            "ps_server_parse_count", "ps_bind_count", "client_login_count");

    private final StatsPeriod<PoolKey> period;

    StatsRows(StatsPeriod<PoolKey> period) {
        this.period = period;
    }

    ResultSet stats(PoolerView view) {
        ResultSet rs = new ResultSet("s" + "N".repeat(STATS_COLUMNS.length - 1), STATS_COLUMNS);
        for (Map.Entry<String, List<PoolerView.Group>> db : view.byDatabase().entrySet()) {
            long[] t = values(totals(db.getValue()));
            long[] a = values(averages(db.getKey()));
            Object[] row = new Object[STATS_COLUMNS.length];
            row[0] = db.getKey();
            for (int i = 0; i < t.length; i++) {
                row[1 + i] = t[i];
                row[1 + t.length + i] = a[i];
            }
            row[row.length - 1] = totals(db.getValue()).planRecoveries();
            rs.row(row);
        }
        return rs;
    }

    ResultSet totals(PoolerView view) {
        ResultSet rs = new ResultSet("s" + "N".repeat(TOTALS_COLUMNS.length - 1), TOTALS_COLUMNS);
        for (Map.Entry<String, List<PoolerView.Group>> db : view.byDatabase().entrySet()) {
            rs.row(withName(db.getKey(), values(totals(db.getValue()))));
        }
        return rs;
    }

    ResultSet averages(PoolerView view) {
        ResultSet rs = new ResultSet("s" + "N".repeat(AVERAGES_COLUMNS.length - 1), AVERAGES_COLUMNS);
        for (String db : view.byDatabase().keySet()) {
            rs.row(withName(db, values(averages(db))));
        }
        return rs;
    }

    /** SHOW TOTALS: every figure over all databases, one row each, totals then averages. */
    ResultSet grandTotals(PoolerView view) {
        ResultSet rs = new ResultSet("sN", "name", "value");
        long[] t = values(totals(view.groups()));
        long[] a = values(period.averages(k -> true));
        for (int i = 0; i < t.length; i++) {
            rs.row("total_" + TOTALS_NAMES.get(i), t[i]);
        }
        for (int i = 0; i < a.length; i++) {
            rs.row("avg_" + TOTALS_NAMES.get(i), a[i]);
        }
        rs.row("total_plan_recovery_count", totals(view.groups()).planRecoveries());
        return rs;
    }

    private StatsSnapshot.Averages averages(String database) {
        return period.averages(k -> k.database().equals(database));
    }

    static StatsSnapshot totals(List<PoolerView.Group> groups) {
        StatsSnapshot sum = StatsSnapshot.ZERO;
        for (PoolerView.Group g : groups) {
            sum = sum.plus(g.totals());
        }
        return sum;
    }

    private static Object[] withName(String name, long[] values) {
        Object[] row = new Object[values.length + 1];
        row[0] = name;
        for (int i = 0; i < values.length; i++) {
            row[i + 1] = values[i];
        }
        return row;
    }

    /** The figures in column order. */
    static long[] values(StatsSnapshot s) {
        return new long[] {s.serverAssignments(), s.xactCount(), s.queryCount(), s.received(), s.sent(),
            s.xactTimeMicros(), s.queryTimeMicros(), s.waitTimeMicros(), s.clientParses(), s.serverParses(), s.binds(),
            s.clientLogins()};
    }

    static long[] values(StatsSnapshot.Averages a) {
        return new long[] {a.serverAssignments(), a.xactCount(), a.queryCount(), a.received(), a.sent(),
            a.xactTimeMicros(), a.queryTimeMicros(), a.waitTimeMicros(), a.clientParses(), a.serverParses(), a.binds(),
            a.clientLogins()};
    }
}
