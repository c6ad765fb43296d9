package io.pgloom.stats;

/** Totals of a {@link PoolStats} at one moment, or their sum over pools. Immutable. */
public record StatsSnapshot(long serverAssignments, long xactCount, long queryCount, long received, long sent,
        long xactTimeMicros, long queryTimeMicros, long waitTimeMicros, long clientParses, long serverParses, long binds,
        long clientLogins, long planRecoveries) {

    public static final StatsSnapshot ZERO = new StatsSnapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** From {@link #values()}; a missing trailing figure (an older process's) counts as zero. */
    public static StatsSnapshot of(long[] v) {
        return new StatsSnapshot(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
                v.length > 12 ? v[12] : 0);
    }

    /** Every figure, in declaration order. */
    public long[] values() {
        return new long[] {serverAssignments, xactCount, queryCount, received, sent, xactTimeMicros, queryTimeMicros,
            waitTimeMicros, clientParses, serverParses, binds, clientLogins, planRecoveries};
    }

    public StatsSnapshot plus(StatsSnapshot o) {
        return new StatsSnapshot(serverAssignments + o.serverAssignments, xactCount + o.xactCount, queryCount + o.queryCount,
                received + o.received, sent + o.sent, xactTimeMicros + o.xactTimeMicros, queryTimeMicros + o.queryTimeMicros,
                waitTimeMicros + o.waitTimeMicros, clientParses + o.clientParses, serverParses + o.serverParses,
                binds + o.binds, clientLogins + o.clientLogins, planRecoveries + o.planRecoveries);
    }

    public StatsSnapshot minus(StatsSnapshot o) {
        return new StatsSnapshot(serverAssignments - o.serverAssignments, xactCount - o.xactCount, queryCount - o.queryCount,
                received - o.received, sent - o.sent, xactTimeMicros - o.xactTimeMicros, queryTimeMicros - o.queryTimeMicros,
                waitTimeMicros - o.waitTimeMicros, clientParses - o.clientParses, serverParses - o.serverParses,
                binds - o.binds, clientLogins - o.clientLogins, planRecoveries - o.planRecoveries);
    }

    /**
     * PgBouncer's averages over a period of {@code micros}: counts and bytes per second, times per
     * query, transaction or assignment.
     */
    public Averages averages(long micros) {
        long d = Math.max(1, micros);
        return new Averages(perSecond(serverAssignments, d), perSecond(xactCount, d), perSecond(queryCount, d),
                perSecond(received, d), perSecond(sent, d), xactCount == 0 ? 0 : xactTimeMicros / xactCount,
                queryCount == 0 ? 0 : queryTimeMicros / queryCount,
                serverAssignments == 0 ? 0 : waitTimeMicros / serverAssignments, perSecond(clientParses, d),
                perSecond(serverParses, d), perSecond(binds, d), perSecond(clientLogins, d));
    }

    private static long perSecond(long v, long micros) {
        return v * 1_000_000L / micros;
    }

    /** Averages as SHOW STATS_AVERAGES shows them. */
    public record Averages(long serverAssignments, long xactCount, long queryCount, long received, long sent,
            long xactTimeMicros, long queryTimeMicros, long waitTimeMicros, long clientParses, long serverParses, long binds,
            long clientLogins) {
        public static final Averages ZERO = new Averages(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}
