package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code -d}: the launcher returns 0 once the detached copy is up (pidfile written, port open);
 * the copy runs in its own session with stdin, stdout and stderr on /dev/null, serves clients,
 * and SIGTERM to the pid in the pidfile ends it and removes the pidfile. Without pidfile or
 * logfile it is refused with PgBouncer's words; a copy that dies is reported with its log line;
 * signals the launcher inherited as ignored are not ignored in the copy.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DaemonIT {

    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(40);
    private static final Duration WAIT = Duration.ofSeconds(15);

    private static PgCluster pg;
    /** Daemons started by a test, killed after it in case it failed half way. */
    private final List<Long> daemons = new ArrayList<>();

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
    }

    @AfterEach
    void killLeftovers() {
        for (long pid : daemons) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private static PgloomProcess.Builder config(boolean pidfile, boolean logfile) {
        PgloomProcess.Builder b = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", pg, "app")
                .user("app", "apppass");
        if (pidfile) {
            b.set("pidfile", b.dir().resolve("pgloom.pid").toString());
        }
        if (logfile) {
            b.set("logfile", b.dir().resolve("pgloom.log").toString());
        }
        return b;
    }

    /** Runs the launcher ({@code java -jar pgloom.jar -d <config>}), behind {@code prefix} if any. */
    private static Exec.Result launch(Path config, List<String> prefix) {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(PgloomProcess.javaCommand());
        command.add("-d");
        command.add(config.toString());
        return Exec.run(command, Map.of(), RUN_TIMEOUT, true);
    }

    /** The daemon's pid from its pidfile (registered for cleanup). */
    private long daemonPid(Path dir) throws IOException {
        long pid = Long.parseLong(Files.readString(dir.resolve("pgloom.pid"), StandardCharsets.UTF_8).trim());
        daemons.add(pid);
        return pid;
    }

    private static String value(int port, String sql) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "app");
        props.setProperty("password", "apppass");
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/app?sslmode=disable&gssEncMode=disable";
        try (Connection c = Drivers.PGJDBC.connect(url, props)) {
            return Sql.value(c, sql);
        }
    }

    private static String proc(long pid, String file) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/" + file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot read /proc/" + pid + "/" + file + ": " + e);
        }
    }

    /** Bits of SigIgn in /proc/pid/status. */
    private static long ignoredSignals(long pid) {
        return proc(pid, "status").lines().filter(l -> l.startsWith("SigIgn:"))
                .map(l -> Long.parseUnsignedLong(l.substring(7).trim(), 16)).findFirst().orElseThrow();
    }

    private static void awaitGone(long pid) {
        Wait.until("pid " + pid + " to exit", WAIT,
                () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void detachesServesAndStopsOnSigterm() throws Exception {
        int port = PgloomProcess.freePort();
        PgloomProcess.Builder b = config(true, true).set("listen_port", port);
        Path configFile = b.writeConfig();

        Exec.Result launcher = launch(configFile, List.of());

        assertThat(launcher.exitCode()).as(launcher.stdout()).isZero();
        assertThat(launcher.stdout()).isEmpty();
        long pid = daemonPid(b.dir());
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true);
        // its own session, no terminal, nothing inherited from the launcher's stdio
        String[] stat = proc(pid, "stat").substring(proc(pid, "stat").lastIndexOf(')') + 2).split(" ");
        assertThat(stat[3]).as("session id").isEqualTo(Long.toString(pid));
        for (int fd = 0; fd <= 2; fd++) {
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd))).hasToString("/dev/null");
        }
        assertThat(proc(pid, "cmdline").split("\0")).contains("-q").doesNotContain("-d");
        assertThat(value(port, "select current_user || ' ' || (6 * 7)")).isEqualTo("app 42");
        Path log = b.dir().resolve("pgloom.log");
        assertThat(Files.readString(log)).contains("[" + pid + "] LOG process up:");

        Exec.run(List.of("kill", "-s", "TERM", Long.toString(pid)), Map.of(), WAIT, true);

        awaitGone(pid);
        assertThat(b.dir().resolve("pgloom.pid")).doesNotExist();
        assertThat(Files.readString(log)).contains("[" + pid + "] LOG got SIGTERM, shutting down")
                .contains("[" + pid + "] LOG client connections dropped, exiting");
    }

    @Test
    void needsPidfileAndLogfile() {
        Exec.Result noPidfile = launch(config(false, true).writeConfig(), List.of());
        assertThat(noPidfile.exitCode()).as(noPidfile.stdout()).isEqualTo(1);
        assertThat(noPidfile.stdout()).contains("pgloom: daemon needs pidfile configured");

        PgloomProcess.Builder b = config(true, false);
        Exec.Result noLogfile = launch(b.writeConfig(), List.of());
        assertThat(noLogfile.exitCode()).as(noLogfile.stdout()).isEqualTo(1);
        assertThat(noLogfile.stdout()).contains("pgloom: daemon needs logging configured");
        assertThat(b.dir().resolve("pgloom.pid")).doesNotExist();
    }

    @Test
    void reportsWhyTheDaemonDied() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            PgloomProcess.Builder b = config(true, true).set("listen_port", taken.getLocalPort());

            Exec.Result launcher = launch(b.writeConfig(), List.of());

            assertThat(launcher.exitCode()).as(launcher.stdout()).isEqualTo(1);
            assertThat(launcher.stdout())
                    .containsPattern("the daemon \\(pid \\d+\\) exited with status 1 before it was up")
                    .contains("FATAL could not listen on port " + taken.getLocalPort());
            assertThat(b.dir().resolve("pgloom.pid")).doesNotExist();
        }
    }

    @Test
    void signalsTheLauncherIgnoredAreNotIgnoredInTheDaemon() throws Exception {
        PgloomProcess.Builder b = config(true, true);
        // as a background job of a script, or nohup: SIGINT and SIGHUP ignored in the launcher
        Exec.Result launcher = launch(b.writeConfig(), List.of("bash", "-c", "trap '' INT HUP; exec \"$@\"", "bash"));

        assertThat(launcher.exitCode()).as(launcher.stdout()).isZero();
        long pid = daemonPid(b.dir());
        long sigint = 1L << 1;
        long sighup = 1L;
        assertThat(ignoredSignals(pid) & (sigint | sighup)).as("SigIgn of the daemon").isZero();
        Path log = b.dir().resolve("pgloom.log");
        assertThat(Files.readString(log)).doesNotContain("was ignored when pgloom started");

        Exec.run(List.of("kill", "-s", "INT", Long.toString(pid)), Map.of(), WAIT, true);

        awaitGone(pid);
        assertThat(Files.readString(log)).contains("[" + pid + "] LOG got SIGINT, shutting down")
                .contains("[" + pid + "] LOG server connections dropped, exiting");
    }
}
