// bin/lib/Soak.java: the workload, faults, sampler and verdict of `bin/pgloom-bench --soak`.
//
// Run by bin/pgloom-bench with the JDK's source launcher and pgjdbc on the class path, against a
// pgloom and a throwaway PostgreSQL that the script started:
//   java -cp postgresql.jar bin/lib/Soak.java key=value ...
// (the keys are read in Soak.Opts). Markdown report on stdout, progress on stderr.
// Exit status: 0 when no committed row was lost or doubled, no rolled-back row appeared, no
// notification was lost, no unexpected error happened and nothing leaked; 1 otherwise.
//
// Workload (every row carries a unique id and a check value derived from it):
//   short    autocommitted INSERTs and explicit transactions of 2-5 INSERTs (extended protocol,
//            server-prepared after 5 uses; half the workers use simple query mode)
//   long     BEGIN; INSERT; pg_sleep(0.5-3 s); INSERT; COMMIT
//   copy     COPY FROM STDIN of 100-400 rows, autocommitted or inside a transaction
//   cancel   pg_sleep(5) cancelled after 0.1-0.6 s (expects 57014), half inside a transaction
//            holding an INSERT that must then be absent; then SELECT 1 on the same connection
//   churn    a new login per step: an INSERT and close, a transaction abandoned by closing the
//            connection (its row must be absent), or SELECT 1 and close
//   notify   pg_notify through the transaction pool; listen: LISTEN in the session pool, every
//            notification sent while a listener was listening must reach it, once
// Faults, one at a time on a fixed schedule: pg_terminate_backend of pooled backends (direct to
// PostgreSQL), admin RECONNECT, PAUSE/RESUME, an online restart by takeover (bin/pgloom-restart),
// and a fast restart of PostgreSQL. A client error is "expected" only when its SQLSTATE is one a
// fault explains and it happened during that fault or shortly after it; takeovers, RECONNECT and
// PAUSE explain no error at all (clients must not notice them).

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;

public class Soak {

    // ------------------------------------------------------------------------------- options
    static final class Opts {
        final Map<String, String> m = new HashMap<>();

        Opts(String[] args) {
            for (String a : args) {
                int i = a.indexOf('=');
                if (i <= 0) {
                    throw new IllegalArgumentException("bad argument " + a + " (key=value expected)");
                }
                m.put(a.substring(0, i), a.substring(i + 1));
            }
        }

        String s(String k, String dflt) {
            return m.getOrDefault(k, dflt);
        }

        String s(String k) {
            String v = m.get(k);
            if (v == null) {
                throw new IllegalArgumentException("missing " + k + "=");
            }
            return v;
        }

        double d(String k, double dflt) {
            return m.containsKey(k) ? Double.parseDouble(m.get(k)) : dflt;
        }

        int i(String k, int dflt) {
            return m.containsKey(k) ? Integer.parseInt(m.get(k)) : dflt;
        }
    }

    static Opts O;
    static final java.util.logging.Logger JDBC_LOG = java.util.logging.Logger.getLogger("org.postgresql");
    static double MINUTES;
    static String PGL_PORT, PG_PORT, PG_DIR, PGTMP, RESTART, CONFIG, PIDFILE, TMP, JCMD;
    static final long T0 = System.nanoTime();
    static volatile boolean stop;
    static final AtomicLong NEXT_ID = new AtomicLong(1);

    static double now() { // seconds since the start
        return (System.nanoTime() - T0) / 1e9;
    }

