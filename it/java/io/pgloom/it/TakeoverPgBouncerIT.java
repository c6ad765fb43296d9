package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Migration without a maintenance window, both ways, on one unchanged pgbouncer.ini: a running
 * PgBouncer (Debian's, which still has {@code -R}) is taken over by {@code pgloom -R}, and that
 * pgloom by {@code pgbouncer -R}, while one client keeps a transaction open across each takeover.
 * The transaction continues on the same server backend and its rows are committed once.
 *
 * <p>PgBouncer refuses to run as root, and a takeover needs both processes to run as the same OS
 * user (the console admits user {@code pgbouncer} by peer uid), so when the tests run as root both
 * run as {@code nobody} through {@code setpriv}, from a world-writable temp dir with a copy of the
 * jar.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverPgBouncerIT {

    private static final String DB = "takeover_pgbouncer";
    private static final Duration STEP = Duration.ofSeconds(60);

    private final List<Process> processes = new ArrayList<>();
    private Path dir;

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        if (dir != null) {
            keepLogs();
            try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                // a leftover temp dir is harmless
            }
        }
    }

    /** Copies the three processes' logs to target/it-logs/, as PgloomProcess does for its own. */
    private void keepLogs() {
        String base = System.getProperty("pgloom.basedir");
        if (base == null) {
            return;
        }
        try {
            Path logs = Files.createDirectories(Path.of(base, "target", "it-logs"));
            for (String name : List.of("pgbouncer-1.log", "pgloom.log", "pgbouncer-2.log")) {
                if (Files.exists(dir.resolve(name))) {
                    Files.copy(dir.resolve(name), logs.resolve("TakeoverPgBouncerIT-" + name),
                            StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            System.err.println("could not keep the logs of " + dir + ": " + e);
        }
    }

    @Test
    void pgBouncerToPgloomToPgBouncerWithAnOpenTransaction() throws Exception {
        String pgbouncer = which("pgbouncer");
        assumeTrue(pgbouncer != null, "pgbouncer is not installed (apt-get install pgbouncer)");
        boolean root = "root".equals(System.getProperty("user.name"));
        assumeTrue(!root || which("setpriv") != null, "running as root needs setpriv to run as nobody");
        PgCluster pg = PgCluster.get();
        assumeTrue(pg.isLocal(), "needs the local PostgreSQL harness");
        Sql.recreateDatabase(pg, DB);
        try (Connection c = pg.connect(DB, "app", "apppass")) {
            Sql.exec(c, "create table moved (id int)");
        }

        dir = Files.createTempDirectory("pgloom-pgbouncer-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // past the umask
        Path jar = dir.resolve("pgloom.jar");
        Files.copy(jar(), jar, StandardCopyOption.REPLACE_EXISTING);
        int port = PgloomProcess.freePort();
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(dir.resolve("userlist.txt"), "\"app\" \"apppass\"\n");
        Files.writeString(ini, String.join("\n",
                "[databases]",
                DB + " = host=" + pg.host() + " port=" + pg.port() + " dbname=" + DB,
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                "listen_port = " + port,
                "unix_socket_dir = " + dir,
                "auth_type = md5",
                "auth_file = " + dir.resolve("userlist.txt"),
                "pool_mode = transaction",
                "default_pool_size = 5",
                "pidfile = " + dir.resolve("bouncer.pid"),
                ""));
        for (String f : List.of("pgbouncer.ini", "userlist.txt", "pgloom.jar")) {
            Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
        }

        Process bouncer = start(root, dir, "pgbouncer-1.log", List.of(pgbouncer, ini.toString()));
        awaitLog(bouncer, dir.resolve("pgbouncer-1.log"), "process up");
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/" + DB + "?sslmode=disable&gssEncMode=disable"
                + "&prepareThreshold=0";
        java.util.Properties props = new java.util.Properties();
        props.setProperty("user", "app");
        props.setProperty("password", "apppass");
        try (Connection c = Drivers.PGJDBC.connect(url, props)) {
            c.setAutoCommit(false);
            Sql.exec(c, "insert into moved values (1)");
            String backend = Sql.value(c, "select pg_backend_pid()");

            // PgBouncer -> pgloom
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process pgloom = start(root, dir, "pgloom.log", List.of(java, "-jar", jar.toString(), "-R", ini.toString()));
            awaitLog(pgloom, dir.resolve("pgloom.log"), "process up");
            awaitExit(bouncer, dir.resolve("pgbouncer-1.log"));
            System.out.println("PgBouncer -> pgloom:\n" + grep(dir.resolve("pgloom.log"), "takeover done"));
            assertThat(Sql.value(c, "select pg_backend_pid()")).as("backend after PgBouncer -> pgloom").isEqualTo(backend);
            Sql.exec(c, "insert into moved values (2)");
            c.commit();
            Sql.exec(c, "insert into moved values (3)");
            String backendNow = Sql.value(c, "select pg_backend_pid()");

            // pgloom -> PgBouncer
            Process bouncer2 = start(root, dir, "pgbouncer-2.log", List.of(pgbouncer, "-R", ini.toString()));
            awaitLog(bouncer2, dir.resolve("pgbouncer-2.log"), "process up");
            awaitExit(pgloom, dir.resolve("pgloom.log"));
            assertThat(Sql.value(c, "select pg_backend_pid()")).as("backend after pgloom -> PgBouncer")
                    .isEqualTo(backendNow);
            Sql.exec(c, "insert into moved values (4)");
            c.commit();
            System.out.println("pgloom -> PgBouncer:\n" + grep(dir.resolve("pgbouncer-2.log"), "SHOW FDS|SHUTDOWN|process up"));
            assertThat(Exec.read(dir.resolve("pgloom.log"))).contains("SUSPEND command issued", "SHUTDOWN command issued");
        }
        List<Integer> ids = new ArrayList<>();
        try (Connection c = pg.connect(DB, "app", "apppass"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select id from moved order by id")) {
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
        }
        assertThat(ids).as("rows, each committed once").containsExactly(1, 2, 3, 4);
    }

    private Process start(boolean root, Path dir, String logName, List<String> command) throws IOException {
        List<String> full = new ArrayList<>();
        if (root) {
            full.addAll(List.of(which("setpriv"), "--reuid=nobody", "--regid=" + nobodyGroup(), "--clear-groups"));
        }
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(logName).toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static String nobodyGroup() {
        Exec.Result r = Exec.run(List.of("id", "-g", "nobody"), Map.of(), Duration.ofSeconds(10), true);
        return r.stdout().strip();
    }

    private static void awaitLog(Process p, Path log, String text) {
        Wait.until(log.getFileName() + " to contain \"" + text + "\"", STEP,
                () -> !p.isAlive() || Exec.read(log).contains(text),
                () -> Exec.tail(Exec.read(log), 30));
        assertThat(p.isAlive()).as("%s is running\n%s", log.getFileName(), Exec.tail(Exec.read(log), 30)).isTrue();
    }

    private static void awaitExit(Process p, Path log) {
        Wait.until("the old process (" + log.getFileName() + ") to exit", STEP, () -> !p.isAlive(),
                () -> Exec.tail(Exec.read(log), 30));
    }

    private static String grep(Path log, String regex) {
        StringBuilder out = new StringBuilder();
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(regex);
        for (String line : Exec.read(log).split("\n")) {
            if (pattern.matcher(line).find()) {
                out.append("  ").append(line).append('\n');
            }
        }
        return out.toString();
    }

    /** The absolute path of {@code command} on PATH or in the sbin dirs (pgbouncer lives in /usr/sbin), or null. */
    private static String which(String command) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin"));
        for (String d : dirs) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) {
                return Path.of(d, command).toString();
            }
        }
        return null;
    }

    private static Path jar() {
        String jar = System.getProperty("pgloom.jar");
        return jar != null ? Path.of(jar)
                : Path.of(System.getProperty("pgloom.basedir", System.getProperty("user.dir")), "target", "pgloom.jar");
    }
}
