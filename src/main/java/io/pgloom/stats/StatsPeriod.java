package io.pgloom.stats;

import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * PgBouncer's {@code stats_period} window: every period it snapshots the totals of every pool,
 * keeps what each pool did during the period just ended (for the {@code avg_*} columns of SHOW
 * STATS, STATS_AVERAGES and TOTALS), and, when {@code log_stats} is on, logs the
 * {@code stats: ...} line summed over all pools. Averages are computed from summed deltas (never
 * by averaging averages), so a database's average query time is its total query time over its
 * total query count for the period.
 *
 * <p>Thread contract: {@link #tick} runs on the janitor's thread only (about three times a
 * second; it checks the monotonic clock against the period itself); {@link #averages} may be
 * called from any thread and reads the last completed period through one volatile field.
 *
 * @param <K> what identifies a pool (PoolKey in the pooler, plain strings in tests)
 */
public final class StatsPeriod<K> {
    private final Supplier<Map<K, StatsSnapshot>> totals;
    private final LongSupplier nanos;
    private final LongSupplier periodNanos;
    private final BooleanSupplier logStats;
    private final Consumer<String> log;

    // janitor thread only
    private boolean started;
    private long stampNanos;
    private Map<K, StatsSnapshot> previous = Map.of();

    private volatile Period<K> last = new Period<>(Map.of(), 0);

    /** What the pools did during one completed period, and how long it was. */
    private record Period<K>(Map<K, StatsSnapshot> deltas, long micros) {
    }

    /**
     * @param totals the current totals of every pool
     * @param nanos the monotonic clock
     * @param periodNanos stats_period, read at every tick (RELOAD may change it)
     * @param logStats log_stats, read at the end of every period
     * @param log where the {@code stats: ...} line goes
     */
    public StatsPeriod(Supplier<Map<K, StatsSnapshot>> totals, LongSupplier nanos, LongSupplier periodNanos,
            BooleanSupplier logStats, Consumer<String> log) {
        this.totals = totals;
        this.nanos = nanos;
        this.periodNanos = periodNanos;
        this.logStats = logStats;
        this.log = log;
    }

    /**
     * Janitor job: closes the period when stats_period has elapsed since the last one ended. The
     * first call only starts the first period.
     *
     * @return whether a period was closed
     */
    public boolean tick() {
        long now = nanos.getAsLong();
        if (!started) {
            started = true;
            stampNanos = now;
            previous = totals.get();
            return false;
        }
        long elapsed = now - stampNanos;
        if (elapsed < Math.max(1, periodNanos.getAsLong())) {
            return false;
        }
        Map<K, StatsSnapshot> current = totals.get();
        Map<K, StatsSnapshot> deltas = new HashMap<>();
        StatsSnapshot sum = StatsSnapshot.ZERO;
        for (Map.Entry<K, StatsSnapshot> e : current.entrySet()) {
            StatsSnapshot d = e.getValue().minus(previous.getOrDefault(e.getKey(), StatsSnapshot.ZERO));
            deltas.put(e.getKey(), d);
            sum = sum.plus(d);
        }
        long micros = elapsed / 1000;
        last = new Period<>(Map.copyOf(deltas), micros);
        previous = current;
        stampNanos = now;
        if (logStats.getAsBoolean()) {
            log.accept(logLine(sum.averages(micros)));
        }
        return true;
    }

    /** The averages over the last completed period of the pools {@code which} selects (zeros before the first). */
    public StatsSnapshot.Averages averages(Predicate<? super K> which) {
        Period<K> p = last;
        if (p.micros() <= 0) {
            return StatsSnapshot.Averages.ZERO;
        }
        StatsSnapshot sum = StatsSnapshot.ZERO;
        for (Map.Entry<K, StatsSnapshot> e : p.deltas().entrySet()) {
            if (which.test(e.getKey())) {
                sum = sum.plus(e.getValue());
            }
        }
        return sum.averages(p.micros());
    }

    /** PgBouncer 1.25's periodic line (without the master-only client logins/s). */
    public static String logLine(StatsSnapshot.Averages a) {
        return "stats: " + a.xactCount() + " xacts/s, " + a.queryCount() + " queries/s, " + a.clientParses()
                + " client parses/s, " + a.serverParses() + " server parses/s, " + a.binds() + " binds/s, in "
                + a.received() + " B/s, out " + a.sent() + " B/s, xact " + a.xactTimeMicros() + " us, query "
                + a.queryTimeMicros() + " us, wait " + a.waitTimeMicros() + " us";
    }
}
