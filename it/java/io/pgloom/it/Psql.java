package io.pgloom.it;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs {@code psql} (from PATH) as a real client:
 * {@code psql -X -v ON_ERROR_STOP=1 -h <host> -p <port> -U <user> -d <db> ...} with
 * {@code PGPASSWORD} in its environment. The host may be a unix socket dir.
 *
 * <p>Immutable; {@code with*} methods return a copy.
 */
public final class Psql {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /** A finished psql run. */
    public record Result(int exitCode, String stdout, String stderr) {

        /** stdout without surrounding whitespace: with {@code -At}, the bare value. */
        public String out() {
            return stdout.strip();
        }

        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "psql exit " + exitCode + "\n---- stdout ----\n" + stdout + "\n---- stderr ----\n" + stderr;
        }
    }

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String database;
    private final Map<String, String> env;

    public Psql(String host, int port, String user, String password, String database) {
        this(host, port, user, password, database, Map.of());
    }

    private Psql(String host, int port, String user, String password, String database, Map<String, String> env) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.database = database;
        this.env = Map.copyOf(env);
    }

    /** psql straight to the test PostgreSQL as its superuser. */
    public static Psql to(PgCluster pg, String database) {
        return new Psql(pg.host(), pg.port(), pg.superuser(), pg.password(), database);
    }

    /** psql through pgloom over TCP. */
    public static Psql to(PgloomProcess pgloom, String database, String user, String password) {
        return new Psql("127.0.0.1", pgloom.port(), user, password, database);
    }

    /** psql through pgloom's unix socket ({@code -h <unix_socket_dir>}). */
    public static Psql toSocket(PgloomProcess pgloom, String database, String user, String password) {
        return new Psql(pgloom.unixSocketDir().toString(), pgloom.port(), user, password, database);
    }

    /** A copy that also sets {@code key=value} in psql's environment (e.g. {@code PGSSLMODE}). */
    public Psql withEnv(String key, String value) {
        Map<String, String> more = new LinkedHashMap<>(env);
        more.put(key, value);
        return new Psql(host, port, user, password, database, more);
    }

    /** A copy connecting to another database. */
    public Psql withDatabase(String otherDatabase) {
        return new Psql(host, port, user, password, otherDatabase, env);
    }

    /** {@code psql -c sql}; does not check the exit code. */
    public Result command(String sql) {
        return run(DEFAULT_TIMEOUT, "-c", sql);
    }

    /** {@code psql -f file}; does not check the exit code. */
    public Result file(Path sqlFile) {
        return run(DEFAULT_TIMEOUT, "-f", sqlFile.toString());
    }

    /**
     * {@code psql -At -c sql} and returns the trimmed output.
     *
     * @throws AssertionError when psql exits non-zero (the message has its stderr)
     */
    public String value(String sql) {
        Result result = run(DEFAULT_TIMEOUT, "-At", "-c", sql);
        if (!result.ok()) {
            throw new AssertionError("psql failed for: " + sql + "\n" + result);
        }
        return result.out();
    }

    /** psql with the connection options followed by {@code args}; does not check the exit code. */
    public Result run(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1",
                "-h", host, "-p", Integer.toString(port), "-U", user, "-d", database));
        command.addAll(List.of(args));
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("PGPASSWORD", password);
        environment.put("PGCONNECT_TIMEOUT", "10");
        environment.putAll(env);
        Exec.Result result = Exec.run(command, environment, timeout, false);
        return new Result(result.exitCode(), result.stdout(), result.stderr());
    }
}
