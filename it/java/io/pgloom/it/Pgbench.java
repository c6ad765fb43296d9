package io.pgloom.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code pgbench} (from PATH) against a host/port/user/database with {@code PGPASSWORD} in
 * its environment, and parses its summary.
 *
 * <p>Immutable; {@code with*} methods return a copy.
 */
public final class Pgbench {

    public static final Duration INIT_TIMEOUT = Duration.ofSeconds(180);

    private static final Pattern PROCESSED =
            Pattern.compile("(?m)^number of transactions actually processed: (\\d+)");
    private static final Pattern FAILED = Pattern.compile("(?m)^number of failed transactions: (\\d+)");
    private static final Pattern TPS = Pattern.compile("(?m)^tps = ([0-9.]+)");

    /**
     * A finished pgbench run. {@code processed} and {@code failed} are -1 and {@code tps} is NaN
     * when the summary lacks them (e.g. pgbench aborted before printing it).
     */
    public record Result(int exitCode, long processed, long failed, double tps, String output) {

        /** Exit code 0, a summary, and no failed transactions. */
        public boolean ok() {
            return exitCode == 0 && processed >= 0 && failed == 0;
        }

        @Override
        public String toString() {
            return "pgbench exit " + exitCode + ", processed " + processed + ", failed " + failed
                    + ", tps " + tps + "\n---- output ----\n" + output;
        }

        static Result parse(int exitCode, String output) {
            return new Result(exitCode, longOf(PROCESSED, output), longOf(FAILED, output),
                    doubleOf(TPS, output), output);
        }

        private static long longOf(Pattern pattern, String output) {
            Matcher m = pattern.matcher(output);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        private static double doubleOf(Pattern pattern, String output) {
            Matcher m = pattern.matcher(output);
            return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        }
    }

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String database;
    private final Map<String, String> env;

    public Pgbench(String host, int port, String user, String password, String database) {
        this(host, port, user, password, database, Map.of());
    }

    private Pgbench(String host, int port, String user, String password, String database, Map<String, String> env) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.database = database;
        this.env = Map.copyOf(env);
    }

    /** pgbench straight to the test PostgreSQL. */
    public static Pgbench to(PgCluster pg, String database, String user, String password) {
        return new Pgbench(pg.host(), pg.port(), user, password, database);
    }

    /** pgbench through pgloom over TCP. */
    public static Pgbench to(PgloomProcess pgloom, String database, String user, String password) {
        return new Pgbench("127.0.0.1", pgloom.port(), user, password, database);
    }

    /** A copy that also sets {@code key=value} in pgbench's environment (e.g. {@code PGSSLMODE}). */
    public Pgbench withEnv(String key, String value) {
        Map<String, String> more = new LinkedHashMap<>(env);
        more.put(key, value);
        return new Pgbench(host, port, user, password, database, more);
    }

    /**
     * {@code pgbench -i -s scale -q}: creates and fills the pgbench tables.
     *
     * @throws AssertionError when it fails
     */
    public Result init(int scale) {
        Result result = run(INIT_TIMEOUT, "-i", "-s", Integer.toString(scale), "-q");
        if (result.exitCode() != 0) {
            throw new AssertionError("pgbench -i failed\n" + result);
        }
        return result;
    }

    /**
     * pgbench with the connection options and {@code args} (e.g. {@code "-S", "-T", "3", "-c", "4"});
     * does not check the outcome. stdout and stderr are merged, in order.
     *
     * @throws AssertionError when it does not finish within {@code timeout}
     */
    public Result run(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of("pgbench", "-h", host, "-p", Integer.toString(port),
                "-U", user));
        command.addAll(List.of(args));
        command.add(database);
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("PGPASSWORD", password);
        environment.put("PGCONNECT_TIMEOUT", "10");
        environment.putAll(env);
        Exec.Result result = Exec.run(command, environment, timeout, true);
        return Result.parse(result.exitCode(), result.stdout());
    }
}