    static void say(String s) {
        System.err.printf(Locale.ROOT, "pgloom-bench: soak %6.1fs %s%n", now(), s);
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static int rnd(int lo, int hi) { // [lo, hi]
        return ThreadLocalRandom.current().nextInt(lo, hi + 1);
    }

    // ----------------------------------------------------------------------------- connections
    static Connection pgloom(String db, boolean simple) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "app");
        p.setProperty("password", "apppass");
        p.setProperty("connectTimeout", "30");
        p.setProperty("socketTimeout", "180"); // a hang is caught by the watchdog long before
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "soak");
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + PGL_PORT + "/" + db, p);
    }

    static Connection console() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "soakadmin");
        p.setProperty("password", "soakpass");
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("connectTimeout", "20");
        p.setProperty("socketTimeout", "120");
        p.setProperty("assumeMinServerVersion", "9.0");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + PGL_PORT + "/pgbouncer", p);
    }

    static Connection direct() throws SQLException { // superuser, straight to PostgreSQL
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", "postgres");
        p.setProperty("connectTimeout", "20");
        p.setProperty("socketTimeout", "300");
        p.setProperty("ApplicationName", "soak-direct");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + PG_PORT + "/app", p);
    }

    static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already broken
            }
        }
    }

    static long check(long id) { // the check value stored with each row
        return (id * 7919L) % 1000003L;
    }

    // ------------------------------------------------------------------------ rows and errors
    /** Row ids by outcome: committed (must be there once), uncertain (0 or 1), aborted (absent). */
    static final class Ledger {
        final ConcurrentLinkedQueue<long[]> committed = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<long[]> uncertain = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<long[]> aborted = new ConcurrentLinkedQueue<>();
        final AtomicLong committedRows = new AtomicLong();
        final AtomicLong commits = new AtomicLong();

        void commit(long[] ids) {
            committed.add(ids);
            committedRows.addAndGet(ids.length);
            commits.incrementAndGet();
        }
    }

    static final Ledger LEDGER = new Ledger();

    record Err(double at, String worker, String kind, String state, String msg) {
    }

    static final ConcurrentLinkedQueue<Err> ERRORS = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<String> PROBLEMS = new ConcurrentLinkedQueue<>(); // failures found on the way
    static final Map<String, AtomicLong> COUNTS = new ConcurrentHashMap<>();

    static void count(String k) {
        COUNTS.computeIfAbsent(k, x -> new AtomicLong()).incrementAndGet();
    }

    static long counted(String k) {
        AtomicLong a = COUNTS.get(k);
        return a == null ? 0 : a.get();
    }

    static String stateOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                return s.getSQLState();
            }
        }
        return "none:" + e.getClass().getSimpleName();
    }

    /** A connection-level failure: the connection is unusable (or its state unknown). */
    static boolean connectionLost(Connection c, Throwable e) {
        String st = stateOf(e);
        if (st.startsWith("08") || st.startsWith("57P") || st.startsWith("none:")) {
            return true;
        }
        try {
            return c == null || c.isClosed();
        } catch (SQLException x) {
            return true;
        }
    }

    // -------------------------------------------------------------------------------- workers
    abstract static class Worker implements Runnable {
        final String name;
        final String kind;
        final int no;
        Connection conn;
        volatile double opStart = -1; // for the watchdog; -1 when between steps
        volatile String op = "";
        final AtomicLong steps = new AtomicLong();
        Thread thread;

        Worker(String kind, int no) {
            this.kind = kind;
            this.no = no;
            this.name = kind + "-" + no;
        }

        abstract void step() throws Exception;

        Connection open() throws SQLException {
            return pgloom("app", no % 2 == 1);
        }

        void begin(String what) {
            op = what;
            opStart = now();
        }

        void fail(Throwable e) {
            String st = stateOf(e);
            String msg = String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
            ERRORS.add(new Err(now(), name, kind, st, msg.length() > 160 ? msg.substring(0, 160) + "..." : msg));
        }

        /** After an error: roll back, or drop the connection when it is gone. */
        void recover(Throwable e) {
            if (connectionLost(conn, e)) {
                closeQuietly(conn);
                conn = null;
                count("reconnects after an error");
                sleepMs(rnd(100, 500));
                return;
            }
            try {
                if (!conn.getAutoCommit()) {
                    conn.rollback();
                }
            } catch (SQLException x) {
                fail(x);
                closeQuietly(conn);
                conn = null;
            }
        }

        @Override
        public void run() {
            while (!stop) {
                try {
                    if (conn == null) {
                        begin("connect");
                        conn = open();
                    }
                    step();
                    steps.incrementAndGet();
                } catch (Exception e) {
                    fail(e);
                    recover(e);
                } finally {
                    opStart = -1;
                }
            }
            closeQuietly(conn);
            conn = null;
        }

        long[] ids(int n) {
            long first = NEXT_ID.getAndAdd(n);
            long[] a = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = first + i;
            }
            return a;
        }

        void insert(long id) throws SQLException {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO soak_rows (id, v, src) VALUES (?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setLong(2, check(id));
                ps.setString(3, kind);
                ps.executeUpdate();
            }
        }

        /** COMMIT (or an autocommitted statement) failed: the outcome depends on the error. */
        void commitFailed(long[] ids, Throwable e) {
            String st = stateOf(e);
            // An error the server sent before committing leaves the transaction rolled back; a lost
            // connection (or a termination, which can land after the commit record) leaves it unknown.
            if (!st.startsWith("08") && !st.startsWith("57P") && !st.startsWith("none:")) {
                LEDGER.aborted.add(ids);
            } else {
                LEDGER.uncertain.add(ids);
            }
        }
    }

    static final class ShortTx extends Worker {
        ShortTx(int no) {
            super("short", no);
        }

        @Override
        void step() throws Exception {
            if (rnd(0, 1) == 0) {
                long[] ids = ids(1);
                begin("autocommit insert");
                conn.setAutoCommit(true);
                try {
                    insert(ids[0]);
                } catch (SQLException e) {
                    commitFailed(ids, e);
                    throw e;
                }
                LEDGER.commit(ids);
            } else {
                long[] ids = ids(rnd(2, 5));
                begin("transaction of " + ids.length + " inserts");
                conn.setAutoCommit(false);
                try {
                    for (long id : ids) {
                        insert(id);
                    }
                } catch (SQLException e) {
                    LEDGER.aborted.add(ids);
                    throw e;
                }
                begin("commit");
                try {
                    conn.commit();
                } catch (SQLException e) {
                    commitFailed(ids, e);
                    throw e;
                }
                LEDGER.commit(ids);
            }
            opStart = -1;
            sleepMs(rnd(10, 40));
        }
    }

    static final class LongTx extends Worker {
        LongTx(int no) {
            super("long", no);
        }

        @Override
        void step() throws Exception {
            long[] ids = ids(2);
            begin("long transaction");
            conn.setAutoCommit(false);
            try {
                insert(ids[0]);
                try (Statement st = conn.createStatement()) {
                    st.execute("SELECT pg_sleep(" + rnd(5, 30) / 10.0 + ")");
                }
                insert(ids[1]);
            } catch (SQLException e) {
                LEDGER.aborted.add(ids);
                throw e;
            }
            begin("commit");
            try {
                conn.commit();
            } catch (SQLException e) {
                commitFailed(ids, e);
                throw e;
            }
            LEDGER.commit(ids);
            opStart = -1;
            sleepMs(rnd(50, 300));
        }
    }

    static final class CopyIn extends Worker {
        CopyIn(int no) {
            super("copy", no);
        }

        @Override
        void step() throws Exception {
            long[] ids = ids(rnd(100, 400));
            StringBuilder sb = new StringBuilder(ids.length * 24);
            for (long id : ids) {
                sb.append(id).append('\t').append(check(id)).append("\tcopy\n");
            }
            boolean tx = rnd(0, 2) == 0;
            begin("COPY of " + ids.length + " rows" + (tx ? " in a transaction" : ""));
            conn.setAutoCommit(!tx);
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            long n;
            try {
                n = cm.copyIn("COPY soak_rows (id, v, src) FROM STDIN", new StringReader(sb.toString()));
            } catch (SQLException | IOException e) {
                if (tx) {
                    LEDGER.aborted.add(ids);
                } else {
                    commitFailed(ids, e);
                }
                throw e;
            }
            if (n != ids.length) {
                PROBLEMS.add(name + ": COPY reported " + n + " rows for " + ids.length);
            }
            if (tx) {
                begin("commit");
                try {
                    conn.commit();
                } catch (SQLException e) {
                    commitFailed(ids, e);
                    throw e;
                }
            }
            LEDGER.commit(ids);
            opStart = -1;
            sleepMs(rnd(200, 800));
        }
    }

    static final class Cancel extends Worker {
        Cancel(int no) {
            super("cancel", no);
        }

        @Override
        void step() throws Exception {
            boolean tx = rnd(0, 1) == 0;
            long[] ids = tx ? ids(1) : new long[0];
            conn.setAutoCommit(!tx);
            begin("pg_sleep(5) to be cancelled");
            try (Statement st = conn.createStatement()) {
                if (tx) {
                    try {
                        insert(ids[0]);
                    } catch (SQLException e) {
                        LEDGER.aborted.add(ids);
                        throw e;
                    }
                }
                long delay = rnd(100, 600);
                Thread canceller = Thread.ofVirtual().start(() -> {
                    sleepMs(delay);
                    try {
                        st.cancel();
                    } catch (SQLException e) {
                        count("cancel requests that failed to send");
                    }
                });
                double t = now();
                try {
                    st.execute("SELECT pg_sleep(5)");
                    count("cancels without effect (pg_sleep(5) ran to its end)");
                    NO_EFFECT.add(t);
                    if (tx) {
                        conn.rollback();
                        LEDGER.aborted.add(ids);
                    }
                } catch (SQLException e) {
                    if (tx) {
                        LEDGER.aborted.add(ids);
                    }
                    if (!"57014".equals(e.getSQLState())) {
                        throw e;
                    }
                    count("cancelled statements (57014)");
                    COUNTS.computeIfAbsent("cancel-ms", x -> new AtomicLong()).addAndGet((long) ((now() - t) * 1000));
                    if (tx) {
                        conn.rollback();
                    }
                } finally {
                    canceller.join();
                }
            }
            // The connection must be fine after a cancel: no late cancel may hit this.
            begin("SELECT 1 after a cancel");
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
            }
            opStart = -1;
            sleepMs(rnd(200, 800));
        }
    }

    static final ConcurrentLinkedQueue<Double> NO_EFFECT = new ConcurrentLinkedQueue<>();

    /** The faults running at time t or ended at most 10 s before it, for the report. */
    static String faultsNear(double t) {
        StringBuilder sb = new StringBuilder();
        for (Fault f : FAULTS) {
            if (f.start() <= t + 6 && f.end() + 10 >= t) {
                sb.append(sb.isEmpty() ? "" : ", ").append(f.kind());
            }
        }
        return sb.isEmpty() ? "no fault near" : "near " + sb;
    }

    static final class Churn extends Worker {
        Churn(int no) {
            super("churn", no);
        }

        @Override
        void step() throws Exception {
            // Every step on a connection of its own.
            int what = rnd(0, 2);
            try {
                if (what == 0) {
                    long[] ids = ids(1);
                    begin("insert on a new connection");
                    conn.setAutoCommit(true);
                    try {
                        insert(ids[0]);
                    } catch (SQLException e) {
                        commitFailed(ids, e);
                        throw e;
                    }
                    LEDGER.commit(ids);
                } else if (what == 1) {
                    long[] ids = ids(1);
                    begin("transaction abandoned by closing");
                    conn.setAutoCommit(false);
                    LEDGER.aborted.add(ids); // never committed: must not be there, whatever happens
                    insert(ids[0]);
                    count("transactions abandoned by a disconnect");
                } else {
                    begin("SELECT 1 on a new connection");
                    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                        rs.next();
                    }
                }
            } finally {
                begin("close");
                closeQuietly(conn);
                conn = null;
                count("churn logins");
            }
            opStart = -1;
            sleepMs(rnd(30, 150));
        }
    }

    // ---------------------------------------------------------------------- LISTEN / NOTIFY
    record Sent(long seq, double start, double committed) {
    }

    static final ConcurrentLinkedQueue<Sent> SENT = new ConcurrentLinkedQueue<>();

    static final class Notifier extends Worker {
        long seq;

        Notifier(int no) {
            super("notify", no);
        }

        @Override
        void step() throws Exception {
            long s = ++seq;
            double t = now();
            begin("pg_notify");
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement()) {
                st.execute("SELECT pg_notify('soak_chan', '" + s + "')");
            }
            SENT.add(new Sent(s, t, now()));
            opStart = -1;
            sleepMs(200);
        }
    }

    /** One LISTEN session: from LISTEN's completion to its last poll that returned normally. */
    static final class Session {
        final String listener;
        final double listening;
        volatile double lastGoodPoll;
        final Set<Long> got = ConcurrentHashMap.newKeySet();
        long dups;
        String end = "ended by the soak's end";

        Session(String listener, double listening) {
            this.listener = listener;
            this.listening = listening;
            this.lastGoodPoll = listening;
        }
    }

    static final ConcurrentLinkedQueue<Session> SESSIONS = new ConcurrentLinkedQueue<>();

    static final class Listener extends Worker {
        Session session;
        double sessionEnd;

        Listener(int no) {
            super("listen", no);
        }

        @Override
        Connection open() throws SQLException {
            Connection c = pgloom("appsess", false);
            try (Statement st = c.createStatement()) {
                st.execute("LISTEN soak_chan");
            }
            session = new Session(name, now());
            SESSIONS.add(session);
            sessionEnd = now() + rnd(20, 60); // then a voluntary reconnect
            return c;
        }

        @Override
        void step() throws Exception {
            double pollStart = now();
            begin("waiting for notifications");
            PGNotification[] ns;
            try {
                ns = conn.unwrap(PGConnection.class).getNotifications(1000);
            } catch (SQLException e) {
                session.end = "ended by an error (" + stateOf(e) + ")";
                throw e;
            }
            if (ns != null) {
                for (PGNotification n : ns) {
                    if (!"soak_chan".equals(n.getName())) {
                        PROBLEMS.add(name + ": a notification on channel " + n.getName());
                        continue;
                    }
                    long s = Long.parseLong(n.getParameter());
                    if (!session.got.add(s)) {
                        session.dups++;
                    }
                }
            }
            session.lastGoodPoll = pollStart;
            if (now() > sessionEnd) {
                session.end = "ended by a voluntary reconnect";
                begin("close");
                closeQuietly(conn);
                conn = null;
                count("listener reconnects (voluntary)");
            }
        }

        @Override
        void recover(Throwable e) {
            // A session client whose server went away is disconnected: a new session.
            closeQuietly(conn);
            conn = null;
            count("reconnects after an error");
            sleepMs(rnd(100, 500));
        }
    }

    // --------------------------------------------------------------------------------- faults
    record Fault(String kind, double start, double end, String detail, boolean ok) {
    }

    static final ConcurrentLinkedQueue<Fault> FAULTS = new ConcurrentLinkedQueue<>();
    static volatile String currentPid = "";

    static String readPid() {
        try {
            return Files.readString(Path.of(PIDFILE)).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** Runs a command; returns its exit status and puts its output (both streams) in out[0]. */
    static int run(List<String> cmd, String[] out, long timeoutS) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p = pb.start();
        RUNNING.add(p);
        try {
            StringBuilder sb = new StringBuilder();
            Thread reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (sb) {
                            sb.append(line).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // the process went away
                }
            });
            if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                reader.join(5000);
                out[0] = sb + "\n(timed out after " + timeoutS + " s)";
                return -1;
            }
            reader.join(5000);
            synchronized (sb) {
                out[0] = sb.toString();
            }
            return p.exitValue();
        } finally {
            RUNNING.remove(p);
        }
    }

    static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static void faultTerminate() {
        double t = now();
        try (Connection c = direct(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_activity WHERE usename = 'app' "
                        + "AND backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY random() LIMIT "
                        + rnd(1, 2))) {
            List<Integer> pids = new ArrayList<>();
            while (rs.next()) {
                pids.add(rs.getInt(1));
            }
            for (int pid : pids) {
                try (Statement s2 = c.createStatement()) {
                    s2.execute("SELECT pg_terminate_backend(" + pid + ")");
                }
            }
            FAULTS.add(new Fault("terminate", t, now(), "pg_terminate_backend of " + pids.size() + " backend(s)", true));
        } catch (SQLException e) {
            FAULTS.add(new Fault("terminate", t, now(), "failed: " + e.getMessage(), false));
        }
    }

    static void consoleFault(String kind, String... commands) {
        double t = now();
        try (Connection c = console(); Statement st = c.createStatement()) {
            for (String cmd : commands) {
                if (cmd.startsWith("sleep ")) {
                    sleepMs(Long.parseLong(cmd.substring(6)));
                    continue;
                }
                st.execute(cmd);
            }
            FAULTS.add(new Fault(kind, t, now(), String.join("; ", commands), true));
        } catch (SQLException e) {
            FAULTS.add(new Fault(kind, t, now(), String.join("; ", commands) + ": failed: " + e.getMessage(), false));
            PROBLEMS.add("admin console " + String.join("; ", commands) + " failed: " + e.getMessage());
        }
    }

    static int takeovers;

    static void faultTakeover() {
        double t = now();
        takeovers++;
        String old = readPid();
        String[] out = new String[1];
        int rc;
        try {
            rc = run(List.of("bash", RESTART, "--log", TMP + "/restart." + takeovers + ".log", "--timeout", "150", CONFIG),
                    out, 200);
        } catch (Exception e) {
            rc = -1;
            out[0] = e.toString();
        }
        String detail;
        Matcher m = Pattern.compile("clients waited (\\d+) ms").matcher(out[0]);
        Matcher d = Pattern.compile("takeover done: ([^\\n]*)").matcher(out[0]);
        if (rc == 0) {
            detail = "pid " + old + " -> " + readPid() + (d.find() ? ": " + d.group(1) : m.find() ? ": clients waited " + m.group(1) + " ms" : "");
        } else {
            detail = "bin/pgloom-restart exited " + rc + ": " + out[0].strip().replaceAll("\\s*\\n\\s*", " | ");
            PROBLEMS.add("takeover " + takeovers + " failed: " + detail);
        }
        currentPid = readPid();
        FAULTS.add(new Fault("takeover", t, now(), detail, rc == 0));
    }

    static void faultPgRestart() {
        double t = now();
        String[] out = new String[1];
        int rc;
        try {
            rc = run(List.of("bash", PGTMP, "restart", PG_DIR, "fast"), out, 120);
        } catch (Exception e) {
            rc = -1;
            out[0] = e.toString();
        }
        boolean ok = rc == 0;
        if (!ok) {
            PROBLEMS.add("pgtmp restart failed (" + rc + "): " + out[0].strip());
        }
        FAULTS.add(new Fault("pg-restart", t, now(), ok ? "pgtmp restart (fast shutdown, start)" : "failed: " + out[0].strip(), ok));
    }

    /** Which faults explain which SQLSTATEs, and for how long after they end. */
    static boolean explains(Fault f, Err e) {
        String st = e.state();
        boolean connClass = st.startsWith("08") || st.equals("57P01") || st.startsWith("none:");
        return switch (f.kind()) {
            case "terminate" -> connClass && e.at() >= f.start() && e.at() <= f.end() + O.d("grace", 10);
            case "pg-restart" -> (connClass || st.equals("57P02") || st.equals("57P03"))
                    && e.at() >= f.start() && e.at() <= f.end() + O.d("server_login_retry", 3) + O.d("grace", 10) + 5;
            default -> false; // takeover, RECONNECT, PAUSE: clients must not notice
        };
    }

    static boolean expected(Err e) {
        if (e.kind().equals("cancel") && e.state().equals("57014")) {
            return true;
        }
        for (Fault f : FAULTS) {
            if (explains(f, e)) {
                return true;
            }
        }
        return false;
    }

    static void faults(double end) {
        // One fault at a time, each kind on its own period (0 = off), first occurrence offset so
        // that they do not all land together.
        double term = O.d("terminate_every", 20), rec = O.d("reconnect_every", 45), pause = O.d("pause_every", 70);
        double take = O.d("takeover_every", 180), pgr = O.d("pg_restart_every", 300);
        TreeMap<Double, String> plan = new TreeMap<>();
        add(plan, "terminate", term, term / 2, end);
        add(plan, "reconnect", rec, rec * 0.7, end);
        add(plan, "pause", pause, pause * 0.8, end);
        add(plan, "takeover", take, take, end);
        add(plan, "pg-restart", pgr, pgr * 0.85, end);
        for (Map.Entry<Double, String> ev : plan.entrySet()) {
            while (!stop && now() < ev.getKey()) {
                sleepMs(200);
            }
            if (stop || now() > end - 5) {
                return;
            }
            say("fault: " + ev.getValue());
            switch (ev.getValue()) {
                case "terminate" -> faultTerminate();
                case "reconnect" -> consoleFault("reconnect", "RECONNECT");
                case "pause" -> consoleFault("pause", "PAUSE app", "sleep 1000", "RESUME app");
                case "takeover" -> faultTakeover();
                case "pg-restart" -> faultPgRestart();
                default -> throw new IllegalStateException(ev.getValue());
            }
            Fault last = null;
            for (Fault f : FAULTS) {
                last = f;
            }
            if (last != null) {
                say("  " + last.kind() + (last.ok() ? "" : " FAILED") + ": " + last.detail() + String.format(Locale.ROOT, " (%.1f s)", last.end() - last.start()));
            }
        }
    }

    static void add(TreeMap<Double, String> plan, String kind, double every, double first, double end) {
        if (every <= 0) {
            return;
        }
        for (double t = first; t < end - 5; t += every) {
            double k = t;
            while (plan.containsKey(k)) {
                k += 0.001;
            }
            plan.put(k, kind);
        }
    }

    // -------------------------------------------------------------------------------- sampler
    record Sample(double at, String pid, long rssKb, int threads, int fds, int sockets, int clients, int servers,
            int backends, long rows, long errors) {
    }

    static final ConcurrentLinkedQueue<Sample> SAMPLES = new ConcurrentLinkedQueue<>();

    static long statusField(String pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return -1;
    }

    /** {all fds, sockets} of a process. */
    static int[] fds(String pid) {
        int all = 0, sockets = 0;
        try (var s = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : s) {
                all++;
                try {
                    if (Files.readSymbolicLink(p).toString().startsWith("socket:")) {
                        sockets++;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return new int[] {-1, -1};
        }
        return new int[] {all, sockets};
    }

    /** What each socket of a process is (from /proc/net/{tcp,tcp6,unix}), for a leak report: description -> count. */
    static Map<String, Integer> describeSockets(String pid) {
        Map<String, String> byInode = new HashMap<>();
        String[] tcpStates = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
            "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
        for (String f : List.of("/proc/" + pid + "/net/tcp", "/proc/" + pid + "/net/tcp6")) {
            try {
                List<String> lines = Files.readAllLines(Path.of(f));
                for (String line : lines.subList(1, lines.size())) {
                    String[] x = line.trim().split("\\s+");
                    int st = Integer.parseInt(x[3], 16);
                    int lport = Integer.parseInt(x[1].substring(x[1].indexOf(':') + 1), 16);
                    int rport = Integer.parseInt(x[2].substring(x[2].indexOf(':') + 1), 16);
                    String role = lport == Integer.parseInt(PGL_PORT) ? "client side" : rport == Integer.parseInt(PG_PORT) ? "to PostgreSQL" : "other";
                    byInode.put(x[9], "tcp " + role + " " + (st < tcpStates.length ? tcpStates[st] : st));
                }
            } catch (IOException | RuntimeException e) {
                // not readable
            }
        }
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/" + pid + "/net/unix"));
            for (String line : lines.subList(1, lines.size())) {
                String[] x = line.trim().split("\\s+");
                byInode.put(x[6], "unix " + (x.length > 7 ? x[7] : "(unnamed)") + " st=" + x[5]);
            }
        } catch (IOException | RuntimeException e) {
            // not readable
        }
        Map<String, Integer> out = new TreeMap<>();
        try (var ds = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : ds) {
                try {
                    String l = Files.readSymbolicLink(p).toString();
                    if (l.startsWith("socket:[")) {
                        out.merge(byInode.getOrDefault(l.substring(8, l.length() - 1), "unknown socket"), 1, Integer::sum);
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            // gone
        }
        return out;
    }

    /** SHOW CLIENTS / SHOW SERVERS counts: {clients, non-console clients, servers, active servers}. */
    static int[] consoleCounts() {
        int[] r = {-1, -1, -1, -1};
        try (Connection c = console(); Statement st = c.createStatement()) {
            int all = 0, work = 0;
            try (ResultSet rs = st.executeQuery("SHOW CLIENTS")) {
                while (rs.next()) {
                    all++;
                    if (!"pgbouncer".equals(rs.getString("database"))) {
                        work++;
                    }
                }
            }
            int sv = 0, act = 0;
            try (ResultSet rs = st.executeQuery("SHOW SERVERS")) {
                while (rs.next()) {
                    sv++;
                    if (!"idle".equals(rs.getString("state"))) {
                        act++;
                    }
                }
            }
            r = new int[] {all, work, sv, act};
        } catch (SQLException e) {
            count("console samples that failed");
        }
        return r;
    }

    /** pgloom's backends in PostgreSQL: {all, not idle}. */
    static int[] backends() {
        try (Connection c = direct(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity "
                        + "WHERE usename = 'app' AND backend_type = 'client backend'")) {
            rs.next();
            return new int[] {rs.getInt(1), rs.getInt(2)};
        } catch (SQLException e) {
            return new int[] {-1, -1};
        }
    }

    static Sample sample() {
        String pid = readPid();
        int[] f = fds(pid);
        int[] cc = consoleCounts();
        int[] b = backends();
        Sample s = new Sample(now(), pid, statusField(pid, "VmRSS"), (int) statusField(pid, "Threads"), f[0], f[1],
                cc[0], cc[2], b[0], LEDGER.committedRows.get(), ERRORS.size());
        SAMPLES.add(s);
        return s;
    }

    // ------------------------------------------------------------------------------ live heap
    record Heap(double at, String pid, long usedKb) {
    }

    static final ConcurrentLinkedQueue<Heap> HEAPS = new ConcurrentLinkedQueue<>();
    static final Pattern HEAP_USED = Pattern.compile("heap .*?used (\\d+)K");

    /** The live set: jcmd GC.run (a full GC), then GC.heap_info's used; -1 when it failed. */
    static long liveHeapKb(String pid) {
        try {
            String[] out = new String[1];
            if (pid.isEmpty() || run(List.of(JCMD, pid, "GC.run"), out, 60) != 0
                    || run(List.of(JCMD, pid, "GC.heap_info"), out, 60) != 0) {
                return -1;
            }
            Matcher m = HEAP_USED.matcher(out[0]);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    static void heapSample() {
        String pid = readPid();
        double t = now();
        long kb = liveHeapKb(pid);
        if (kb >= 0 && pid.equals(readPid())) {
            HEAPS.add(new Heap(t, pid, kb));
        }
    }

    // ---------------------------------------------------------------------------- thread dump
    /** Virtual threads of pgloom named C-0x... and S-0x... (jcmd Thread.dump_to_file, JSON): {C, S, all}. */
    static int[] vthreads(String pid, String tag) {
        Path f = Path.of(TMP, "threads." + tag + ".json");
        try {
            Files.deleteIfExists(f);
            String[] out = new String[1];
            int rc = run(List.of(JCMD, pid, "Thread.dump_to_file", "-format=json", f.toString()), out, 60);
            if (rc != 0 || !Files.exists(f)) {
                return new int[] {-1, -1, -1};
            }
            String json = Files.readString(f);
            int c = 0, s = 0, all = 0;
            Matcher m = Pattern.compile("\"name\": \"([^\"]*)\"").matcher(json);
            while (m.find()) {
                String n = m.group(1);
                all++;
                if (n.startsWith("C-0x")) {
                    c++;
                } else if (n.startsWith("S-0x")) {
                    s++;
                }
            }
            return new int[] {c, s, all};
        } catch (Exception e) {
            return new int[] {-1, -1, -1};
        }
    }

    // ------------------------------------------------------------------------------ verify
    static void setup() throws SQLException {
        try (Connection c = direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS soak_rows");
            // No unique key on purpose: a doubled row must show up as two rows.
            st.execute("CREATE TABLE soak_rows (id bigint NOT NULL, v bigint NOT NULL, src text NOT NULL)");
            st.execute("GRANT ALL ON soak_rows TO app");
            st.execute("ALTER TABLE soak_rows OWNER TO app");
        }
    }

    record Verdict(long committed, long present, long lost, long doubled, long badValue, long phantoms,
            long uncertain, long uncertainPresent, long aborted, List<String> examples) {
    }

    static Verdict verify() throws Exception {
        try (Connection c = direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS soak_expect");
            st.execute("CREATE UNLOGGED TABLE soak_expect (id bigint NOT NULL, outcome char NOT NULL)");
            StringBuilder sb = new StringBuilder();
            long committed = 0, uncertain = 0, aborted = 0;
            for (long[] a : LEDGER.committed) {
                for (long id : a) {
                    sb.append(id).append("\tc\n");
                    committed++;
                }
            }
            for (long[] a : LEDGER.uncertain) {
                for (long id : a) {
                    sb.append(id).append("\tu\n");
                    uncertain++;
                }
            }
            for (long[] a : LEDGER.aborted) {
                for (long id : a) {
                    sb.append(id).append("\ta\n");
                    aborted++;
                }
            }
            c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY soak_expect FROM STDIN", new StringReader(sb.toString()));
            st.execute("CREATE INDEX ON soak_expect (id)");
            st.execute("ANALYZE soak_expect");
            st.execute("ANALYZE soak_rows");
            List<String> ex = new ArrayList<>();
            long present = one(st, "SELECT count(*) FROM soak_rows");
            // Ids recorded twice in the ledger would be a bug of this program.
            long ledgerDup = one(st, "SELECT count(*) FROM (SELECT id FROM soak_expect GROUP BY id HAVING count(*) > 1) x");
            if (ledgerDup > 0) {
                PROBLEMS.add("the soak's own ledger has " + ledgerDup + " ids under two outcomes");
            }
            long lost = one(st, "SELECT count(*) FROM soak_expect e WHERE outcome = 'c' AND NOT EXISTS (SELECT 1 FROM soak_rows r WHERE r.id = e.id)");
            examples(st, ex, "lost", "SELECT e.id FROM soak_expect e WHERE outcome = 'c' AND NOT EXISTS (SELECT 1 FROM soak_rows r WHERE r.id = e.id) LIMIT 5");
            long doubled = one(st, "SELECT count(*) FROM (SELECT id FROM soak_rows GROUP BY id HAVING count(*) > 1) x");
            examples(st, ex, "doubled", "SELECT id FROM soak_rows GROUP BY id HAVING count(*) > 1 LIMIT 5");
            long bad = one(st, "SELECT count(*) FROM soak_rows WHERE v <> (id * 7919) % 1000003");
            examples(st, ex, "wrong check value", "SELECT id FROM soak_rows WHERE v <> (id * 7919) % 1000003 LIMIT 5");
            long phantoms = one(st, "SELECT count(*) FROM soak_rows r WHERE NOT EXISTS (SELECT 1 FROM soak_expect e WHERE e.id = r.id AND e.outcome IN ('c', 'u'))");
            examples(st, ex, "present though rolled back or never committed",
                    "SELECT r.id::text || ' (' || r.src || ', ' || coalesce((SELECT outcome FROM soak_expect e WHERE e.id = r.id LIMIT 1), 'not in the ledger') || ')' FROM soak_rows r "
                            + "WHERE NOT EXISTS (SELECT 1 FROM soak_expect e WHERE e.id = r.id AND e.outcome IN ('c', 'u')) LIMIT 5");
            long uPresent = one(st, "SELECT count(*) FROM soak_expect e WHERE outcome = 'u' AND EXISTS (SELECT 1 FROM soak_rows r WHERE r.id = e.id)");
            return new Verdict(committed, present, lost, doubled, bad, phantoms, uncertain, uPresent, aborted, ex);
        }
    }

    static long one(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void examples(Statement st, List<String> ex, String what, String sql) throws SQLException {
        List<String> ids = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        if (!ids.isEmpty()) {
            ex.add(what + ": " + String.join(", ", ids));
        }
    }

    // ----------------------------------------------------------------------------------- main
    public static void main(String[] args) throws Exception {
        O = new Opts(args);
        JDBC_LOG.setLevel(java.util.logging.Level.SEVERE); // "Unsupported Server Version" of the console
        MINUTES = O.d("minutes", 10);
        PGL_PORT = O.s("pgloom_port");
        PG_PORT = O.s("pg_port");
        PG_DIR = O.s("pg_dir");
        PGTMP = O.s("pgtmp");
        RESTART = O.s("restart");
        CONFIG = O.s("config");
        PIDFILE = O.s("pidfile");
        TMP = O.s("tmp");
        JCMD = O.s("jcmd");
        double sampleEvery = O.d("sample_every", 5);
        int nShort = O.i("short", 6), nLong = O.i("long", 2), nCopy = O.i("copy", 2), nCancel = O.i("cancel", 2);
        int nChurn = O.i("churn", 3), nListen = O.i("listen", 2), nNotify = 1;

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop = true;
            for (Process p : RUNNING) {
                p.destroy();
            }
        }));

        setup();
        currentPid = readPid();
        // Baseline: pgloom as started, no client but the sampler's console connection.
        Sample base = sample();
        SOCKETS_START.putAll(describeSockets(base.pid())); // before any jcmd: no attach socket yet
        int[] vtBase = vthreads(base.pid(), "start");
        long heapBase = liveHeapKb(base.pid());
        say("baseline: pid " + base.pid() + ", RSS " + base.rssKb() / 1024 + " MB, " + base.threads() + " threads, "
                + base.fds() + " fds (" + base.sockets() + " sockets), " + base.clients() + " clients, " + base.servers() + " servers");

        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < nShort; i++) {
            workers.add(new ShortTx(i));
        }
        for (int i = 0; i < nLong; i++) {
            workers.add(new LongTx(i));
        }
        for (int i = 0; i < nCopy; i++) {
            workers.add(new CopyIn(i));
        }
        for (int i = 0; i < nCancel; i++) {
            workers.add(new Cancel(i));
        }
        for (int i = 0; i < nChurn; i++) {
            workers.add(new Churn(i));
        }
        for (int i = 0; i < nNotify; i++) {
            workers.add(new Notifier(i));
        }
        for (int i = 0; i < nListen; i++) {
            workers.add(new Listener(i));
        }
        double start = now();
        double end = start + MINUTES * 60;
        for (Worker w : workers) {
            w.thread = Thread.ofPlatform().name(w.name).daemon(true).start(w);
        }
        say("workload started: " + workers.size() + " clients for " + MINUTES + " min");
        Thread faults = Thread.ofPlatform().name("faults").daemon(true).start(() -> faults(end));
        double heapEvery = O.d("heap_every", 30);
        Thread heaps = Thread.ofPlatform().name("heap").daemon(true).start(() -> {
            double next = now() + heapEvery;
            while (!stop && now() < end) {
                if (now() >= next) {
                    heapSample();
                    next += heapEvery;
                }
                sleepMs(200);
            }
        });

        // Sampler + watchdog + progress, on this thread.
        double nextSample = now(), nextProgress = now() + 60;
        Map<String, Double> stalledSince = new HashMap<>();
        while (!stop && now() < end) {
            if (now() >= nextSample) {
                sample();
                nextSample += sampleEvery;
            }
            for (Worker w : workers) {
                double os = w.opStart;
                if (os >= 0 && now() - os > O.d("stall_s", 60) && !stalledSince.containsKey(w.name + os)) {
                    stalledSince.put(w.name + os, os);
                    PROBLEMS.add(String.format(Locale.ROOT, "%s stalled: '%s' running for more than %.0f s (since %.1f s)",
                            w.name, w.op, O.d("stall_s", 60), os));
                    say("WARNING: " + w.name + " stalled in '" + w.op + "'");
                }
            }
            if (now() >= nextProgress) {
                Sample s = null;
                for (Sample x : SAMPLES) {
                    s = x;
                }
                say(String.format(Locale.ROOT, "%.0f/%.0f min: %d rows committed in %d transactions, %d errors; pgloom pid %s RSS %s MB",
                        (now() - start) / 60, MINUTES, LEDGER.committedRows.get(), LEDGER.commits.get(), ERRORS.size(),
                        s == null ? "?" : s.pid(), s == null ? "?" : String.valueOf(s.rssKb() / 1024)));
                nextProgress += 60;
            }
            sleepMs(100);
        }
        boolean interrupted = stop;
        stop = true;
        say("stopping the workload ...");
        faults.join(TimeUnit.SECONDS.toMillis(240));
        heaps.join(TimeUnit.SECONDS.toMillis(130));
        for (Worker w : workers) {
            w.thread.join(TimeUnit.SECONDS.toMillis(30));
            if (w.thread.isAlive()) {
                PROBLEMS.add(w.name + " did not stop within 30 s (in '" + w.op + "')");
            }
        }
        double workEnd = now();

        // Quiesce: every client gone, servers idle.
        say("waiting for pgloom to settle ...");
        int[] cc = null;
        int[] bk = null;
        double settleDeadline = now() + O.d("settle_s", 30);
        while (now() < settleDeadline) {
            cc = consoleCounts();
            bk = backends();
            if (cc[1] == 0 && cc[3] == 0 && bk[1] == 0 && cc[2] == bk[0]) {
                break;
            }
            sleepMs(500);
        }
        String endPid = readPid();
        // Sockets and the console's counts are read one after the other: take them when two
        // readings a second apart agree (a connection closing in between would skew one).
        Sample fin = sample();
        int[] cc2 = consoleCounts();
        for (int i = 0; i < 10; i++) {
            sleepMs(1000);
            Sample again = sample();
            int[] cc3 = consoleCounts();
            boolean same = again.sockets() == fin.sockets() && again.fds() == fin.fds() && cc3[0] == cc2[0] && cc3[2] == cc2[2];
            fin = again;
            cc2 = cc3;
            if (same) {
                break;
            }
        }
        // Before the thread dump's jcmd; a console connection just closed may take a moment to go.
        Map<String, Integer> sk = describeSockets(endPid);
        for (int i = 0; i < 10 && (census(sk)[0] != cc2[0] - 1 || census(sk)[1] != cc2[2]); i++) {
            sleepMs(500);
            sk = describeSockets(endPid);
        }
        SOCKETS_END.putAll(sk);
        int[] vtEnd = vthreads(endPid, "end");
        long heapEnd = liveHeapKb(endPid);

        say("verifying rows ...");
        Verdict v = verify();
        report(base, vtBase, heapBase, fin, vtEnd, heapEnd, cc, cc2, bk, v, start, workEnd, workers, interrupted);
    }

    // --------------------------------------------------------------------------------- report
    static final Map<String, Integer> SOCKETS_END = new TreeMap<>();
    static final Map<String, Integer> SOCKETS_START = new TreeMap<>();

    /** {from clients, to PostgreSQL, other} sockets of a census, the JVM's attach socket left out. */
    static int[] census(Map<String, Integer> m) {
        int all = 0;
        for (int n : m.values()) {
            all += n;
        }
        int cl = socketsLike(m, "tcp client side ESTABLISHED"), sv = socketsLike(m, "tcp to PostgreSQL ESTABLISHED");
        return new int[] {cl, sv, all - cl - sv - socketsLike(m, ".java_pid")};
    }

    /** Sockets matching a description's prefix or infix. */
    static int socketsLike(Map<String, Integer> m, String part) {
        int n = 0;
        for (Map.Entry<String, Integer> e : m.entrySet()) {
            if (e.getKey().contains(part)) {
                n += e.getValue();
            }
        }
        return n;
    }
    static String SOCK_NOTE;

    static final Map<String, String> NAMES = Map.ofEntries(
            Map.entry("57014", "query_canceled"), Map.entry("57P01", "admin_shutdown"),
            Map.entry("57P02", "crash_shutdown"), Map.entry("57P03", "cannot_connect_now"),
            Map.entry("08006", "connection_failure"), Map.entry("08003", "connection_does_not_exist"),
            Map.entry("08001", "sqlclient_unable_to_establish_sqlconnection"), Map.entry("08P01", "protocol_violation"),
            Map.entry("08000", "connection_exception"), Map.entry("25P02", "in_failed_sql_transaction"),
            Map.entry("53300", "too_many_connections"), Map.entry("58000", "system_error"),
            Map.entry("XX000", "internal_error"), Map.entry("40001", "serialization_failure"),
            Map.entry("28P01", "invalid_password"), Map.entry("42P01", "undefined_table"),
            Map.entry("26000", "invalid_sql_statement_name"), Map.entry("42P05", "duplicate_prepared_statement"));

    static void report(Sample base, int[] vtBase, long heapBase, Sample fin, int[] vtEnd, long heapEnd, int[] cc, int[] cc2, int[] bk, Verdict v,
            double start, double workEnd, List<Worker> workers, boolean interrupted) {
        List<String> fails = new ArrayList<>(PROBLEMS);
        StringBuilder o = new StringBuilder();
        double mins = (workEnd - start) / 60;
        o.append(String.format(Locale.ROOT, "Soak: %.1f min of workload (%d clients: %s), faults one at a time on a schedule.%n%n",
                mins, workers.size(), workerMix(workers)));
        if (interrupted) {
            fails.add("interrupted before the planned end");
        }

        // Rows.
        o.append("### Rows\n\n");
        o.append("| committed (must be there once) | present in the table | lost | doubled | wrong check value | present though rolled back | commit outcome unknown: present / absent | rolled back (must be absent) |\n");
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        o.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | %d | %d | %d / %d | %d |%n%n", v.committed(), v.present(),
                v.lost(), v.doubled(), v.badValue(), v.phantoms(), v.uncertainPresent(), v.uncertain() - v.uncertainPresent(),
                v.aborted()));
        o.append(String.format(Locale.ROOT, "%d transactions committed (%.0f/s).", LEDGER.commits.get(), LEDGER.commits.get() / (workEnd - start)));
        for (String e : v.examples()) {
            o.append(" Examples, ").append(e).append('.');
        }
        o.append("\n\n");
        if (v.lost() > 0) {
            fails.add(v.lost() + " committed rows lost");
        }
        if (v.doubled() > 0) {
            fails.add(v.doubled() + " rows doubled");
        }
        if (v.badValue() > 0) {
            fails.add(v.badValue() + " rows with a wrong check value");
        }
        if (v.phantoms() > 0) {
            fails.add(v.phantoms() + " rows present though rolled back or never committed");
        }

        // Notifications.
        long sentN = SENT.size(), checked = 0, missed = 0, dups = 0;
        int sessions = 0;
        double slack = O.d("notify_slack", 10);
        for (Session s : SESSIONS) {
            sessions++;
            dups += s.dups;
            for (Sent n : SENT) {
                if (n.start() > s.listening && n.committed() + slack < s.lastGoodPoll) {
                    checked++;
                    if (!s.got.contains(n.seq())) {
                        missed++;
                    }
                }
            }
        }
        o.append("### LISTEN/NOTIFY (session pool)\n\n");
        o.append(String.format(Locale.ROOT, "%d notifications sent (pg_notify through the transaction pool), %d LISTEN sessions; "
                + "%d (notification, session) pairs checked (sent after LISTEN, at least %.0f s before the session's last poll): "
                + "%d missed, %d received twice.%n%n", sentN, sessions, checked, slack, missed, dups));
        if (missed > 0) {
            fails.add(missed + " notifications missed by a listening session");
        }
        if (dups > 0) {
            fails.add(dups + " notifications received twice");
        }
        if (sentN > 0 && checked == 0) {
            fails.add("no notification could be checked");
        }

        // Faults.
        o.append("### Faults\n\n| fault | times | failed | detail (last) |\n|---|---:|---:|---|\n");
        Map<String, List<Fault>> byKind = new LinkedHashMap<>();
        for (Fault f : FAULTS) {
            byKind.computeIfAbsent(f.kind(), k -> new ArrayList<>()).add(f);
        }
        for (Map.Entry<String, List<Fault>> e : byKind.entrySet()) {
            long failed = e.getValue().stream().filter(f -> !f.ok()).count();
            Fault last = e.getValue().get(e.getValue().size() - 1);
            o.append(String.format(Locale.ROOT, "| %s | %d | %d | %s |%n", e.getKey(), e.getValue().size(), failed, md(last.detail())));
            if (failed > 0) {
                fails.add(failed + " " + e.getKey() + " fault(s) failed");
            }
        }
        o.append('\n');
        List<Fault> tk = byKind.getOrDefault("takeover", List.of());
        if (!tk.isEmpty()) {
            o.append("Takeovers:\n\n");
            for (Fault f : tk) {
                o.append(String.format(Locale.ROOT, "- at %.0f s (%.1f s): %s%n", f.start() - start, f.end() - f.start(), md(f.detail())));
            }
            o.append('\n');
        }

        // Errors.
        o.append("### Client errors by SQLSTATE\n\n");
        o.append("Expected: 57014 in the cancel clients; connection errors (08xxx, 57P01, lost sockets) during a "
                + "pg_terminate_backend or within " + (int) O.d("grace", 10) + " s after it; those and 57P02/57P03 (PostgreSQL "
                + "shutting down or starting, also as pgloom's cached login error) during a PostgreSQL restart or within "
                + (int) (O.d("server_login_retry", 3) + O.d("grace", 10) + 5) + " s after it. Anything else, and any error "
                + "during a takeover, RECONNECT or PAUSE, is unexpected.\n\n");
        o.append("| SQLSTATE | name | clients | expected | unexpected | example message |\n|---|---|---|---:|---:|---|\n");
        Map<String, long[]> tally = new TreeMap<>();
        Map<String, Set<String>> kinds = new HashMap<>();
        Map<String, String> example = new HashMap<>();
        Map<String, String> unexpectedExample = new HashMap<>();
        List<Err> unexpected = new ArrayList<>();
        for (Err e : ERRORS) {
            boolean exp = expected(e);
            long[] t = tally.computeIfAbsent(e.state(), k -> new long[2]);
            t[exp ? 0 : 1]++;
            kinds.computeIfAbsent(e.state(), k -> new java.util.TreeSet<>()).add(e.kind());
            example.putIfAbsent(e.state(), e.msg());
            if (!exp) {
                unexpected.add(e);
                unexpectedExample.putIfAbsent(e.state(), e.msg());
            }
        }
        for (Map.Entry<String, long[]> e : tally.entrySet()) {
            String st = e.getKey();
            o.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %s |%n", st, NAMES.getOrDefault(st, ""),
                    String.join(", ", kinds.get(st)), e.getValue()[0], e.getValue()[1],
                    md(unexpectedExample.getOrDefault(st, example.get(st)))));
        }
        if (tally.isEmpty()) {
            o.append("| - | | | 0 | 0 | |\n");
        }
        o.append('\n');
        if (!unexpected.isEmpty()) {
            fails.add(unexpected.size() + " unexpected client errors");
            o.append("First unexpected errors:\n\n");
            unexpected.sort((a, b) -> Double.compare(a.at(), b.at()));
            for (Err e : unexpected.subList(0, Math.min(8, unexpected.size()))) {
                o.append(String.format(Locale.ROOT, "- %.1f s, %s: %s %s%n", e.at() - start, e.worker(), e.state(), md(e.msg())));
            }
            o.append('\n');
        }
        List<String> ks = new ArrayList<>(COUNTS.keySet());
        Collections.sort(ks);
        StringBuilder cnt = new StringBuilder();
        for (String k : ks) {
            if (k.equals("cancel-ms")) {
                continue;
            }
            cnt.append(cnt.isEmpty() ? "" : "; ").append(k).append(": ").append(COUNTS.get(k).get());
        }
        long cancelled = counted("cancelled statements (57014)");
        if (cancelled > 0) {
            cnt.append(String.format(Locale.ROOT, "; a cancelled pg_sleep(5) returned after %.0f ms on average (cancel sent after 100-600 ms)",
                    (double) counted("cancel-ms") / cancelled));
        }
        o.append("Counters: ").append(cnt).append(".\n\n");
        long noEffect = counted("cancels without effect (pg_sleep(5) ran to its end)");
        if (noEffect > 0) {
            StringBuilder ne = new StringBuilder();
            for (double t : NO_EFFECT) {
                ne.append(ne.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT, "%.0f s (%s)", t - start, faultsNear(t)));
            }
            o.append("Cancels without effect, when the statement started: ").append(ne).append(".\n\n");
        }
        if (noEffect > Math.max(2, (cancelled + noEffect) / 20)) {
            fails.add(noEffect + " of " + (cancelled + noEffect) + " cancel requests had no effect");
        }

        // Resources over time.
        o.append("### pgloom over time\n\n");
        o.append("RSS (VmRSS), threads (platform threads: /proc status), fds (/proc/<pid>/fd, sockets in brackets), "
                + "clients and servers (SHOW CLIENTS / SHOW SERVERS, the sampler's console connection included), "
                + "pgloom's backends in pg_stat_activity.\n\n");
        o.append("| time | pid | RSS MB | live heap MB | threads | fds (sockets) | clients | servers | backends | rows committed | errors |\n");
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<Sample> all = new ArrayList<>(SAMPLES);
        List<Heap> heaps = new ArrayList<>(HEAPS);
        double step = Math.max(O.d("sample_every", 5), Math.ceil(mins * 60 / 20 / 10) * 10);
        double nextRow = -1, lastRow = -1;
        String lastPid = "";
        for (int i = 0; i < all.size(); i++) {
            Sample s = all.get(i);
            boolean last = i == all.size() - 1;
            boolean pidChange = !s.pid().equals(lastPid);
            if (s.rssKb() < 0 && !last) {
                lastPid = s.pid();
                continue; // between two processes (a takeover): nothing to read
            }
            if (s.at() >= nextRow || last || pidChange) {
                // the last live-heap measurement of this process since the previous row
                String heap = "";
                for (Heap h : heaps) {
                    if (h.pid().equals(s.pid()) && h.at() > lastRow && h.at() <= s.at()) {
                        heap = String.format(Locale.ROOT, "%.1f", h.usedKb() / 1024.0);
                    }
                }
                if (last && heapEnd >= 0) {
                    heap = String.format(Locale.ROOT, "%.1f", heapEnd / 1024.0);
                } else if (i == 0 && heapBase >= 0) {
                    heap = String.format(Locale.ROOT, "%.1f", heapBase / 1024.0);
                }
                o.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %s | %d | %d (%d) | %d | %d | %d | %d | %d |%n",
                        last ? "end" : String.format(Locale.ROOT, "%d:%02d", (int) (s.at() - start) / 60, Math.max(0, (int) (s.at() - start)) % 60),
                        s.pid(), s.rssKb() / 1024.0, heap, s.threads(), s.fds(), s.sockets(), s.clients(), s.servers(), s.backends(),
                        s.rows(), s.errors()));
                if (s.at() >= nextRow) {
                    nextRow = s.at() + step;
                }
                lastRow = s.at();
            }
            lastPid = s.pid();
        }
        o.append("\nLive heap: used after a full GC (jcmd GC.run, GC.heap_info), every " + (int) O.d("heap_every", 30)
                + " s; the table shows the last one since the previous row.\n\n");

        // RSS flatness, per process: the last third of its life under load against its middle third.
        o.append("### RSS\n\n");
        Map<String, List<Sample>> byPid = new LinkedHashMap<>();
        for (Sample s : all) {
            if (s.at() <= workEnd && s.rssKb() > 0) {
                byPid.computeIfAbsent(s.pid(), k -> new ArrayList<>()).add(s);
            }
        }
        o.append("| pid | lived under load | RSS first | RSS max of middle third | RSS max of last third | growth | flat |\n");
        o.append("|---:|---:|---:|---:|---:|---:|---|\n");
        double tolPct = O.d("rss_tolerance_pct", 10), tolMb = O.d("rss_tolerance_mb", 16);
        for (Map.Entry<String, List<Sample>> e : byPid.entrySet()) {
            List<Sample> ss = e.getValue();
            double life = ss.get(ss.size() - 1).at() - ss.get(0).at();
            if (ss.size() < 6 || life < 90) {
                o.append(String.format(Locale.ROOT, "| %s | %.0f s | %.0f MB | | | | too short to judge |%n", e.getKey(), life,
                        ss.get(0).rssKb() / 1024.0));
                continue;
            }
            int n = ss.size();
            long mid = 0, tail = 0;
            for (int i = n / 3; i < 2 * n / 3; i++) {
                mid = Math.max(mid, ss.get(i).rssKb());
            }
            for (int i = 2 * n / 3; i < n; i++) {
                tail = Math.max(tail, ss.get(i).rssKb());
            }
            double growMb = (tail - mid) / 1024.0;
            boolean flat = growMb <= Math.max(tolMb, mid / 1024.0 * tolPct / 100);
            o.append(String.format(Locale.ROOT, "| %s | %.0f s | %.0f MB | %.0f MB | %.0f MB | %+.0f MB | %s |%n", e.getKey(), life,
                    ss.get(0).rssKb() / 1024.0, mid / 1024.0, tail / 1024.0, growMb, flat ? "yes" : "NO"));
            if (!flat) {
                fails.add(String.format(Locale.ROOT, "RSS of pid %s grew by %.0f MB in the last third of its life", e.getKey(), growMb));
            }
        }
        Map<String, List<Heap>> heapByPid = new LinkedHashMap<>();
        for (Heap h : heaps) {
            heapByPid.computeIfAbsent(h.pid(), k -> new ArrayList<>()).add(h);
        }
        double heapTolMb = O.d("heap_tolerance_mb", 8);
        StringBuilder hl = new StringBuilder();
        for (Map.Entry<String, List<Heap>> e : heapByPid.entrySet()) {
            List<Heap> hs = e.getValue();
            StringBuilder vals = new StringBuilder();
            for (Heap h : hs) {
                vals.append(vals.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", h.usedKb() / 1024.0));
            }
            String verdict = "";
            if (hs.size() >= 3) {
                long firstHalf = 0, secondHalf = 0;
                for (int i = 1; i < hs.size(); i++) { // the first measurement is the JVM warming up
                    if (i <= hs.size() / 2) {
                        firstHalf = Math.max(firstHalf, hs.get(i).usedKb());
                    } else {
                        secondHalf = Math.max(secondHalf, hs.get(i).usedKb());
                    }
                }
                double grow = (secondHalf - firstHalf) / 1024.0;
                boolean ok = grow <= Math.max(heapTolMb, firstHalf / 1024.0 * 0.25);
                verdict = String.format(Locale.ROOT, " (growth %+.1f MB: %s)", grow, ok ? "flat" : "GROWING");
                if (!ok) {
                    fails.add(String.format(Locale.ROOT, "live heap of pid %s grew by %.1f MB", e.getKey(), grow));
                }
            }
            hl.append(String.format(Locale.ROOT, "- pid %s, live heap MB: %s%s%n", e.getKey(), vals, verdict));
        }
        if (!hl.isEmpty()) {
            o.append(String.format(Locale.ROOT, "%nLive heap after a full GC under load, per process (judged from 3 measurements on: the maximum of "
                    + "the second half at most max(%.0f MB, 25%%) above the first half's, the very first left out):%n%n", heapTolMb)).append(hl);
        }
        o.append(String.format(Locale.ROOT, "%nRSS flat: the last third's maximum at most max(%.0f MB, %.0f%%) above the middle third's "
                + "(a takeover starts a new JVM, so each process is judged on its own; the first third is the JVM warming up).%n%n", tolMb, tolPct));

        // Leaks.
        o.append("### Leaks (after the workload stopped)\n\n");
        o.append("| check | at the start | at the end | verdict |\n|---|---|---|---|\n");
        int tolThreads = O.i("thread_tolerance", 8);
        // client connections: only the sampler's console connection may remain
        boolean clientsOk = cc != null && cc[1] == 0;
        o.append(String.format(Locale.ROOT, "| client connections other than the console (SHOW CLIENTS) | %d | %d | %s |%n",
                base.clients() - 1, cc == null ? -1 : cc[1], clientsOk ? "ok" : "LEAK"));
        if (!clientsOk) {
            fails.add("client connections left after the workload: " + (cc == null ? "?" : cc[1]));
        }
        boolean serversOk = cc != null && bk != null && cc[2] == bk[0] && cc[3] == 0 && bk[1] == 0
                && cc[2] <= O.i("pool_size", 8) + O.i("session_pool_size", 4);
        o.append(String.format(Locale.ROOT, "| server connections: SHOW SERVERS (not idle) = backends in pg_stat_activity (not idle) | %d (%d) = %d (%d) | %d (%d) = %d (%d) | %s |%n",
                base.servers(), 0, base.backends(), 0, cc == null ? -1 : cc[2], cc == null ? -1 : cc[3], bk == null ? -1 : bk[0],
                bk == null ? -1 : bk[1], serversOk ? "ok" : "LEAK"));
        if (!serversOk) {
            fails.add("server connections: SHOW SERVERS " + (cc == null ? "?" : cc[2] + " (" + cc[3] + " not idle)")
                    + ", pg_stat_activity " + (bk == null ? "?" : bk[0] + " (" + bk[1] + " not idle)"));
        }
        // sockets = clients + servers + the listening sockets
        // fds are read before the sample's console connection opens, and SHOW CLIENTS counts it.
        // From /proc/<pid>/net: pgloom's sockets by kind (the JVM's attach socket, opened by jcmd, left out).
        int[] sockBase = census(SOCKETS_START), sockEnd = census(SOCKETS_END);
        int closeWait = socketsLike(SOCKETS_END, "CLOSE_WAIT");
        boolean sockOk = sockEnd[0] == cc2[0] - 1 && sockEnd[1] == cc2[2] && sockEnd[2] == sockBase[2] && closeWait == 0;
        o.append(String.format(Locale.ROOT, "| sockets: from clients / to PostgreSQL / other (listeners and the like) / in CLOSE_WAIT | %d / %d / %d / %d | %d / %d / %d / %d | %s |%n",
                sockBase[0], sockBase[1], sockBase[2], socketsLike(SOCKETS_START, "CLOSE_WAIT"), sockEnd[0], sockEnd[1], sockEnd[2], closeWait,
                sockOk ? "ok" : "LEAK"));
        int listenBase = sockBase[2], listenEnd = sockEnd[2];
        if (!sockOk || O.d("show_sockets", 1) > 0) {
            StringBuilder sd = new StringBuilder();
            SOCKETS_END.forEach((k, n) -> sd.append(sd.isEmpty() ? "" : ", ").append(n).append(" × ").append(k));
            SOCK_NOTE = "Sockets of pid " + fin.pid() + " at the end: " + sd + ".";
        }
        if (!sockOk) {
            fails.add("sockets: " + sockEnd[0] + " from clients for " + (cc2[0] - 1) + " clients, " + sockEnd[1] + " to PostgreSQL for "
                    + cc2[2] + " servers, " + listenEnd + " other (" + listenBase + " at the start), " + closeWait + " in CLOSE_WAIT");
        }
        int otherBase = base.fds() - base.sockets(), otherEnd = fin.fds() - fin.sockets();
        boolean fdOk = fin.fds() >= 0 && otherEnd <= otherBase + O.i("fd_tolerance", 2);
        o.append(String.format(Locale.ROOT, "| other fds (files, epoll, pipes) | %d | %d | %s |%n", otherBase, otherEnd, fdOk ? "ok" : "LEAK"));
        if (!fdOk) {
            fails.add("non-socket fds: " + otherBase + " at the start, " + otherEnd + " at the end");
        }
        // The thread dump is taken with no console connection open; SHOW CLIENTS counts its own. A
        // client idle for idle_thread_timeout has no thread, so C- threads are at most the clients.
        boolean vtOk = vtEnd[0] >= 0 && vtEnd[0] <= cc2[0] - 1 && vtEnd[1] == cc2[2];
        o.append(String.format(Locale.ROOT, "| virtual threads C-0x… ≤ clients (SHOW CLIENTS without the console connection asking), S-0x… = servers (SHOW SERVERS) | %d ≤ %d, %d = %d | %d ≤ %d, %d = %d | %s |%n",
                vtBase[0], base.clients() - 1, vtBase[1], base.servers(), vtEnd[0], cc2[0] - 1, vtEnd[1], cc2[2], vtOk ? "ok" : "LEAK"));
        if (!vtOk) {
            fails.add("virtual threads C-/S-: " + vtEnd[0] + "/" + vtEnd[1] + " for " + cc2[0] + " clients and " + cc2[2] + " servers");
        }
        boolean heapOk = heapBase >= 0 && heapEnd >= 0 && heapEnd <= heapBase + heapTolMb * 1024;
        o.append(String.format(Locale.ROOT, "| live heap after a full GC | %.1f MB | %.1f MB | %s |%n", heapBase / 1024.0, heapEnd / 1024.0,
                heapOk ? "ok" : heapBase < 0 || heapEnd < 0 ? "not measured" : "LEAK"));
        if (!heapOk) {
            fails.add(heapBase < 0 || heapEnd < 0 ? "the live heap could not be measured (jcmd)"
                    : String.format(Locale.ROOT, "live heap at rest: %.1f MB at the start, %.1f MB at the end", heapBase / 1024.0, heapEnd / 1024.0));
        }
        boolean thOk = fin.threads() >= 0 && fin.threads() <= base.threads() + tolThreads;
        o.append(String.format(Locale.ROOT, "| platform threads | %d | %d | %s |%n", base.threads(), fin.threads(), thOk ? "ok" : "LEAK"));
        if (!thOk) {
            fails.add("platform threads: " + base.threads() + " at the start, " + fin.threads() + " at the end (tolerance " + tolThreads + ")");
        }
        if (SOCK_NOTE != null) {
            o.append('\n').append(md(SOCK_NOTE)).append('\n');
        }
        o.append(String.format(Locale.ROOT, "%nThe start is the first pgloom process (pid %s) before any client; the end is the last one (pid %s) %.0f s after the workload stopped. "
                + "Platform threads may differ by up to %d (JIT and GC threads come and go).%n%n", base.pid(), fin.pid(), fin.at() - workEnd, tolThreads));

        // Verdict.
        o.append("### Verdict\n\n");
        if (fails.isEmpty()) {
            o.append("PASS: no committed row lost or doubled, no rolled-back row present, no notification missed, no unexpected error, no leak.\n");
        } else {
            o.append("FAIL:\n\n");
            for (String f : fails) {
                o.append("- ").append(md(f)).append('\n');
            }
        }
        System.out.print(o);
        System.out.flush();
        say(fails.isEmpty() ? "PASS" : "FAIL: " + String.join("; ", fails));
        Runtime.getRuntime().halt(fails.isEmpty() ? 0 : 1);
    }

    static String workerMix(List<Worker> ws) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Worker w : ws) {
            m.merge(w.kind, 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        m.forEach((k, n) -> sb.append(sb.isEmpty() ? "" : ", ").append(n).append(' ').append(k));
        return sb.toString();
    }

    static String md(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }
}
