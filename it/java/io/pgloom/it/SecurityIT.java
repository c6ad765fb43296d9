package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What pgloom must never give away, against the real jar and PostgreSQL. The console admits only
 * {@code admin_users}, {@code stats_users} and the same-uid {@code pgbouncer} over the unix
 * socket, and a stats user runs no control command (AdminControlIT checks PAUSE, RESUME, RELOAD,
 * KILL, SET, DISABLE and KILL_CLIENT; this class the rest). SHOW FDS attaches descriptors only for
 * the same-uid {@code pgbouncer} on the unix socket: a Python probe receives with {@code recvmsg}
 * and counts them, as this user and, when the test runs as root, as {@code nobody}. A randomized
 * multi-client workload in transaction pooling tags every query and checks every row it gets back.
 * And with {@code verbose = 3} no password (nor its md5 form) reaches the log.
 *
 * <p>One pgloom: auth_type md5, transaction pooling, pool_size 3, its unix socket in a world
 * accessible dir so that {@code nobody} can reach it.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SecurityIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    /** The passwords of this test; none may show up in the log. */
    private static final Map<String, String> PASSWORDS = Map.of("app", "apppass", "admin", "Adm1n-secret-Q7",
            "watcher", "W4tcher-secret-Z2", "pgbouncer", "C0nsole-secret-K9");
    private static final String WRONG_CLIENT_PASSWORD = "Wr0ng-client-secret-J3";
    private static final String WRONG_SERVER_PASSWORD = "Wr0ng-server-secret-V5";
    private static final String RELOAD_PASSWORD = "Rel0ad-secret-M4";

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    private static Path socketDir;
    private static Path probe;

    @BeforeAll
    static void start() throws IOException {
        pg = PgCluster.get();
        socketDir = Files.createTempDirectory("pgloom-security-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwxrwxrwx")); // past the umask
        probe = socketDir.resolve("console_fds_probe.py");
        try (InputStream in = SecurityIT.class.getResourceAsStream("console_fds_probe.py")) {
            Files.write(probe, in.readAllBytes());
        }
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rw-r--r--"));
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("auth_type", "md5")
                .set("pool_mode", "transaction")
                .set("default_pool_size", 3)
                .set("admin_users", "admin")
                .set("stats_users", "watcher")
                .set("verbose", 3)
                .set("log_connections", true)
                .set("log_disconnections", true)
                .set("log_pooler_errors", true)
                .set("unix_socket_dir", socketDir.toString())
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("iso", pg, "app")
                .database("forced", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "user", "app",
                        "password", PASSWORDS.get("app")))
                .database("badserverpw", Map.of("host", pg.host(), "port", pg.port(), "dbname", "app", "user", "app",
                        "password", WRONG_SERVER_PASSWORD));
        PASSWORDS.forEach(b::user);
        pgloom = b.start();
    }

    @AfterAll
    static void stop() throws IOException {
        if (pgloom != null) {
            pgloom.close();
        }
        if (socketDir != null) {
            Files.deleteIfExists(probe);
            Files.deleteIfExists(socketDir);
        }
    }

    private static Connection console(String user) throws SQLException {
        return Sql.connect(pgloom, "pgbouncer", user, PASSWORDS.get(user), "preferQueryMode=simple");
    }

    // *** who may use the console ***

    @Test
    void theConsoleRefusesEveryoneOutsideAdminAndStatsUsers() throws Exception {
        long mark = pgloom.logSize();
        for (String[] who : new String[][] {{"app", PASSWORDS.get("app")}, {"no_such_user", "x"},
                {"pgbouncer", PASSWORDS.get("pgbouncer")}}) {
            SQLException e = Sql.error(() -> Sql.connect(pgloom, "pgbouncer", who[0], who[1], "preferQueryMode=simple")
                    .close());
            assertThat(e.getMessage()).as(who[0]).contains("not allowed");
            assertThat(e.getSQLState()).as(who[0]).isEqualTo("28000");
        }
        // Same OS user over the unix socket, but not as pgbouncer: no exemption.
        assertThat(probe(false, "app", PASSWORDS.get("app"), "SHOW VERSION")).isEqualTo("error=not allowed");
        pgloom.waitForLogAfter(mark, "login attempt: db=pgbouncer user=no_such_user", WAIT);

        // The admitted ones still are.
        try (Connection c = console("watcher")) {
            assertThat(Sql.value(c, "SHOW VERSION")).contains("PgBouncer");
        }
        try (Connection c = console("admin")) {
            assertThat(Sql.value(c, "SHOW VERSION")).contains("PgBouncer");
        }
    }

    @Test
    void aStatsUserRunsNoControlCommand() throws Exception {
        try (Connection s = console("watcher")) {
            for (String cmd : List.of("SUSPEND", "SHUTDOWN", "SHUTDOWN WAIT_FOR_CLIENTS", "RECONNECT", "RECONNECT iso",
                    "WAIT_CLOSE", "ENABLE iso", "SHOW FDS", "SET admin_users = 'watcher'", "SET stats_users = ''")) {
                SQLException e = Sql.error(() -> Sql.exec(s, cmd));
                assertThat(e.getMessage()).as(cmd).contains("admin access needed");
            }
            // Still a stats user, and nothing changed.
            assertThat(Sql.value(s, "SHOW VERSION")).contains("PgBouncer");
        }
        try (Connection c = console("admin")) {
            assertThat(configValue(c, "admin_users")).isEqualTo("admin");
            assertThat(configValue(c, "stats_users")).isEqualTo("watcher");
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW STATE")) {
                while (rs.next()) {
                    assertThat(rs.getString("value")).as(rs.getString("key")).isEqualTo(
                            rs.getString("key").equals("active") ? "yes" : "no");
                }
            }
        }
        try (Connection c = Sql.connect(pgloom, "iso", "app", PASSWORDS.get("app"), "")) {
            assertThat(Sql.value(c, "select 'still serving'")).isEqualTo("still serving");
        }
    }

    // *** SHOW FDS ***

    /**
     * With a client and a server to describe, SHOW FDS answers everyone admitted as an admin with
     * rows, but descriptors go only to {@code pgbouncer} from the same OS user over the unix
     * socket: not to an admin user on that socket, not over TCP (pgjdbc just gets the rows and the
     * connection goes on).
     */
    @Test
    void showFdsAttachesDescriptorsOnlyForTheSameUidPgbouncerOnTheUnixSocket() throws Exception {
        try (Connection client = Sql.connect(pgloom, "iso", "app", PASSWORDS.get("app"), "")) {
            assertThat(Sql.value(client, "select 'linked'")).isEqualTo("linked");

            String peer = probe(false, "pgbouncer", "", "SHOW FDS");
            int rows = rowsOf(peer);
            assertThat(rows).as(peer).isGreaterThanOrEqualTo(2);
            assertThat(fdsOf(peer)).as("the same-uid pgbouncer gets a descriptor per client and server row: " + peer)
                    .isEqualTo(rows);

            String admin = probe(false, "admin", PASSWORDS.get("admin"), "SHOW FDS");
            assertThat(rowsOf(admin)).as(admin).isGreaterThanOrEqualTo(2);
            assertThat(fdsOf(admin)).as("admin_users member on the unix socket: " + admin).isZero();

            try (Connection tcp = console("admin")) {
                int tcpRows = 0;
                try (Statement st = tcp.createStatement(); ResultSet rs = st.executeQuery("SHOW FDS")) {
                    while (rs.next()) {
                        tcpRows++;
                    }
                }
                assertThat(tcpRows).isGreaterThanOrEqualTo(2);
                assertThat(Sql.value(tcp, "SHOW VERSION")).contains("PgBouncer");
            }
            assertThat(Sql.value(client, "select 'still linked'")).isEqualTo("still linked");
        }
        assertThat(pgloom.isAlive()).isTrue();
    }

    /**
     * Another OS user on the unix socket: as {@code pgbouncer} it is refused like any name outside
     * admin_users; once {@code pgbouncer} is an admin user with a password it logs in with that
     * password and gets SHOW FDS's rows, but no descriptor.
     */
    @Test
    void anotherOsUserOnTheUnixSocketGetsNoExemptionAndNoDescriptors() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) && which("setpriv") != null,
                "needs root and setpriv to connect as nobody");
        try (Connection client = Sql.connect(pgloom, "iso", "app", PASSWORDS.get("app"), "");
                Connection admin = console("admin")) {
            assertThat(Sql.value(client, "select 'linked'")).isEqualTo("linked");
            assertThat(probe(true, "pgbouncer", "", "SHOW FDS")).isEqualTo("error=not allowed");
            try {
                Sql.exec(admin, "SET admin_users = 'admin, pgbouncer'");
                assertThat(probe(true, "pgbouncer", "wrong", "SHOW FDS")).startsWith("error=password authentication failed");
                String other = probe(true, "pgbouncer", PASSWORDS.get("pgbouncer"), "SHOW FDS");
                assertThat(rowsOf(other)).as(other).isGreaterThanOrEqualTo(2);
                assertThat(fdsOf(other)).as("pgbouncer as another OS user: " + other).isZero();
            } finally {
                Sql.exec(admin, "SET admin_users = 'admin'");
            }
        }
    }

    // *** no client sees another's rows ***

    /**
     * Twelve clients on a pool of three servers in transaction pooling, each running a seeded
     * random mix of simple and extended queries (prepared and unnamed statements), transactions,
     * errors inside transactions, large results and reconnects. Every query carries its client's
     * tag and sequence number, and every row that comes back must carry exactly that.
     */
    @Test
    void noClientEverReceivesAnotherClientsRows() throws Exception {
        long seed = Long.getLong("security.seed", System.nanoTime());
        int clients = 12;
        int rounds = 40;
        AtomicLong rowsChecked = new AtomicLong();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int id = i;
                done.add(pool.submit(() -> {
                    runClient(new Random(seed + id), "c" + id, rounds, rowsChecked);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                try {
                    f.get(180, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new AssertionError("seed " + seed + ": " + e.getCause().getMessage(), e.getCause());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(rowsChecked.get()).as("seed %d", seed).isGreaterThan(clients * rounds);
    }

    private static void runClient(Random r, String tag, int rounds, AtomicLong rowsChecked) throws SQLException {
        Connection c = null;
        try {
            for (int n = 0; n < rounds; n++) {
                if (c == null || r.nextInt(10) == 0) {
                    if (c != null) {
                        c.close();
                    }
                    String mode = List.of("simple", "extended", "extendedForPrepared").get(r.nextInt(3));
                    c = Sql.connect(pgloom, "iso", "app", PASSWORDS.get("app"),
                            "preferQueryMode=" + mode + "&prepareThreshold=" + List.of(0, 1, 3).get(r.nextInt(3)));
                }
                String want = tag + ":" + n;
                switch (r.nextInt(5)) {
                    case 0 -> rowsChecked.addAndGet(checkRows(c, want, 1 + r.nextInt(5), false));
                    case 1 -> rowsChecked.addAndGet(checkRows(c, want, 1 + r.nextInt(5), true));
                    case 2 -> rowsChecked.addAndGet(checkRows(c, want, 2000 + r.nextInt(3000), r.nextBoolean()));
                    case 3 -> {
                        c.setAutoCommit(false);
                        rowsChecked.addAndGet(checkRows(c, want + "a", 1 + r.nextInt(3), r.nextBoolean()));
                        if (r.nextBoolean()) {
                            Sql.exec(c, "select pg_sleep(0.00" + (1 + r.nextInt(9)) + ")");
                        }
                        rowsChecked.addAndGet(checkRows(c, want + "b", 1 + r.nextInt(3), r.nextBoolean()));
                        c.commit();
                        c.setAutoCommit(true);
                    }
                    default -> {
                        c.setAutoCommit(false);
                        rowsChecked.addAndGet(checkRows(c, want + "a", 1, r.nextBoolean()));
                        Connection current = c;
                        SQLException e = Sql.error(() -> Sql.value(current, "select 1 / (length('" + want + "') - length('"
                                + want + "'))"));
                        assertThat(e.getSQLState()).as(tag).isEqualTo("22012");
                        c.rollback();
                        c.setAutoCommit(true);
                        rowsChecked.addAndGet(checkRows(c, want + "b", 2, r.nextBoolean()));
                    }
                }
            }
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Runs a query tagged {@code want} for {@code count} rows and checks each; returns the count. */
    private static int checkRows(Connection c, String want, int count, boolean prepared) throws SQLException {
        String sql = "select %s::text as tag, g, repeat(%s::text, 3) as pad from generate_series(1, %s) g";
        int seen = 0;
        if (prepared) {
            try (PreparedStatement ps = c.prepareStatement(sql.formatted("?", "?", "?"))) {
                ps.setString(1, want);
                ps.setString(2, want);
                ps.setInt(3, count);
                try (ResultSet rs = ps.executeQuery()) {
                    seen = check(rs, want);
                }
            }
        } else {
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery(sql.formatted("'" + want + "'", "'" + want + "'", count))) {
                seen = check(rs, want);
            }
        }
        assertThat(seen).as("rows for %s", want).isEqualTo(count);
        return seen;
    }

    private static int check(ResultSet rs, String want) throws SQLException {
        int seen = 0;
        while (rs.next()) {
            seen++;
            String tag = rs.getString("tag");
            if (!want.equals(tag) || rs.getInt("g") != seen || !rs.getString("pad").equals(want.repeat(3))) {
                throw new AssertionError("query " + want + " received row " + seen + " = (" + tag + ", " + rs.getInt("g")
                        + ", " + rs.getString("pad") + ")");
            }
        }
        return seen;
    }

    // *** passwords stay out of the log ***

    /**
     * At verbose 3 with every log_* switch on: successful md5 logins (clients, console), failed
     * ones with a wrong password, server logins with the userlist's and a database's own
     * password (SCRAM at PostgreSQL), a server login PostgreSQL refuses, a console SET, a RELOAD
     * and a RELOAD of a file whose connect string has {@code password} without its {@code =}.
     * No password and no md5 hash of one may appear in the log.
     */
    @Test
    void passwordsNeverReachTheLog() throws Exception {
        try (Connection c = Sql.connect(pgloom, "iso", "app", PASSWORDS.get("app"), "")) {
            assertThat(Sql.value(c, "select 'a'")).isEqualTo("a");
        }
        try (Connection c = Sql.connect(pgloom, "forced", "watcher", PASSWORDS.get("watcher"), "")) {
            assertThat(Sql.value(c, "select current_user")).isEqualTo("app");
        }
        SQLException wrong = Sql.error(() -> Sql.connect(pgloom, "iso", "app", WRONG_CLIENT_PASSWORD, "").close());
        assertThat(wrong.getMessage()).contains("password authentication failed");
        SQLException consoleWrong = Sql.error(() -> Sql.connect(pgloom, "pgbouncer", "admin", WRONG_CLIENT_PASSWORD, "")
                .close());
        assertThat(consoleWrong.getMessage()).contains("password authentication failed");
        SQLException server = Sql.error(() -> Sql.connect(pgloom, "badserverpw", "app", PASSWORDS.get("app"), "").close());
        assertThat(server.getMessage()).isNotBlank();
        Path file = pgloom.configFile();
        String original = Files.readString(file);
        try (Connection c = console("admin")) {
            Sql.exec(c, "SET server_idle_timeout = 600");
            Sql.exec(c, "RELOAD");
            // A connect string with "password" missing its '=': the error names the place, not the text.
            long mark = pgloom.logSize();
            Files.writeString(file, original + "\n[databases]\nbroken = \"host=" + pg.host() + " password "
                    + RELOAD_PASSWORD + "\"\n");
            assertThat(Sql.error(() -> Sql.exec(c, "RELOAD")).getMessage()).contains("RELOAD failed");
            pgloom.waitForLogAfter(mark, "expected key=value", WAIT);
        } finally {
            Files.writeString(file, original);
        }
        pgloom.waitForLog("RELOAD command issued", WAIT);

        String log = pgloom.log();
        List<String> secrets = new ArrayList<>(List.of(WRONG_CLIENT_PASSWORD, WRONG_SERVER_PASSWORD, RELOAD_PASSWORD));
        secrets.addAll(PASSWORDS.values());
        PASSWORDS.forEach((user, password) -> secrets.add(md5Hex(password + user)));
        secrets.add(md5Hex(WRONG_CLIENT_PASSWORD + "app"));
        for (String secret : secrets) {
            assertThat(log).as("the log (verbose 3) contains a secret").doesNotContain(secret);
        }
        assertThat(log).contains("login attempt").contains("password authentication failed");
    }

    // *** helpers ***

    /**
     * Runs the Python console probe against pgloom's unix socket, as this OS user or as nobody,
     * and returns its one line ("rows=N fds=M" or "error=...").
     */
    private static String probe(boolean asNobody, String user, String password, String query) {
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : which("python3");
        assumeTrue(python != null, "python3 is needed to receive descriptors with recvmsg");
        List<String> cmd = new ArrayList<>();
        if (asNobody) {
            String group = Exec.run(List.of("id", "-g", "nobody"), Map.of(), Duration.ofSeconds(10), true).stdout().strip();
            cmd.addAll(List.of(which("setpriv"), "--reuid=nobody", "--regid=" + group, "--clear-groups"));
        }
        cmd.addAll(List.of(python, probe.toString(), socketDir.resolve(".s.PGSQL." + pgloom.port()).toString(), user,
                password, query));
        Exec.Result r = Exec.run(cmd, Map.of(), WAIT, true);
        assertThat(r.exitCode()).as("probe %s", r).isZero();
        return r.stdout().strip();
    }

    private static int rowsOf(String probeLine) {
        assertThat(probeLine).matches("rows=\\d+ fds=\\d+");
        return Integer.parseInt(probeLine.replaceAll("rows=(\\d+) fds=\\d+", "$1"));
    }

    private static int fdsOf(String probeLine) {
        assertThat(probeLine).matches("rows=\\d+ fds=\\d+");
        return Integer.parseInt(probeLine.replaceAll("rows=\\d+ fds=(\\d+)", "$1"));
    }

    private static String configValue(Connection console, String key) throws SQLException {
        try (Statement st = console.createStatement(); ResultSet rs = st.executeQuery("SHOW CONFIG")) {
            while (rs.next()) {
                if (rs.getString("key").equals(key)) {
                    return rs.getString("value");
                }
            }
        }
        throw new AssertionError("no " + key + " in SHOW CONFIG");
    }

    private static String md5Hex(String s) {
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
            return String.format("%032x", new BigInteger(1, d));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String which(String command) {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) {
                return Path.of(d, command).toString();
            }
        }
        return null;
    }
}
