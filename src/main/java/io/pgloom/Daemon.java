package io.pgloom;

import io.pgloom.config.Config;
import io.pgloom.config.General;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code -d}/{@code --daemon}: PgBouncer's {@code go_daemon()} without {@code fork()}, which a JVM
 * cannot do. The process asked to detach (the launcher) validates the configuration, then starts
 * a copy of itself without {@code -d} (the same java binary, JVM options, jar and arguments, plus
 * {@code -q}) in a new session ({@code /usr/bin/setsid}), with stdin, stdout and stderr on
 * /dev/null and default signal dispositions, and waits until the copy has written the pidfile and
 * logged {@code process up}; then it exits 0. If the copy dies first, the launcher prints the
 * copy's last log lines and its exit status and exits 1.
 *
 * <p>PgBouncer's rules apply: a pidfile is required ({@code daemon needs pidfile configured}), and
 * so is logging, since stderr goes away ({@code daemon needs logging configured}; pgloom does not
 * write to syslog, so for pgloom this means {@code logfile}).
 *
 * <p>Runs on the launcher's main thread. The launcher never logs (the log file belongs to the copy);
 * it prints to its own stderr only.
 */
final class Daemon {
    private Daemon() {
    }

    /** How long the launcher waits for the copy to come up (a takeover with -R can take long). */
    static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
    private static final long POLL_MILLIS = 50;
    private static final int REPORT_LINES = 10;
    private static final String SETSID = "/usr/bin/setsid";
    private static final String ENV = "/usr/bin/env";
    /** Signals pgloom handles, and SIGQUIT (the JVM's thread dump), by name and number. */
    private static final String[] SIGNAL_NAMES = {"HUP", "INT", "QUIT", "USR1", "USR2", "TERM"};
    private static final int[] SIGNAL_NUMBERS = {1, 2, 3, 10, 12, 15};

