package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.postgresql.util.PSQLException;

/**
 * The numbered-row workload of the fault tests: {@code clients} writer threads each insert rows
 * with ids no other insert uses, one autocommitted statement at a time, and record which inserts
 * were acknowledged. A writer that gets an error records it (SQLSTATE, text, whether it came as an
 * ErrorResponse), drops its connection and connects again, as an application with a connection
 * pool does, pausing {@link #RECONNECT_PAUSE} between failed attempts; the id it was inserting is
 * "in doubt" (the commit may have happened before the connection broke).
 *
 * <p>{@link #verify} then checks against the table what a pooler must guarantee: every
 * acknowledged id is there exactly once, an in-doubt id at most once, and no other id at all.
 * The table has no unique key on purpose, so that a doubled row shows as two rows.
 *
 * <p>Thread-safe: the writers run on their own virtual threads; any thread may read the counts.
 */
final class NumberedRows implements AutoCloseable {

    /** How long a writer waits after a failed connection attempt before the next one. */
    static final Duration RECONNECT_PAUSE = Duration.ofMillis(50);

    /**
     * An error a writer got.
     *
     * @param atNanos System.nanoTime() when the error arrived
     * @param took how long the failed login or insert took
     * @param whileConnecting the login failed (rather than an insert)
     * @param fromServer it came as an ErrorResponse (pgjdbc has its fields), not as a broken socket
     */
    record Failure(int client, long atNanos, Duration took, boolean whileConnecting, String sqlState,
            String message, boolean fromServer) {

        @Override
        public String toString() {
            return "client " + client + (whileConnecting ? " (login)" : "") + " after " + took.toMillis() + " ms: "
                    + sqlState + " " + message + (fromServer ? "" : " [no ErrorResponse]");
        }
    }

    private final String table;
    private final int clients;
    private final Callable<Connection> connect;
    private final AtomicLongArray committed;
    private final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    private final Set<Long> inDoubt = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final AtomicLong connects = new AtomicLong();
    private final AtomicLong maxLatencyNanos = new AtomicLong();
    private final AtomicLong lastCommitNanos = new AtomicLong();
    /** (System.nanoTime() at the acknowledgement, latency in nanos) of every acknowledged insert. */
    private final ConcurrentLinkedQueue<long[]> latencies = new ConcurrentLinkedQueue<>();
    private final CountDownLatch stop = new CountDownLatch(1);
    private final List<Thread> writers = new ArrayList<>();

    private NumberedRows(String table, int clients, Callable<Connection> connect) {
        this.table = table;
        this.clients = clients;
        this.connect = connect;
        this.committed = new AtomicLongArray(clients);
    }

    /** Creates {@code table (id bigint, client int)} on a direct connection, dropping an old one. */
    static void createTable(Connection direct, String table) throws SQLException {
        try (Statement s = direct.createStatement()) {
            s.execute("drop table if exists " + table);
            s.execute("create table " + table + " (id bigint not null, client int not null)");
        }
    }

    /** Starts {@code clients} writers, each with connections from {@code connect}. */
    static NumberedRows start(String table, int clients, Callable<Connection> connect) {
        NumberedRows w = new NumberedRows(table, clients, connect);
        for (int i = 0; i < clients; i++) {
            int client = i;
            w.writers.add(Thread.ofVirtual().name("numbered-rows-" + i).start(() -> w.write(client)));
        }
        return w;
    }

    // *** Progress ***

    /** Acknowledged inserts per client so far. */
    long[] snapshot() {
        long[] s = new long[clients];
        for (int i = 0; i < clients; i++) {
            s[i] = committed.get(i);
        }
        return s;
    }

    /** True when every client has more acknowledged inserts than in {@code before}. */
    boolean everyClientProgressedSince(long[] before) {
        for (int i = 0; i < clients; i++) {
            if (committed.get(i) <= before[i]) {
                return false;
            }
        }
        return true;
    }

    /** Waits until every client committed again since {@code before}; fails naming the failures so far. */
    void awaitProgress(String when, long[] before, Duration timeout) {
        Wait.until("every writer to commit rows " + when, timeout, () -> everyClientProgressedSince(before),
                () -> "commits per client then/now: " + java.util.Arrays.toString(before) + " / "
                        + java.util.Arrays.toString(snapshot()) + "\nfailures: " + failures());
    }

    long totalCommitted() {
        long sum = 0;
        for (int i = 0; i < clients; i++) {
            sum += committed.get(i);
        }
        return sum;
    }

    /** The errors the writers got, in order. */
    List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** The errors of inserts (not of logins) recorded after {@code sinceNanos}. */
    List<Failure> insertFailuresSince(long sinceNanos) {
        return failures.stream().filter(f -> !f.whileConnecting() && f.atNanos() - sinceNanos >= 0).toList();
    }

    /** Logins done so far (the first of each client included). */
    long connects() {
        return connects.get();
    }

    /** The longest time an acknowledged insert took. */
    Duration maxLatency() {
        return Duration.ofNanos(maxLatencyNanos.get());
    }

