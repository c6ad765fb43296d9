package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Online restart by socket takeover, as the tests drive it: start a successor with {@code -R} on
 * the running process's config file, wait until it says {@code process up} and the old process has
 * exited, and read the numbers of its {@code takeover done} line. Also small readers of the admin
 * console (over the unix socket as {@code pgbouncer}, admitted by OS user) and of the server side
 * ({@code pg_stat_activity}).
 *
 * <p>Stateless; safe to call from any thread.
 */
final class Takeovers {

    /** How long a whole takeover may take: a JVM start on a busy 2-core machine plus SUSPEND. */
    static final Duration TAKEOVER_TIMEOUT = Duration.ofSeconds(90);

    private static final Pattern DONE = Pattern.compile(
            "takeover done: (\\d+) clients, (\\d+) servers, (\\d+) listeners; clients waited (\\d+) ms");
    private static final Pattern SUSPEND_FINISHED = Pattern.compile("SUSPEND finished in (\\d+) ms");

    /** A completed takeover: the successor and the numbers of its {@code takeover done} line. */
    record Result(PgloomProcess successor, int clients, int servers, int listeners, long clientsWaitedMs,
            long oldSuspendMs) {

        @Override
        public String toString() {
            return "pid " + successor.pid() + ": " + clients + " clients, " + servers + " servers, " + listeners
                    + " listeners; clients waited " + clientsWaitedMs + " ms (old process: SUSPEND finished in "
                    + oldSuspendMs + " ms)";
        }
    }

    private Takeovers() {
    }

    /** Sets {@code pidfile} to a file in the builder's dir, so that a successor waits for it to go. */
    static PgloomProcess.Builder withPidfile(PgloomProcess.Builder builder) {
        return builder.set("pidfile", builder.dir().resolve("pgloom.pid").toString());
    }

    /**
     * Starts {@code pgloom -R <old's config>} and waits until it logs {@code process up} and
     * {@code old} has exited (with code 0). Closes {@code old} (keeping its log).
     *
     * @throws AssertionError when the successor exits first or either step times out; both logs'
     *     tails are in the message
     */
    static Result takeOver(PgloomProcess old) {
        PgloomProcess next = PgloomProcess.start(old.configFile(), List.of("-R"));
        return awaitTakeover(old, next);
    }

    /** The second half of {@link #takeOver}: for a successor the caller started itself. */
    static Result awaitTakeover(PgloomProcess old, PgloomProcess next) {
        Wait.until("successor (pid " + next.pid() + ") to log \"process up\"", TAKEOVER_TIMEOUT,
                () -> !next.isAlive() || next.logContains("process up"), () -> logs(old, next));
        if (!next.isAlive()) {
            throw new AssertionError("the successor exited with code " + next.waitForExit(Duration.ofSeconds(5))
                    + " during the takeover\n" + logs(old, next));
        }
        int oldExit;
        try {
            oldExit = old.waitForExit(TAKEOVER_TIMEOUT);
        } catch (AssertionError e) {
            throw new AssertionError("the old process (pid " + old.pid() + ") is still running after the takeover\n"
                    + logs(old, next), e);
        }
        assertThat(oldExit).as("exit code of the old process after SHUTDOWN\n%s", logs(old, next)).isZero();
        old.close();
        Matcher done = DONE.matcher(next.log());
        assertThat(done.find()).as("a \"takeover done\" line in the successor's log\n%s", logs(old, next)).isTrue();
        Matcher suspended = SUSPEND_FINISHED.matcher(old.log());
        long suspendMs = suspended.find() ? Long.parseLong(suspended.group(1)) : -1;
        return new Result(next, Integer.parseInt(done.group(1)), Integer.parseInt(done.group(2)),
                Integer.parseInt(done.group(3)), Long.parseLong(done.group(4)), suspendMs);
    }

    /** The old process's SUSPEND/SHOW FDS/SHUTDOWN lines and the first lines it closed something with. */
    static String suspendLines(PgloomProcess old) {
        StringBuilder out = new StringBuilder();
        int closes = 0;
        for (String line : old.log().split("\n")) {
            if (line.contains("SUSPEND") || line.contains("SHUTDOWN") || line.contains("SHOW FDS")
                    || (line.contains("closing because") && closes++ < 10)) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    /** The tails of both logs, for failure messages. */
    static String logs(PgloomProcess old, PgloomProcess next) {
        return "---- old process (pid " + old.pid() + ", alive " + old.isAlive() + ") log tail ----\n"
                + Exec.tail(old.log(), 30) + "\n---- successor (pid " + next.pid() + ", alive " + next.isAlive()
                + ") log tail ----\n" + Exec.tail(next.log(), 30);
    }

    // *** Admin console ***

    /** psql on pgloom's unix socket as {@code pgbouncer} to database {@code pgbouncer}. */
    static Psql console(PgloomProcess pgloom) {
        return Psql.toSocket(pgloom, "pgbouncer", "pgbouncer", "");
    }

    /**
     * {@code SHOW <what>} on the admin console, as one map (column → value) per row.
     *
     * @throws AssertionError when psql fails
     */
    static List<Map<String, String>> show(PgloomProcess pgloom, String what) {
        Psql.Result r = console(pgloom).run(Psql.DEFAULT_TIMEOUT, "-A", "-F", "\t", "-P", "footer=off", "-c",
                "SHOW " + what);
        if (!r.ok()) {
            throw new AssertionError("SHOW " + what + " failed\n" + r);
        }
        String[] lines = r.stdout().split("\n");
        List<Map<String, String>> rows = new ArrayList<>();
        if (lines.length == 0 || lines[0].isBlank()) {
            return rows;
        }
        String[] header = lines[0].split("\t", -1);
        for (int i = 1; i < lines.length; i++) {
            if (lines[i].isEmpty()) {
                continue;
            }
            String[] cells = lines[i].split("\t", -1);
            Map<String, String> row = new LinkedHashMap<>();
            for (int c = 0; c < header.length; c++) {
                row.put(header[c], c < cells.length ? cells[c] : "");
            }
            rows.add(row);
        }
        return rows;
    }

    /** How many clients of database {@code db} SHOW CLIENTS lists. */
    static long clientsOf(PgloomProcess pgloom, String db) {
        return show(pgloom, "CLIENTS").stream().filter(r -> db.equals(r.get("database"))).count();
    }

    // *** Server side ***

    /** The pids of the backends connected to database {@code db} (all of them are pgloom's servers). */
    static Set<Integer> backendPids(Connection admin, String db) {
        Set<Integer> pids = new TreeSet<>();
        try (PreparedStatement ps = admin.prepareStatement(
                "select pid from pg_stat_activity where datname = ? and pid <> pg_backend_pid()")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
        } catch (SQLException e) {
            throw new AssertionError("reading pg_stat_activity failed", e);
        }
        return pids;
    }

    /** The soft limit on open files of this JVM ({@code Max open files} in /proc/self/limits), or -1. */
    static long openFileLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).strip().split("\\s+")[0];
                    return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