    /**
     * Starts the detached copy and waits for it.
     *
     * @param args the command line as given (the copy gets it without -d)
     * @return the launcher's exit code
     */
    static int launch(String[] args, Main.Options o, Config config, PrintStream err) {
        String pidfile = config.get(General.PIDFILE);
        String logfile = config.get(General.LOGFILE);
        if (pidfile.isEmpty()) {
            err.println("pgloom: daemon needs pidfile configured");
            return 1;
        }
        if (logfile.isEmpty()) {
            err.println("pgloom: daemon needs logging configured (logfile; stderr goes to /dev/null and pgloom"
                    + " does not write to syslog)");
            return 1;
        }
        if (!Main.validate(config, err)) {
            return 1;
        }
        try {
            if (!o.takeover()) {
                // a takeover finds the old process's pidfile alive; the copy waits for it to go
                new Pidfile(pidfile).check();
            }
        } catch (StartupException e) {
            err.println("pgloom: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("pgloom: pidfile '" + pidfile + "': " + e.getMessage());
            return 1;
        }
        Path log = Path.of(logfile);
        long logStart = size(log);
        Process copy;
        List<String> command = command(args, o.quiet(), err);
        try {
            copy = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            err.println("pgloom: cannot start the daemon (" + String.join(" ", command) + "): " + e.getMessage());
            return 1;
        }
        return await(copy, Path.of(pidfile), log, logStart, err);
    }

    /**
     * Polls until the pidfile names the copy and its log says {@code process up}, or the copy
     * exits, or {@link #STARTUP_TIMEOUT} passes (the copy then keeps running).
     */
    private static int await(Process copy, Path pidfile, Path log, long logStart, PrintStream err) {
        String pid = Long.toString(copy.pid());
        String up = "[" + pid + "] LOG process up:";
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        try {
            while (!copy.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                boolean written = pid.equals(read(pidfile).trim());
                if (written && linesOf(log, logStart, pid).stream().anyMatch(l -> l.contains(up))) {
                    return 0;
                }
                if (System.nanoTime() - deadline > 0) {
                    err.println("pgloom: the daemon (pid " + pid + ") is not up after " + STARTUP_TIMEOUT.toSeconds()
                            + " s; it keeps running, see " + log);
                    return 1;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("pgloom: interrupted while waiting for the daemon (pid " + pid + ")");
            return 1;
        }
        List<String> lines = linesOf(log, logStart, pid);
        if (lines.isEmpty()) {
            err.println("pgloom: the daemon (pid " + pid + ") exited with status " + copy.exitValue()
                    + " before it was up, and logged nothing to " + log + "; run without -d to see why");
            return 1;
        }
        err.println("pgloom: the daemon (pid " + pid + ") exited with status " + copy.exitValue()
                + " before it was up; its last lines in " + log + ":");
        for (String l : lines.subList(Math.max(0, lines.size() - REPORT_LINES), lines.size())) {
            err.println("pgloom:   " + l);
        }
        return 1;
    }

    // ------------------------------------------------------------------ the copy's command line

    /**
     * {@code [setsid] [env --default-signal=...] <this java> <this JVM's options and jar or class
     * path> -q <args without -d>}.
     */
    static List<String> command(String[] args, boolean quiet, PrintStream err) {
        List<String> c = new ArrayList<>();
        if (Files.isExecutable(Path.of(SETSID))) {
            // a ProcessBuilder child is never a process group leader, so setsid(1) execs in place:
            // the copy keeps the pid we see
            c.add(SETSID);
        }
        c.addAll(signalReset(err));
        c.addAll(thisJvm(args));
        if (!quiet) {
            c.add("-q"); // stderr is /dev/null: as PgBouncer's cf_quiet in daemon mode
        }
        for (String a : args) {
            if (!a.equals("-d") && !a.equals("--daemon")) {
                c.add(a);
            }
        }
        return c;
    }

    /**
     * This process's java binary and everything before the program arguments on its command line
     * (JVM options, {@code -jar <jar>} or {@code -cp <path> io.pgloom.Main}), from
     * /proc/self/cmdline; where that cannot be matched, the JVM's input arguments and class path.
     */
    private static List<String> thisJvm(String[] args) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> c = new ArrayList<>();
        c.add(java);
        List<String> argv = Arrays.asList(read(Path.of("/proc/self/cmdline")).split("\0"));
        int head = argv.size() - args.length;
        if (head >= 2 && argv.subList(head, argv.size()).equals(Arrays.asList(args))) {
            c.addAll(argv.subList(1, head));
            return c;
        }
        c.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        c.add(Main.class.getName());
        return c;
    }

    /**
     * A signal this process inherited as ignored would stay ignored in the copy (exec keeps
     * SIG_IGN), and the JVM cannot then handle it: bash ignores SIGINT and SIGQUIT in {@code &}
     * jobs of a script, nohup ignores SIGHUP. {@code env --default-signal} (coreutils 8.31+)
     * resets them.
     */
    private static List<String> signalReset(PrintStream err) {
        List<String> ignored = ignoredSignals();
        if (ignored.isEmpty()) {
            return List.of();
        }
        String reset = "--default-signal=" + String.join(",", SIGNAL_NAMES);
        if (envCanReset()) {
            return List.of(ENV, reset);
        }
        err.println("pgloom: warning: SIG" + String.join(", SIG", ignored) + " ignored by this process stay ignored"
                + " in the daemon (" + ENV + " has no --default-signal), so pgloom cannot handle them");
        return List.of();
    }

    /** The names of the signals in {@link #SIGNAL_NAMES} that this process ignores (SigIgn in /proc/self/status). */
    static List<String> ignoredSignals() {
        long mask = 0;
        for (String line : read(Path.of("/proc/self/status")).split("\n")) {
            if (line.startsWith("SigIgn:")) {
                mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16);
            }
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < SIGNAL_NAMES.length; i++) {
            if ((mask & (1L << (SIGNAL_NUMBERS[i] - 1))) != 0) {
                names.add(SIGNAL_NAMES[i]);
            }
        }
        return names;
    }

    private static boolean envCanReset() {
        try {
            Process p = new ProcessBuilder(ENV, "--default-signal=INT", "true")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ------------------------------------------------------------------ files

    /** The file's text, or "" when it is missing or unreadable (polled while the copy starts). */
    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The lines of process {@code pid} written to {@code log} from byte {@code start} on (all of it if it shrank). */
    private static List<String> linesOf(Path log, long start, String pid) {
        List<String> lines = new ArrayList<>();
        String tag = " [" + pid + "] ";
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long from = f.length() < start ? 0 : start;
            byte[] bytes = new byte[(int) Math.min(f.length() - from, Integer.MAX_VALUE - 8)];
            f.seek(from);
            f.readFully(bytes);
            for (String l : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                if (l.contains(tag)) {
                    lines.add(l);
                }
            }
        } catch (IOException e) {
            // not written yet
        }
        return lines;
    }
}