    /** Resets {@link #maxLatency()} to zero (e.g. after warm-up). */
    void resetMaxLatency() {
        maxLatencyNanos.set(0);
    }

    /**
     * The {@code percentile} (0 to 100) of the latencies of the inserts acknowledged between
     * {@code fromNanos} and {@code toNanos} (System.nanoTime() values); zero when there were none.
     */
    Duration latencyPercentile(double percentile, long fromNanos, long toNanos) {
        long[] sorted = latencies.stream().filter(l -> l[0] - fromNanos >= 0 && toNanos - l[0] >= 0)
                .mapToLong(l -> l[1]).sorted().toArray();
        if (sorted.length == 0) {
            return Duration.ZERO;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(percentile / 100 * sorted.length) - 1);
        return Duration.ofNanos(sorted[Math.max(0, i)]);
    }

    /** System.nanoTime() of the last acknowledged insert (0 before the first). */
    long lastCommitNanos() {
        return lastCommitNanos.get();
    }

    // *** Ending ***

    /** Stops the writers and waits for them (each finishes its current insert). */
    void stop(Duration timeout) throws InterruptedException {
        stop.countDown();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread t : writers) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                throw new AssertionError("writer " + t.getName() + " did not stop within " + timeout
                        + " (stuck in an insert or a login)");
            }
        }
    }

    /**
     * Checks the table on {@code direct}: every acknowledged id exactly once, every in-doubt id
     * at most once, nothing else. Call after {@link #stop}.
     *
     * @return how many rows the table holds
     */
    long verify(Connection direct) throws SQLException {
        Map<Long, Integer> counts = new HashMap<>();
        try (Statement s = direct.createStatement(); ResultSet rs = s.executeQuery("select id from " + table)) {
            while (rs.next()) {
                counts.merge(rs.getLong(1), 1, Integer::sum);
            }
        }
        List<Long> lost = new ArrayList<>();
        List<Long> doubled = new ArrayList<>();
        List<Long> strangers = new ArrayList<>();
        for (long id : acknowledged) {
            int n = counts.getOrDefault(id, 0);
            if (n == 0) {
                lost.add(id);
            } else if (n > 1) {
                doubled.add(id);
            }
        }
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            if (!acknowledged.contains(e.getKey())) {
                if (!inDoubt.contains(e.getKey())) {
                    strangers.add(e.getKey());
                } else if (e.getValue() > 1) {
                    doubled.add(e.getKey());
                }
            }
        }
        assertThat(lost).as("acknowledged ids missing from %s (of %d acknowledged)", table, acknowledged.size())
                .isEmpty();
        assertThat(doubled).as("ids present more than once in %s", table).isEmpty();
        assertThat(strangers).as("ids in %s that no writer inserted", table).isEmpty();
        long rows = counts.values().stream().mapToLong(Integer::longValue).sum();
        long doubtful = inDoubt.stream().filter(counts::containsKey).count();
        System.out.printf("numbered rows in %s: %d acknowledged, all present once; %d in doubt (%d of them"
                + " committed); %d logins; %d failures%n", table, acknowledged.size(), inDoubt.size(), doubtful,
                connects.get(), failures.size());
        return rows;
    }

    @Override
    public void close() {
        stop.countDown();
    }

    // *** The writer ***

    private void write(int client) {
        Connection c = null;
        PreparedStatement insert = null;
        long seq = 0;
        try {
            while (stop.getCount() > 0) {
                if (c == null) {
                    long start = System.nanoTime();
                    try {
                        c = connect.call();
                        connects.incrementAndGet();
                        insert = c.prepareStatement("insert into " + table + " (id, client) values (?, ?)");
                    } catch (Exception e) {
                        failures.add(failure(client, start, true, e));
                        closeQuietly(c);
                        c = null;
                        pause();
                        continue;
                    }
                }
                long id = ((long) client << 32) | ++seq;
                inDoubt.add(id);
                long start = System.nanoTime();
                try {
                    insert.setLong(1, id);
                    insert.setInt(2, client);
                    insert.executeUpdate();
                } catch (SQLException e) {
                    failures.add(failure(client, start, false, e));
                    closeQuietly(c);
                    c = null;
                    continue;
                }
                long now = System.nanoTime();
                inDoubt.remove(id);
                acknowledged.add(id);
                committed.incrementAndGet(client);
                maxLatencyNanos.accumulateAndGet(now - start, Math::max);
                latencies.add(new long[] {now, now - start});
                lastCommitNanos.set(now);
            }
        } finally {
            closeQuietly(c);
        }
    }

    private static Failure failure(int client, long startNanos, boolean whileConnecting, Exception e) {
        long now = System.nanoTime();
        String state = e instanceof SQLException s ? s.getSQLState() : null;
        boolean fromServer = e instanceof PSQLException p && p.getServerErrorMessage() != null;
        return new Failure(client, now, Duration.ofNanos(now - startNanos), whileConnecting, state,
                String.valueOf(e.getMessage()), fromServer);
    }

    private void pause() {
        try {
            stop.await(RECONNECT_PAUSE.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop.countDown();
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // a broken connection; the writer opens a new one
            }
        }
    }
}
