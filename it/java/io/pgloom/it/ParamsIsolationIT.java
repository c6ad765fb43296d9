package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tracked parameters in transaction pooling: 20 clients share 3 servers, each with its own
 * TimeZone, application_name, DateStyle and IntervalStyle, set in every way a client can (SET,
 * the StartupMessage, {@code options=-c ...}, pgjdbc's ApplicationName), plus clients that set
 * nothing. Each reads its settings back in every transaction, while the servers change hands
 * all the time: it must always see its own values, never another client's (pgloom applies the
 * differences with a hidden SET when it assigns a server).
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ParamsIsolationIT {

    private static final String DB = "params_it";
    /** The same PostgreSQL database with pool_size 1: consecutive clients get the same server. */
    private static final String ONE = "params_one";
    private static final int CLIENTS = 20;
    private static final int ROUNDS = 120;
    private static final String SETTINGS = "select current_setting('TimeZone') || '|' || current_setting('application_name')"
            + " || '|' || current_setting('DateStyle') || '|' || current_setting('IntervalStyle')";
    private static final List<String> DATESTYLES = List.of("SQL, DMY", "German, DMY", "Postgres, MDY", "ISO, DMY");
    private static final List<String> INTERVALSTYLES = List.of("iso_8601", "sql_standard", "postgres_verbose");

    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    /** What a pgjdbc client straight to PostgreSQL gets: DateStyle and IntervalStyle. */
    private static String jdbcDateStyle;
    private static String defaultIntervalStyle;

    @BeforeAll
    static void start() throws SQLException {
        pg = PgCluster.get();
        try (Connection c = pg.connect("app", "app", "apppass")) {
            jdbcDateStyle = Sql.value(c, "show DateStyle");
            defaultIntervalStyle = Sql.value(c, "show IntervalStyle");
        }
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("default_pool_size", 3)
                .set("max_client_conn", 100)
                .set("auth_type", "trust")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database(DB, pg, "app")
                .database(ONE, Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "pool_size", 1))
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    /** A client's TimeZone in phase 1 or 2: Etc/GMT-10 .. Etc/GMT+9, all different within a phase. */
    private static String timeZone(int client, int phase) {
        int offset = (phase == 1 ? client : (client + 7) % CLIENTS) - 10;
        return "Etc/GMT" + (offset < 0 ? "-" : "+") + Math.abs(offset);
    }

    private static String expected(String timeZone, String app, String dateStyle, String intervalStyle) {
        return timeZone + "|" + app + "|" + dateStyle + "|" + intervalStyle;
    }

    @Test
    void everyClientAlwaysSeesItsOwnSettings() throws Exception {
        Queue<String> wrong = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<Integer>> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            int me = i;
            clients.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return switch (me % 5) {
                        case 0 -> jdbcClient(me, false, wrong);
                        case 1 -> jdbcClient(me, true, wrong);
                        case 2 -> rawClient(me, false, wrong);
                        case 3 -> rawClient(me, true, wrong);
                        default -> plainClient(me, wrong);
                    };
                } catch (IOException | SQLException e) {
                    throw new AssertionError("client " + me + " failed", e);
                }
            }, ASYNC));
        }
        int checks = 0;
        for (CompletableFuture<Integer> c : clients) {
            checks += c.get(70, TimeUnit.SECONDS);
        }
        assertThat(wrong).as("reads that showed another client's settings").isEmpty();
        assertThat(checks).isEqualTo(CLIENTS * ROUNDS);
        assertThat(pgloom.log()).doesNotContain("invalid server parameter").doesNotContain(": unexpected ");
    }

    /**
     * pgjdbc: TimeZone by SET; application_name by SET, or by the ApplicationName property at
     * startup. Every eighth read inside an explicit transaction; halfway, new values by SET.
     */
    private static int jdbcClient(int me, boolean appNameAtStartup, Queue<String> wrong) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "app");
        props.setProperty("password", "apppass");
        String app = appNameAtStartup ? "jdbc-startup-" + me : "jdbc-set-" + me;
        if (appNameAtStartup) {
            props.setProperty("ApplicationName", app);
        }
        int checks = 0;
        try (Connection c = Drivers.PGJDBC.connect(pgloom.jdbcUrl(DB, "prepareThreshold=0"), props)) {
            if (appNameAtStartup) {
                check(me, -1, Sql.value(c, "select current_setting('application_name')"), app, wrong);
            } else {
                Sql.exec(c, "SET application_name = '" + app + "'");
            }
            String tz = timeZone(me, 1);
            Sql.exec(c, "SET TimeZone = '" + tz + "'");
            for (int round = 0; round < ROUNDS; round++) {
                if (round == ROUNDS / 2) {
                    tz = timeZone(me, 2);
                    app = app + "-b";
                    Sql.exec(c, "SET TimeZone = '" + tz + "'");
                    Sql.exec(c, "SET application_name = '" + app + "'");
                }
                String seen;
                if (round % 8 == 7) {
                    c.setAutoCommit(false);
                    Sql.value(c, "select 1");
                    seen = Sql.value(c, SETTINGS);
                    c.commit();
                    c.setAutoCommit(true);
                } else {
                    seen = Sql.value(c, SETTINGS);
                }
                check(me, round, seen, expected(tz, app, jdbcDateStyle, defaultIntervalStyle), wrong);
                checks++;
            }
        }
        return checks;
    }

    /**
     * Raw protocol: TimeZone, application_name, DateStyle and IntervalStyle in the StartupMessage,
     * or TimeZone, application_name and IntervalStyle as {@code options=-c ...}; halfway, new
     * TimeZone and application_name by SET.
     */
    private static int rawClient(int me, boolean viaOptions, Queue<String> wrong) throws IOException {
        String tz = timeZone(me, 1);
        String app = (viaOptions ? "raw-options-" : "raw-startup-") + me;
        String intervalStyle = INTERVALSTYLES.get(me % INTERVALSTYLES.size());
        String dateStyle = viaOptions ? null : DATESTYLES.get(me % DATESTYLES.size());
        Map<String, String> params = new LinkedHashMap<>();
        if (viaOptions) {
            params.put("options", "-c TimeZone=" + tz + " -c application_name=" + app + " -c IntervalStyle=" + intervalStyle);
        } else {
            params.put("TimeZone", tz);
            params.put("application_name", app);
            params.put("DateStyle", dateStyle);
            params.put("IntervalStyle", intervalStyle);
        }
        int checks = 0;
        try (RawSession s = RawSession.login(pgloom, DB, "app", params)) {
            if (dateStyle == null) {
                dateStyle = s.welcome().get("DateStyle");
            }
            for (int round = 0; round < ROUNDS; round++) {
                if (round == ROUNDS / 2) {
                    tz = timeZone(me, 2);
                    app = app + "-b";
                    s.exec("SET TimeZone = '" + tz + "'; SET application_name = '" + app + "'");
                }
                String seen = round % 8 == 7 ? s.value("BEGIN; select 1; " + SETTINGS + "; COMMIT") : s.value(SETTINGS);
                check(me, round, seen, expected(tz, app, dateStyle, intervalStyle), wrong);
                checks++;
            }
        }
        return checks;
    }

    /** Raw protocol, no settings at all: always what pgloom's welcome said. */
    private static int plainClient(int me, Queue<String> wrong) throws IOException {
        int checks = 0;
        try (RawSession s = RawSession.login(pgloom, DB, "app", Map.of())) {
            Map<String, String> w = s.welcome();
            String want = expected(w.get("TimeZone"), w.getOrDefault("application_name", ""), w.get("DateStyle"),
                    w.get("IntervalStyle"));
            for (int round = 0; round < ROUNDS; round++) {
                check(me, round, s.value(SETTINGS), want, wrong);
                checks++;
            }
        }
        return checks;
    }

    private static void check(int me, int round, String seen, String want, Queue<String> wrong) {
        if (!want.equals(seen)) {
            wrong.add("client " + me + " round " + round + ": saw [" + seen + "], its own is [" + want + "]");
        }
    }

    /**
     * One server, used first by a client that set TimeZone, application_name, DateStyle and
     * IntervalStyle, then by pgjdbc (which says DateStyle=ISO and its own TimeZone at startup):
     * pgjdbc sees what a direct connection would show it. Then the same with a client that set
     * nothing, which sees what pgloom's welcome told it.
     */
    @Test
    void nextClientOfTheServerSeesNoneOfThePreviousSettings() throws Exception {
        String serverPid = useServerWithOwnSettings();
        String direct;
        try (Connection c = pg.connect("app", "app", "apppass")) {
            direct = Sql.value(c, SETTINGS);
        }
        try (Connection c = Sql.connect(pgloom, ONE, "app", "apppass", "prepareThreshold=0")) {
            assertThat(Sql.value(c, "select pg_backend_pid()::text")).as("the same server").isEqualTo(serverPid);
            assertThat(Sql.value(c, SETTINGS)).as("pgjdbc sees what it sees straight on PostgreSQL").isEqualTo(direct);
        }
        assertThat(useServerWithOwnSettings()).isEqualTo(serverPid);
        try (RawSession plain = RawSession.login(pgloom, ONE, "app", Map.of())) {
            assertThat(plain.value("select pg_backend_pid()::text")).as("the same server").isEqualTo(serverPid);
            Map<String, String> w = plain.welcome();
            assertThat(plain.value(SETTINGS)).as("a client that set nothing")
                    .isEqualTo(expected(w.get("TimeZone"), w.getOrDefault("application_name", ""), w.get("DateStyle"),
                            w.get("IntervalStyle")));
        }
    }

    /** A client on pool params_one with settings of its own; returns the pid of the (only) server. */
    private static String useServerWithOwnSettings() throws IOException {
        try (RawSession first = RawSession.login(pgloom, ONE, "app",
                Map.of("DateStyle", "SQL, DMY", "IntervalStyle", "iso_8601"))) {
            first.exec("SET TimeZone = 'Etc/GMT-11'; SET application_name = 'first-client'");
            assertThat(first.value(SETTINGS)).isEqualTo(expected("Etc/GMT-11", "first-client", "SQL, DMY", "iso_8601"));
            return first.value("select pg_backend_pid()::text");
        }
    }
}
