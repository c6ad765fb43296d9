package io.pgloom.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stats_period window with a fake clock: period boundaries, PgBouncer's average arithmetic, the log line. */
class StatsPeriodTest {
    private static final long SECOND = 1_000_000_000L;

    private long now;
    private long period = 10 * SECOND;
    private boolean logStats = true;
    private final Map<String, StatsSnapshot> totals = new HashMap<>();
    private final List<String> lines = new ArrayList<>();
    private StatsPeriod<String> stats;

    @BeforeEach
    void setUp() {
        now = 5 * SECOND;
        stats = new StatsPeriod<>(() -> Map.copyOf(totals), () -> now, () -> period, () -> logStats, lines::add);
    }

    /** assignments, xacts, queries, received, sent, xact us, query us, wait us, client parses, server parses, binds, logins */
    private static StatsSnapshot snap(long... v) {
        return StatsSnapshot.of(v);
    }

    @Test
    void nothingBeforeTheFirstPeriodEnds() {
        assertThat(stats.tick()).isFalse();
        totals.put("app/bob", snap(10, 10, 20, 1000, 5000, 100, 80, 50, 0, 0, 0, 2));
        now += period - 1;
        assertThat(stats.tick()).isFalse();
        assertThat(stats.averages(k -> true)).isEqualTo(StatsSnapshot.Averages.ZERO);
        assertThat(lines).isEmpty();
    }

    @Test
    void averagesOverTheLastPeriod() {
        totals.put("app/bob", snap(1, 1, 1, 100, 100, 10, 10, 10, 0, 0, 0, 1));
        stats.tick();
        // during 10 s: 20 assignments waiting 600 us in all, 10 xacts of 4000 us in all,
        // 40 queries of 2000 us in all, 12345 bytes in, 50000 bytes out, 3 logins
        totals.put("app/bob", snap(21, 11, 41, 12445, 50100, 4010, 2010, 610, 30, 10, 50, 4));
        now += period;
        assertThat(stats.tick()).isTrue();
        StatsSnapshot.Averages a = stats.averages(k -> true);
        assertThat(a.serverAssignments()).isEqualTo(2);
        assertThat(a.xactCount()).isEqualTo(1);
        assertThat(a.queryCount()).isEqualTo(4);
        assertThat(a.received()).isEqualTo(1234);
        assertThat(a.sent()).isEqualTo(5000);
        assertThat(a.xactTimeMicros()).isEqualTo(400);
        assertThat(a.queryTimeMicros()).isEqualTo(50);
        assertThat(a.waitTimeMicros()).isEqualTo(30);
        assertThat(a.clientParses()).isEqualTo(3);
        assertThat(a.serverParses()).isEqualTo(1);
        assertThat(a.binds()).isEqualTo(5);
        assertThat(a.clientLogins()).isZero();
        assertThat(lines).containsExactly("stats: 1 xacts/s, 4 queries/s, 3 client parses/s, 1 server parses/s, "
                + "5 binds/s, in 1234 B/s, out 5000 B/s, xact 400 us, query 50 us, wait 30 us");
    }

    @Test
    void theElapsedTimeIsWhatDividesNotTheNominalPeriod() {
        stats.tick();
        totals.put("a/u", snap(0, 0, 150, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        now += period + period / 2; // the janitor came late: 15 s
        stats.tick();
        assertThat(stats.averages(k -> true).queryCount()).isEqualTo(10);
    }

    @Test
    void averagesKeepUntilTheNextPeriodEnds() {
        stats.tick();
        totals.put("a/u", snap(0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        now += period;
        stats.tick();
        totals.put("a/u", snap(0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        now += period / 2;
        assertThat(stats.tick()).isFalse();
        assertThat(stats.averages(k -> true).queryCount()).isEqualTo(10);
        now += period / 2;
        assertThat(stats.tick()).isTrue();
        assertThat(stats.averages(k -> true).queryCount()).isEqualTo(90);
    }

    @Test
    void timesAreSummedBeforeDividingAcrossPools() {
        stats.tick();
        // one pool: 1 query of 1000 us; the other: 9 queries of 10 us each
        totals.put("db1/a", snap(0, 0, 1, 0, 0, 0, 1000, 0, 0, 0, 0, 0));
        totals.put("db1/b", snap(0, 0, 9, 0, 0, 0, 90, 0, 0, 0, 0, 0));
        totals.put("db2/a", snap(0, 0, 5, 0, 0, 0, 5000, 0, 0, 0, 0, 0));
        now += period;
        stats.tick();
        assertThat(stats.averages(k -> k.startsWith("db1/")).queryTimeMicros()).isEqualTo(109);
        assertThat(stats.averages(k -> k.startsWith("db2/")).queryTimeMicros()).isEqualTo(1000);
        assertThat(stats.averages(k -> true).queryTimeMicros()).isEqualTo(6090 / 15);
        assertThat(stats.averages(k -> k.startsWith("nope/"))).isEqualTo(new StatsPeriod<String>(Map::of, () -> 0,
                () -> 1, () -> false, s -> { }).averages(k -> true));
    }

    @Test
    void aPoolCreatedDuringThePeriodCountsFromZero() {
        stats.tick();
        now += period;
        totals.put("new/u", snap(0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        stats.tick();
        assertThat(stats.averages(k -> true).xactCount()).isEqualTo(2);
    }

    @Test
    void logStatsOffMeansNoLineButStillAverages() {
        logStats = false;
        stats.tick();
        totals.put("a/u", snap(0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        now += period;
        assertThat(stats.tick()).isTrue();
        assertThat(lines).isEmpty();
        assertThat(stats.averages(k -> true).xactCount()).isEqualTo(1);
    }

    @Test
    void aReloadedPeriodAppliesAtTheNextTick() {
        stats.tick();
        period = 2 * SECOND;
        now += 2 * SECOND;
        assertThat(stats.tick()).isTrue();
        now += SECOND;
        assertThat(stats.tick()).isFalse();
        now += SECOND;
        assertThat(stats.tick()).isTrue();
        assertThat(lines).hasSize(2).allMatch(l -> l.equals("stats: 0 xacts/s, 0 queries/s, 0 client parses/s, "
                + "0 server parses/s, 0 binds/s, in 0 B/s, out 0 B/s, xact 0 us, query 0 us, wait 0 us"));
    }
}
