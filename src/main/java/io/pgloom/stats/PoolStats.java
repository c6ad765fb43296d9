package io.pgloom.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * PgBouncer's counters for one pool: server assignments, transactions and queries with their
 * total times, bytes each way, time clients waited for a server, prepared-statement counts and
 * logins. Times are microseconds. LongAdders, so the connection threads that add to them never
 * contend. Thread-safe.
 */
public final class PoolStats {
    public final LongAdder serverAssignments = new LongAdder();
    public final LongAdder xactCount = new LongAdder();
    public final LongAdder queryCount = new LongAdder();
    /** Bytes received from clients. */
    public final LongAdder received = new LongAdder();
    /** Bytes received from servers (sent to clients). */
    public final LongAdder sent = new LongAdder();
    public final LongAdder xactTimeMicros = new LongAdder();
    public final LongAdder queryTimeMicros = new LongAdder();
    public final LongAdder waitTimeMicros = new LongAdder();
    public final LongAdder clientParses = new LongAdder();
    public final LongAdder serverParses = new LongAdder();
    public final LongAdder binds = new LongAdder();
    public final LongAdder clientLogins = new LongAdder();
    /** Prepared statements replaced after "cached plan must not change result type" (pgloom only). */
    public final LongAdder planRecoveries = new LongAdder();

    /** A consistent-enough copy of the totals (each counter read once). */
    public StatsSnapshot snapshot() {
        return new StatsSnapshot(serverAssignments.sum(), xactCount.sum(), queryCount.sum(), received.sum(), sent.sum(),
                xactTimeMicros.sum(), queryTimeMicros.sum(), waitTimeMicros.sum(), clientParses.sum(), serverParses.sum(),
                binds.sum(), clientLogins.sum(), planRecoveries.sum());
    }

    /** Adds totals carried over from another process (takeover). */
    public void add(StatsSnapshot s) {
        serverAssignments.add(s.serverAssignments());
        xactCount.add(s.xactCount());
        queryCount.add(s.queryCount());
        received.add(s.received());
        sent.add(s.sent());
        xactTimeMicros.add(s.xactTimeMicros());
        queryTimeMicros.add(s.queryTimeMicros());
        waitTimeMicros.add(s.waitTimeMicros());
        clientParses.add(s.clientParses());
        serverParses.add(s.serverParses());
        binds.add(s.binds());
        clientLogins.add(s.clientLogins());
        planRecoveries.add(s.planRecoveries());
    }
}
