package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bin/pgloom-restart}, the rolling restart script, against a real pgloom: under a small
 * pgbench load it replaces the process (exit 0, old pid gone, the new one serving, zero failed
 * transactions, the pause printed); a new config the new process cannot start with makes it exit
 * 1 with the old process still serving; and with no running instance it refuses to start one.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RestartScriptIT {

    private static final String DB = "restart_script";
    private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(180);
    private static final Pattern RESTARTED = Pattern.compile("restarted: pid (\\d+) -> (\\d+) .*clients waited (\\d+) ms");
    private static final Pattern NEW_PROCESS = Pattern.compile("new process: pid (\\d+)");
    private static final ExecutorService ASYNC = Executors.newVirtualThreadPerTaskExecutor();

    private static PgCluster pg;
    private PgloomProcess old;
    private final List<Long> startedByScript = new ArrayList<>();

    @BeforeAll
    static void createDatabase() throws SQLException {
        pg = PgCluster.get();
        Sql.recreateDatabase(pg, DB);
        Pgbench.to(pg, DB, "app", "apppass").init(1);
    }

    @AfterEach
    void stop() {
        if (old != null) {
            old.close();
        }
        // The script's process is no child of this JVM: end it by its pid.
        for (long pid : startedByScript) {
            if (!running(pid)) {
                continue;
            }
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
            try {
                Wait.until("pid " + pid + " to exit after SIGTERM", PgloomProcess.STOP_TIMEOUT, () -> !running(pid));
            } catch (AssertionError e) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /**
     * Whether {@code pid} runs: exists and is no zombie. Once the script has exited, the process it
     * started belongs to init, which may reap it late, and {@link ProcessHandle#isAlive()} counts a
     * zombie as alive.
     */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    private PgloomProcess startPgloom() {
        return Takeovers.withPidfile(PgloomProcess.builder())
                .set("pool_mode", "transaction")
                .set("default_pool_size", 5)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @Test
    void restartsUnderPgbenchLoad() throws Exception {
        old = startPgloom();
        int clients = 4;
        CompletableFuture<Pgbench.Result> bench = CompletableFuture.supplyAsync(
                () -> Pgbench.to(old, DB, "app", "apppass").run(Duration.ofSeconds(120),
                        "-M", "extended", "-c", Integer.toString(clients), "-j", "2", "-T", "30", "-n"),
                ASYNC);
        Wait.until("pgbench's clients to connect", Duration.ofSeconds(60),
                () -> bench.isDone() || Takeovers.clientsOf(old, DB) == clients);
        assertThat(bench.isDone()).as("pgbench ended early: %s", bench.getNow(null)).isFalse();

        Path log = old.dir().resolve("restart-new.log");
        Exec.Result r = script("--jar", jar().toString(), "--log", log.toString(), old.configFile().toString());
        System.out.println("bin/pgloom-restart:\n" + r.stdout());
        Matcher m = RESTARTED.matcher(r.stdout());
        assertThat(r.exitCode()).as(r.describe() + "\n---- new process's log ----\n" + Exec.tail(Exec.read(log), 30))
                .isZero();
        assertThat(m.find()).as("the script's report: %s", r.stdout()).isTrue();
        long newPid = Long.parseLong(m.group(2));
        assertThat(Long.parseLong(m.group(1))).isEqualTo(old.pid());
        assertThat(newPid).isNotEqualTo(old.pid());
        System.out.println("RESTART SCRIPT UNDER PGBENCH: clients waited " + m.group(3) + " ms");

        assertThat(old.waitForExit(Duration.ofSeconds(30))).as("old process's exit code").isZero();
        assertThat(running(newPid)).as("new process %d runs", newPid).isTrue();
        Path pidfile = old.dir().resolve("pgloom.pid");
        Wait.until("the new process's pidfile", Duration.ofSeconds(10),
                () -> Exec.read(pidfile).strip().equals(Long.toString(newPid)));
        // Served by the new process: the old one is gone, and the port is the same.
        try (Connection c = old.connect(DB, "app", "apppass")) {
            assertThat(Sql.value(c, "select 'served by the new process'")).isEqualTo("served by the new process");
        }
        assertThat(Takeovers.console(old).value("SHOW VERSION")).contains("pgloom");
        Pgbench.Result result = bench.join();
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.failed()).as(result.toString()).isZero();
        assertThat(result.processed()).as(result.toString()).isPositive();
        assertThat(result.output()).as(result.toString()).doesNotContain("aborted");
    }

    @Test
    void aNewProcessThatCannotStartLeavesTheOldOneServing() throws Exception {
        old = startPgloom();
        try (Connection c = old.connect(DB, "app", "apppass")) {
            Sql.value(c, "select 1");
            Path bad = old.dir().resolve("bad.toml");
            String config = Exec.read(old.configFile());
            assertThat(config).contains("pool_mode = \"transaction\"");
            Files.writeString(bad, config.replace("pool_mode = \"transaction\"", "pool_mode = \"no-such-mode\""));
            Exec.Result r = script("--jar", jar().toString(), "--config", bad.toString(), "--timeout", "60",
                    "--log", old.dir().resolve("restart-new.log").toString(), old.configFile().toString());
            System.out.println("bin/pgloom-restart with a bad config:\n" + r.stdout());
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
            assertThat(r.stdout()).contains("FAILED").contains("is still serving");
            assertThat(old.isAlive()).isTrue();
            assertThat(Sql.value(c, "select 'still served'")).isEqualTo("still served");
        }
    }

    @Test
    void restartsInstancesSharingAPortOneAtATimeAndFindsOneByItsPidfile() throws Exception {
        int port = PgloomProcess.freePort();
        PgloomProcess first = sharing(port);
        PgloomProcess second = sharing(port);
        try (Connection c = first.connect(DB, "app", "apppass")) {
            // --all names its log files itself, under TMPDIR.
            Exec.Result all = script(Map.of("TMPDIR", first.dir().toString()), "--jar", jar().toString(), "--all",
                    first.configFile().toString(), second.configFile().toString());
            System.out.println("bin/pgloom-restart --all:\n" + all.stdout());
            Matcher m = RESTARTED.matcher(all.stdout());
            List<Long> newPids = new ArrayList<>();
            while (m.find()) {
                newPids.add(Long.parseLong(m.group(2)));
            }
            assertThat(all.exitCode()).as(all.describe()).isZero();
            assertThat(all.stdout()).contains("all 2 instances restarted");
            assertThat(newPids).hasSize(2);
            assertThat(first.waitForExit(Duration.ofSeconds(30))).isZero();
            assertThat(second.waitForExit(Duration.ofSeconds(30))).isZero();
            assertThat(Sql.value(c, "select 'kept across --all'")).isEqualTo("kept across --all");

            // Again, the first instance only, found through its pidfile (its config from /proc/<pid>/cmdline).
            Path pidfile = first.dir().resolve("pgloom.pid");
            Wait.until("the first instance's new pidfile", Duration.ofSeconds(10),
                    () -> Exec.read(pidfile).strip().equals(Long.toString(newPids.get(0))));
            Exec.Result byPidfile = script("--pidfile", pidfile.toString(), "--log",
                    first.dir().resolve("restart-again.log").toString());
            System.out.println("bin/pgloom-restart --pidfile:\n" + byPidfile.stdout());
            Matcher again = RESTARTED.matcher(byPidfile.stdout());
            assertThat(byPidfile.exitCode()).as(byPidfile.describe()).isZero();
            assertThat(again.find()).as("the script's report: %s", byPidfile.stdout()).isTrue();
            assertThat(Long.parseLong(again.group(1))).isEqualTo(newPids.get(0));
            assertThat(running(newPids.get(0))).as("the replaced instance %d runs", newPids.get(0)).isFalse();
            assertThat(Sql.value(c, "select 'kept across --pidfile'")).isEqualTo("kept across --pidfile");
        } finally {
            first.close();
            second.close();
        }
    }

    /** A pgloom on a port shared with so_reuseport; its own unix socket dir and pidfile. */
    private static PgloomProcess sharing(int port) {
        return Takeovers.withPidfile(PgloomProcess.builder())
                .set("listen_port", port)
                .set("so_reuseport", true)
                .set("pool_mode", "transaction")
                .set("default_pool_size", 2)
                .set("auth_type", "md5")
                .database(DB, pg, DB)
                .user("app", "apppass")
                .start();
    }

    @Test
    void refusesWhenNoInstanceRuns() {
        Path config = PgloomProcess.builder().database(DB, pg, DB).writeConfig();
        Exec.Result r = script("--jar", jar().toString(), config.toString());
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stdout()).contains("no running pgloom uses");
        Exec.Result usage = script("--all");
        assertThat(usage.exitCode()).as(usage.describe()).isEqualTo(2);
    }

    private Exec.Result script(String... args) {
        return script(Map.of(), args);
    }

    private Exec.Result script(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", repo().resolve("bin/pgloom-restart").toString()));
        command.addAll(List.of(args));
        Map<String, String> environment = new java.util.HashMap<>(env);
        environment.put("JAVA_HOME", System.getProperty("java.home"));
        Exec.Result r = Exec.run(command, environment, SCRIPT_TIMEOUT, true);
        // Whatever the outcome, every process the script started is ended after the test.
        Matcher started = NEW_PROCESS.matcher(r.stdout());
        while (started.find()) {
            startedByScript.add(Long.parseLong(started.group(1)));
        }
        return r;
    }

    private static Path repo() {
        return Path.of(System.getProperty("pgloom.basedir", System.getProperty("user.dir"))).toAbsolutePath();
    }

    private static Path jar() {
        String jar = System.getProperty("pgloom.jar");
        return jar != null ? Path.of(jar) : repo().resolve("target/pgloom.jar");
    }
}
