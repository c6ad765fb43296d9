package io.pgloom.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.locks.ReentrantLock;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The throwaway PostgreSQL shared by every integration test of one test JVM.
 *
 * <p>{@link #get()} starts it on first use with {@code it/harness/pgtmp start} in a fresh temp
 * dir (initdb + pg_ctl of the installed PostgreSQL; as user {@code nobody} when the tests run as
 * root), and a JVM shutdown hook runs {@code pgtmp stop}. A detached watchdog also runs
 * {@code pgtmp stop} when this JVM dies without running its hooks (SIGKILL), so a crash leaves
 * nothing running.
 *
 * <p>Roles and databases (the same in both modes): superuser {@code postgres}/{@code postgres}
 * (SCRAM), {@code md5user}/{@code md5pass} (md5-stored password, md5 hba method), and
 * {@code app}/{@code apppass} (SCRAM) owning database {@code app}.
 *
 * <p><b>Docker.</b> When a Docker engine answers ({@code DOCKER_HOST} is set or
 * {@code /var/run/docker.sock} exists, and {@code docker info} succeeds), a Testcontainers
 * {@code postgres:15} container is used instead, with {@code POSTGRES_HOST_AUTH_METHOD=md5} (SCRAM
 * for SCRAM-stored passwords, md5 for md5user). That mode has no unix socket and no restart:
 * tests that need either call {@code assumeTrue(pg.isLocal())}. It has never run on the CI
 * machine, which has no Docker engine.
 *
 * <p>Thread-safe: {@link #get()} is guarded by a lock; the instance is immutable apart from the
 * server state it controls.
 */
public final class PgCluster {

    private static final String SUPERUSER = "postgres";
    private static final String SUPERUSER_PASSWORD = "postgres";
    private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(180);

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static PgCluster instance;
    private static AssertionError startFailure;

    private final String host;
    private final int port;
    /** The pgtmp dir (data, socket, logs); null in Docker mode. */
    private final Path dir;
    private final PostgreSQLContainer<?> container;

    private PgCluster(String host, int port, Path dir, PostgreSQLContainer<?> container) {
        this.host = host;
        this.port = port;
        this.dir = dir;
        this.container = container;
    }

    /** The PostgreSQL of this test JVM, started on first call. A failed start fails every caller. */
    public static PgCluster get() {
        LOCK.lock();
        try {
            if (startFailure != null) {
                throw new AssertionError("the test PostgreSQL failed to start earlier", startFailure);
            }
            if (instance == null) {
                try {
                    instance = dockerAvailable() ? Docker.start() : startLocal();
                } catch (AssertionError | RuntimeException e) {
                    startFailure = e instanceof AssertionError a ? a : new AssertionError(e.getMessage(), e);
                    throw startFailure;
                }
            }
            return instance;
        } finally {
            LOCK.unlock();
        }
    }

    // *** Connection facts ***

    /** Host to connect to over TCP ({@code 127.0.0.1} for the local harness). */
    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String superuser() {
        return SUPERUSER;
    }

    /** The superuser's password. */
    public String password() {
        return SUPERUSER_PASSWORD;
    }

    /** A pgjdbc URL for {@code db} on this server (TLS off). */
    public String jdbcUrl(String db) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + db + "?sslmode=disable&gssEncMode=disable";
    }

    /** A new pgjdbc connection straight to PostgreSQL. */
    public Connection connect(String db, String user, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        return Drivers.PGJDBC.connect(jdbcUrl(db), props);
    }

    /** True for the local harness (unix socket, restart, server log); false in Docker mode. */
    public boolean isLocal() {
        return dir != null;
    }

    /** The dir holding PostgreSQL's unix socket ({@code .s.PGSQL.<port>}); local harness only. */
    public Path socketDir() {
        requireLocal("socketDir");
        return dir;
    }

    /** libpq environment for running psql/pgbench straight against PostgreSQL as the superuser. */
    public Map<String, String> psqlEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGHOST", host);
        env.put("PGPORT", Integer.toString(port));
        env.put("PGUSER", SUPERUSER);
        env.put("PGPASSWORD", SUPERUSER_PASSWORD);
        env.put("PGDATABASE", "postgres");
        return env;
    }

    /** The server log text so far (local harness: postgres.log; Docker: the container log). */
    public String serverLog() {
        if (container != null) {
            return container.getLogs();
        }
        return Exec.read(dir.resolve("postgres.log"));
    }

    // *** Faults ***

    /**
     * Restarts the server on the same port and waits until it accepts connections again.
     * {@code immediate} kills backends without a shutdown checkpoint (crash-like, clients get no
     * goodbye); otherwise a fast shutdown (backends are told {@code 57P01}).
     */
    public void restart(boolean immediate) {
        requireLocal("restart");
        pgtmp("restart", dir.toString(), immediate ? "immediate" : "fast");
    }

    /** Stops the server but keeps its data, so that {@link #startServer()} can bring it back. */
    public void stopServer(boolean immediate) {
        requireLocal("stopServer");
        pgtmp("down", dir.toString(), immediate ? "immediate" : "fast");
    }

    /** Starts a server stopped by {@link #stopServer(boolean)} again, on the same port. */
    public void startServer() {
        requireLocal("startServer");
        pgtmp("up", dir.toString());
    }

    @Override
    public String toString() {
        return "PgCluster[" + host + ":" + port + (dir != null ? ", " + dir : ", docker") + "]";
    }

    // *** Local harness ***

    private static PgCluster startLocal() {
        return startLocal(Map.of());
    }

    /**
     * A PostgreSQL of the caller's own, not shared: the same roles and databases as {@link #get()},
     * plus {@code settings} appended to postgresql.conf and {@code files} copied into the data dir
     * (owned by the server's OS user, mode 0600), e.g. {@code ssl = on} with {@code server.crt} and
     * {@code server.key}. The caller stops it with {@link #stop()} (a JVM exit does too). Local
     * harness only: guard with {@code assumeTrue(PgCluster.get().isLocal())}.
     *
     * @param settings postgresql.conf lines as key and raw value ({@code "ssl" -> "on"},
     *     {@code "ssl_cert_file" -> "'server.crt'"})
     * @param files name in the data dir -> file to copy
     */
    public static PgCluster startOwn(Map<String, String> settings, Map<String, Path> files) {
        if (dockerAvailable()) {
            throw new UnsupportedOperationException("startOwn needs the local pgtmp harness, not Docker");
        }
        Path extras;
        try {
            extras = Files.createTempDirectory("pgloom-pg-extras-");
            Path filesDir = Files.createDirectory(extras.resolve("files"));
            for (Map.Entry<String, Path> f : files.entrySet()) {
                Files.copy(f.getValue(), filesDir.resolve(f.getKey()));
            }
            StringBuilder conf = new StringBuilder();
            settings.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
            Files.writeString(extras.resolve("postgresql.conf"), conf.toString());
            Map<String, String> env = Map.of("PGTMP_FILES", filesDir.toString(), "PGTMP_CONF",
                    extras.resolve("postgresql.conf").toString());
            return startLocal(env);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops a server started by {@link #startOwn} and removes its dir. Never the shared one. */
    public void stop() {
        requireLocal("stop");
        if (this == instance) {
            throw new IllegalStateException("the shared PostgreSQL is stopped at JVM exit, not by a test");
        }
        pgtmp(Map.of(), "stop", dir.toString());
    }

    private static PgCluster startLocal(Map<String, String> env) {
        Path dir;
        try {
            dir = Files.createTempDirectory("pgloom-pg-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Registered before starting, so that a half-started server is stopped too.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopQuietly(dir), "pgtmp-stop"));
        startWatchdog(dir);
        Exec.Result started = pgtmp(env, "start", dir.toString());
        String[] lines = started.stdout().strip().split("\n");
        int port = Integer.parseInt(lines[lines.length - 1].strip());
        return new PgCluster("127.0.0.1", port, dir, null);
    }

    private static Exec.Result pgtmp(String... args) {
        return pgtmp(Map.of(), args);
    }

    private static Exec.Result pgtmp(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", script().toString()));
        command.addAll(List.of(args));
        Exec.Result result = Exec.run(command, env, SCRIPT_TIMEOUT, false);
        if (result.exitCode() != 0) {
            throw new AssertionError("pgtmp " + String.join(" ", args) + " failed\n" + result.describe());
        }
        return result;
    }

    private static Path script() {
        String base = System.getProperty("pgloom.basedir", System.getProperty("user.dir"));
        Path script = Path.of(base, "it", "harness", "pgtmp").toAbsolutePath();
        if (!Files.isRegularFile(script)) {
            throw new AssertionError("harness script not found: " + script + " (is -Dpgloom.basedir the repo root?)");
        }
        return script;
    }

    private static void stopQuietly(Path dir) {
        try {
            Exec.Result result = Exec.run(List.of("bash", script().toString(), "stop", dir.toString()),
                    Map.of(), Duration.ofSeconds(45), true);
            if (result.exitCode() != 0) {
                System.err.println("pgtmp stop " + dir + " failed:\n" + result.stdout());
            }
        } catch (RuntimeException | AssertionError e) {
            System.err.println("pgtmp stop " + dir + " failed: " + e);
        }
    }

    /**
     * A detached shell that outlives this JVM and stops the server once the JVM is gone, however it
     * died. In its own session, so a kill of the test's process group does not take it along.
     */
    private static void startWatchdog(Path dir) {
        // A zombie counts as gone: its parent may never reap it.
        String loop = "while kill -0 \"$1\" 2>/dev/null"
                + " && [ \"$(awk '{print $3}' /proc/$1/stat 2>/dev/null)\" != Z ]; do sleep 1; done;"
                + " exec bash \"$2\" stop \"$3\"";
        ProcessBuilder pb = new ProcessBuilder("setsid", "bash", "-c", loop, "pgtmp-watchdog",
                Long.toString(ProcessHandle.current().pid()), script().toString(), dir.toString());
        pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        try {
            pb.start();
        } catch (IOException e) {
            // Without setsid the shutdown hook still covers every exit but SIGKILL.
            System.err.println("pgtmp watchdog not started: " + e.getMessage());
        }
    }

    private void requireLocal(String what) {
        if (dir == null) {
            throw new UnsupportedOperationException(what + " needs the local pgtmp harness, not Docker;"
                    + " guard the test with assumeTrue(pg.isLocal())");
        }
    }

    // *** Docker (Testcontainers) ***

    private static boolean dockerAvailable() {
        boolean hinted = System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
        if (!hinted) {
            return false;
        }
        try {
            return Exec.run(List.of("docker", "info"), Map.of(), Duration.ofSeconds(20), true).exitCode() == 0;
        } catch (AssertionError | RuntimeException e) {
            return false;
        }
    }

    /** Kept apart so that Testcontainers is only touched when a Docker engine is there. */
    private static final class Docker {

        static PgCluster start() {
            PostgreSQLContainer<?> container = new PostgreSQLContainer<>("postgres:15")
                    .withUsername(SUPERUSER)
                    .withPassword(SUPERUSER_PASSWORD)
                    .withDatabaseName("postgres")
                    .withEnv("POSTGRES_HOST_AUTH_METHOD", "md5")
                    .withCommand("postgres", "-c", "max_connections=300", "-c", "fsync=off",
                            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                            "-c", "password_encryption=scram-sha-256");
            container.start();
            Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "pg-container-stop"));
            PgCluster pg = new PgCluster(container.getHost(), container.getMappedPort(5432), null, container);
            try (Connection c = pg.connect("postgres", SUPERUSER, SUPERUSER_PASSWORD);
                    Statement s = c.createStatement()) {
                s.execute("SET password_encryption = 'md5'");
                s.execute("CREATE ROLE md5user LOGIN PASSWORD 'md5pass'");
                s.execute("RESET password_encryption");
                s.execute("CREATE ROLE app LOGIN PASSWORD 'apppass'");
                s.execute("CREATE DATABASE app OWNER app");
            } catch (SQLException e) {
                throw new AssertionError("setting up roles in the PostgreSQL container failed", e);
            }
            return pg;
        }
    }
}
