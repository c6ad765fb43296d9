package io.pgloom.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

/**
 * The real pgloom jar running as a separate process, as a test's system under test (PgBouncer's
 * {@code Bouncer} fixture in {@code test/utils.py}).
 *
 * <p>Runs {@code <java.home>/bin/java -jar <pgloom.jar> [args] <config>}, with stdout and stderr
 * captured in {@code pgloom.log} in the process's temp dir, and returns once the listen port
 * accepts TCP connections. Either build the TOML config with {@link #builder()} (free port,
 * {@code listen_addr = "127.0.0.1"}, {@code unix_socket_dir} = the temp dir, logs to stderr), or
 * bring a config file of your own with {@link #start(Path)}. {@link #runToExit} runs the jar for
 * commands that end on their own ({@code --check}, a bad config).
 *
 * <p>{@link #close()} stops the process and copies its log to {@code target/it-logs/}. Temp dirs
 * are removed, and any process still running is killed, when the test JVM exits (not at close: a
 * takeover successor may still use the old process's socket dir).
 *
 * <p>Thread-safe: the process handle and files may be used from any thread; the
 * {@link Builder} is not.
 */
public final class PgloomProcess implements AutoCloseable {

    /** How long {@code start} waits for the port to accept connections. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** How long {@link #stop()} waits after SIGTERM before SIGKILL. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private static final Set<PgloomProcess> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Path> DIRS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(PgloomProcess::cleanUpAtExit, "pgloom-it-cleanup"));
    }

    /** A finished run of the jar: its exit code and its stdout and stderr, merged. */
    public record Exit(int code, String output) {
    }

    private final String name;
    private final Process process;
    private final Path dir;
    private final Path configFile;
    private final Path logFile;
    private final int port;
    private final String probeHost;
    private final Path unixSocketDir;
    private final AtomicBoolean archived = new AtomicBoolean();

    private PgloomProcess(String name, Process process, Path dir, Path configFile, Path logFile, int port,
            String probeHost, Path unixSocketDir) {
        this.name = name;
        this.process = process;
        this.dir = dir;
        this.configFile = configFile;
        this.logFile = logFile;
        this.port = port;
        this.probeHost = probeHost;
        this.unixSocketDir = unixSocketDir;
    }

    // *** Starting ***

    /** A builder writing a TOML config into a fresh temp dir. */
    public static Builder builder() {
        return new Builder();
    }

    /** Starts the jar with a config file written by the test (TOML or ini), and waits for its port. */
    public static PgloomProcess start(Path configFile) {
        return start(configFile, List.of());
    }

    /**
     * Starts {@code java -jar pgloom.jar <args...> <configFile>} and waits for its port. The port,
     * listen address and unix socket dir are read from the file ({@code listen_port},
     * {@code listen_addr}, {@code unix_socket_dir}; PgBouncer's defaults when absent). With
     * {@code args = ["-R"]} this is a takeover successor of a process using the same file.
     */
    public static PgloomProcess start(Path configFile, List<String> args) {
        String text = Exec.read(configFile);
        int port = Integer.parseInt(configValue(text, "listen_port").orElse("6432"));
        String listenAddr = configValue(text, "listen_addr").orElse("");
        Path socketDir = Path.of(configValue(text, "unix_socket_dir").orElse("/tmp"));
        return launch(callerName(), newDir(), configFile.toAbsolutePath(), List.of(), args, port, listenAddr,
                socketDir);
    }

    /**
     * Runs the jar with {@code args} until it exits on its own ({@code --check cfg}, {@code -h},
     * a config that must be rejected).
     *
     * @throws AssertionError when it is still running after {@code timeout} (it is killed)
     */
    public static Exit runToExit(List<String> args, Duration timeout) {
        List<String> command = new ArrayList<>(javaCommand());
        command.addAll(args);
        Exec.Result result = Exec.run(command, Map.of(), timeout, true);
        return new Exit(result.exitCode(), result.stdout());
    }

    private static PgloomProcess launch(String name, Path dir, Path config, List<String> jvmOptions,
            List<String> args, int port, String listenAddr, Path socketDir) {
        List<String> command = new ArrayList<>(javaCommand());
        command.addAll(1, jvmOptions);
        command.addAll(args);
        command.add(config.toString());
        Path log = dir.resolve("pgloom.log");
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new AssertionError("cannot start " + command + ": " + e.getMessage(), e);
        }
        PgloomProcess pgloom = new PgloomProcess(name, process, dir, config, log, port, probeHost(listenAddr),
                socketDir);
        LIVE.add(pgloom);
        pgloom.awaitListening(command);
        return pgloom;
    }

    private void awaitListening(List<String> command) {
        try {
            Wait.until("pgloom to accept connections on port " + port, START_TIMEOUT,
                    () -> !process.isAlive() || accepting(),
                    () -> "command: " + command + "\n---- log tail ----\n" + Exec.tail(log(), 40));
        } catch (AssertionError e) {
            kill9();
            archiveLog();
            throw e;
        }
        if (!process.isAlive()) {
            archiveLog();
            throw new AssertionError("pgloom exited with code " + process.exitValue() + " before accepting"
                    + " connections on port " + port + "\ncommand: " + command
                    + "\n---- log tail ----\n" + Exec.tail(log(), 40));
        }
    }

    /** True when the listen socket accepts (TCP), or the unix socket exists (unix-only config). */
    private boolean accepting() {
        if (probeHost == null) {
            return Files.exists(unixSocketDir.resolve(".s.PGSQL." + port));
        }
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(probeHost, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // *** Facts ***

    public int port() {
        return port;
    }

    /** The dir of pgloom's unix socket {@code .s.PGSQL.<port>}. */
    public Path unixSocketDir() {
        return unixSocketDir;
    }

    /** The config file this process was started with. */
    public Path configFile() {
        return configFile;
    }

    /** This process's temp dir (log; for builder-made processes also config and userlist). */
    public Path dir() {
        return dir;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** {@code jdbc:postgresql://127.0.0.1:<port>/<db>?sslmode=disable&gssEncMode=disable}. */
    public String jdbcUrl(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db + "?sslmode=disable&gssEncMode=disable";
    }

    /** {@link #jdbcUrl(String)} plus pgjdbc parameters, e.g. {@code "prepareThreshold=0"}. */
    public String jdbcUrl(String db, String extraParams) {
        return jdbcUrl(db) + "&" + extraParams;
    }

    /** A new pgjdbc connection through pgloom. */
    public Connection connect(String db, String user, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        return Drivers.PGJDBC.connect(jdbcUrl(db), props);
    }

    // *** Log ***

    /** The whole log so far (stdout and stderr, merged). */
    public String log() {
        return Exec.read(logFile);
    }

    /** The log's current length in chars; a mark for {@link #logSince} and {@link #waitForLogAfter}. */
    public long logSize() {
        return log().length();
    }

    /** The log written after {@code mark} (from {@link #logSize()}). */
    public String logSince(long mark) {
        String log = log();
        return log.substring((int) Math.min(mark, log.length()));
    }

    /**
     * True when the log contains {@code substringOrRegex} as a substring, or, if it is a valid
     * regex, when the regex is found. Note a regex matches more than the same text as a substring
     * ({@code .} is any char): for negative assertions prefer text without regex metacharacters.
     */
    public boolean logContains(String substringOrRegex) {
        return firstMatch(log(), substringOrRegex) != null;
    }

    /**
     * Waits until the log contains {@code substringOrRegex} (as {@link #logContains}) and returns
     * the first matching line.
     */
    public String waitForLog(String substringOrRegex, Duration timeout) {
        return waitForLogAfter(0, substringOrRegex, timeout);
    }

    /** As {@link #waitForLog}, but only in what was logged after {@code mark} (from {@link #logSize()}). */
    public String waitForLogAfter(long mark, String substringOrRegex, Duration timeout) {
        String what = "pgloom log line matching \"" + substringOrRegex + "\"";
        try {
            return Wait.untilValue(what, timeout, () -> firstMatch(logSince(mark), substringOrRegex),
                    line -> line != null);
        } catch (AssertionError e) {
            throw new AssertionError("timed out after " + timeout + " waiting for: " + what
                    + (isAlive() ? "" : " (pgloom has exited)") + "\n---- log tail ----\n" + Exec.tail(log(), 40));
        }
    }

    private static String firstMatch(String log, String substringOrRegex) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(substringOrRegex);
        } catch (PatternSyntaxException e) {
            pattern = null;
        }
        for (String line : log.split("\n")) {
            if (line.contains(substringOrRegex) || (pattern != null && pattern.matcher(line).find())) {
                return line;
            }
        }
        // A multi-line pattern or substring.
        if (log.contains(substringOrRegex)) {
            return substringOrRegex;
        }
        if (pattern != null) {
            Matcher m = pattern.matcher(log);
            if (m.find()) {
                return m.group();
            }
        }
        return null;
    }

    // *** Signals and stopping ***

    /** Sends {@code sig} ({@code "HUP"}, {@code "INT"}, {@code "USR1"}, ...) with {@code kill -s}. */
    public void signal(String sig) {
        Exec.Result result = Exec.run(List.of("kill", "-s", sig, Long.toString(pid())), Map.of(),
                Duration.ofSeconds(10), true);
        if (result.exitCode() != 0) {
            throw new AssertionError("kill -s " + sig + " " + pid() + " failed: " + result.stdout());
        }
    }

    /**
     * Waits for the process to exit on its own (after SHUTDOWN, a signal or a takeover).
     *
     * @return its exit code
     * @throws AssertionError when it is still running after {@code timeout}
     */
    public int waitForExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("pgloom (pid " + pid() + ") still running after " + timeout
                        + "\n---- log tail ----\n" + Exec.tail(log(), 40));
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** SIGTERM, up to {@link #STOP_TIMEOUT} for an exit, then SIGKILL. Returns the exit code. */
    public int stop() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    System.err.println("pgloom (pid " + pid() + ") ignored SIGTERM for " + STOP_TIMEOUT
                            + "; sending SIGKILL");
                    return kill9();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill9();
                throw new AssertionError("interrupted while stopping pgloom", e);
            }
        }
        return exitCodeAfterExit();
    }

    /** SIGKILL, and waits for the exit. Returns the exit code (137). */
    public int kill9() {
        process.destroyForcibly();
        return exitCodeAfterExit();
    }

    private int exitCodeAfterExit() {
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("pgloom (pid " + pid() + ") did not exit");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for pgloom to exit", e);
        }
        return process.exitValue();
    }

    /** Stops the process (as {@link #stop()}) and keeps its log under {@code target/it-logs/}. */
    @Override
    public void close() {
        try {
            stop();
        } finally {
            LIVE.remove(this);
            archiveLog();
        }
    }

    @Override
    public String toString() {
        return "pgloom[pid " + pid() + ", port " + port + ", " + dir + "]";
    }

    // *** Helpers ***

    private void archiveLog() {
        if (!archived.compareAndSet(false, true)) {
            return;
        }
        String base = System.getProperty("pgloom.basedir");
        if (base == null || !Files.exists(logFile)) {
            return;
        }
        try {
            Path logs = Files.createDirectories(Path.of(base, "target", "it-logs"));
            Files.copy(logFile, logs.resolve(name + "-port" + port + "-pid" + pid() + ".log"),
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            System.err.println("could not keep the pgloom log " + logFile + ": " + e);
        }
    }

    private static void cleanUpAtExit() {
        for (PgloomProcess p : LIVE) {
            p.process.descendants().forEach(ProcessHandle::destroyForcibly);
            p.process.destroyForcibly();
            try {
                p.process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            p.archiveLog();
        }
        for (Path dir : DIRS) {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // At JVM exit; a leftover temp dir is harmless.
        }
    }

    /** {@code <java.home>/bin/java -jar <pgloom.jar>}: the start of every pgloom command line. */
    static List<String> javaCommand() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String jar = System.getProperty("pgloom.jar");
        if (jar == null) {
            jar = Path.of(System.getProperty("pgloom.basedir", System.getProperty("user.dir")), "target", "pgloom.jar")
                    .toString();
        }
        if (!Files.isRegularFile(Path.of(jar))) {
            throw new AssertionError("pgloom jar not found at " + jar + ": build it first (mvn package;"
                    + " Failsafe passes -Dpgloom.jar)");
        }
        return List.of(java, "-jar", jar);
    }

    private static Path newDir() {
        try {
            Path dir = Files.createTempDirectory("pgloom-it-");
            DIRS.add(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A name for archived logs: the calling test class and method, e.g. {@code PoolModeIT.transaction}. */
    private static String callerName() {
        return StackWalker.getInstance().walk(frames -> frames
                        .filter(f -> f.getClassName().endsWith("IT"))
                        .findFirst()
                        .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1)
                                + "." + f.getMethodName())
                        .orElse("pgloom"))
                .replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    /** The value of {@code key} in a TOML or ini file (first occurrence; quotes stripped). */
    private static Optional<String> configValue(String text, String key) {
        Pattern p = Pattern.compile("(?m)^\\s*" + Pattern.quote(key) + "\\s*=\\s*(\"[^\"]*\"|'[^']*'|[^#;\\r\\n]*)");
        Matcher m = p.matcher(text);
        if (!m.find()) {
            return Optional.empty();
        }
        String value = m.group(1).strip();
        if (value.length() >= 2 && (value.startsWith("\"") || value.startsWith("'"))) {
            value = value.substring(1, value.length() - 1);
        }
        return Optional.of(value);
    }

    /** Where to probe TCP for a listen_addr; null when pgloom listens on the unix socket only. */
    private static String probeHost(String listenAddr) {
        String first = listenAddr.split(",")[0].strip();
        return switch (first) {
            case "" -> null;
            case "*", "0.0.0.0" -> "127.0.0.1";
            case "::" -> "::1";
            default -> first;
        };
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // *** Builder ***

    /**
     * Collects a pgloom TOML config: {@code [pgloom]} keys, {@code [databases.<name>]} and
     * {@code [users.<name>]} tables, and auth_file lines. Values: String, Integer/Long,
     * Boolean, Double, Path (as a string), List and Map (inline table) of those.
     */
    public static final class Builder {

        private final Path dir = newDir();
        private final String name = callerName();
        private final Map<String, Object> settings = new LinkedHashMap<>();
        private final Set<String> unset = new HashSet<>();
        private final Map<String, Map<String, Map<String, Object>>> tables = new LinkedHashMap<>();
        private final List<String> authLines = new ArrayList<>();
        private final List<String> args = new ArrayList<>();
        private final List<String> jvmOptions = new ArrayList<>();

        private Builder() {
        }

        /** Sets a {@code [pgloom]} key, e.g. {@code set("default_pool_size", 5)}. */
        public Builder set(String key, Object value) {
            settings.put(key, value);
            unset.remove(key);
            return this;
        }

        /** Leaves a key out, including the ones the builder would default (listen_addr, unix_socket_dir). */
        public Builder unset(String key) {
            settings.remove(key);
            unset.add(key);
            return this;
        }

        /** Adds {@code [databases.<name>]} with these keys ({@code host}, {@code port}, {@code dbname}, ...). */
        public Builder database(String name, Map<String, ?> params) {
            return table("databases", name, params);
        }

        /** Adds {@code [databases.<name>]} pointing at database {@code dbname} of the test PostgreSQL. */
        public Builder database(String name, PgCluster pg, String dbname) {
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("host", pg.host());
            params.put("port", pg.port());
            params.put("dbname", dbname);
            return table("databases", name, params);
        }

        /** Adds {@code [users.<name>]} with these keys (e.g. {@code pool_mode}, {@code max_user_connections}). */
        public Builder userSection(String name, Map<String, ?> params) {
            return table("users", name, params);
        }

        /** Adds a {@code [<table>.<name>]} table of any other kind (e.g. {@code peers}). */
        public Builder table(String table, String name, Map<String, ?> params) {
            tables.computeIfAbsent(table, t -> new LinkedHashMap<>()).put(name, new LinkedHashMap<>(params));
            return this;
        }

        /**
         * Adds {@code "name" "password"} to the userlist.txt this builder writes, and points
         * {@code auth_file} at it. The password may be plain, {@code md5...} or {@code SCRAM-SHA-256$...}.
         */
        public Builder user(String name, String password) {
            return authFileLine(quoteUserlist(name) + " " + quoteUserlist(password));
        }

        /** Adds a raw line to userlist.txt (a comment, or a deliberately malformed line). */
        public Builder authFileLine(String line) {
            authLines.add(line);
            return this;
        }

        /** Adds a command line argument, placed before the config path. */
        public Builder arg(String arg) {
            args.add(arg);
            return this;
        }

        /**
         * Adds a JVM option, placed after {@code java} and before {@code -jar} (e.g. {@code -Xmx64m},
         * {@code -XX:MaxDirectMemorySize=16m}).
         */
        public Builder jvmOption(String option) {
            jvmOptions.add(option);
            return this;
        }

        /** Writes a file into the config's dir (an hba file, a second config) and returns this builder. */
        public Builder file(String fileName, String content) {
            try {
                Files.writeString(dir.resolve(fileName), content, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** The temp dir the config, userlist and log go to (also the default unix_socket_dir). */
        public Path dir() {
            return dir;
        }

        /**
         * Writes pgloom.toml (and userlist.txt) into {@link #dir()} without starting anything,
         * for {@link #runToExit} or {@link PgloomProcess#start(Path)}. Picks the free listen_port here.
         */
        public Path writeConfig() {
            if (!settings.containsKey("listen_port") && !unset.contains("listen_port")) {
                settings.put("listen_port", freePort());
            }
            defaultTo("listen_addr", "127.0.0.1");
            defaultTo("unix_socket_dir", dir.toString());
            try {
                if (!authLines.isEmpty()) {
                    Path userlist = dir.resolve("userlist.txt");
                    Files.writeString(userlist, String.join("\n", authLines) + "\n", StandardCharsets.UTF_8);
                    defaultTo("auth_file", userlist.toString());
                }
                Path config = dir.resolve("pgloom.toml");
                Files.writeString(config, toToml(), StandardCharsets.UTF_8);
                return config;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Writes the config and starts pgloom with it; returns once its port accepts connections. */
        public PgloomProcess start() {
            Path config = writeConfig();
            Object port = settings.get("listen_port");
            if (port == null) {
                throw new IllegalStateException("listen_port was unset; use PgloomProcess.start(configFile)");
            }
            String listenAddr = String.valueOf(settings.getOrDefault("listen_addr", ""));
            Path socketDir = Path.of(String.valueOf(settings.getOrDefault("unix_socket_dir", "/tmp")));
            return launch(name, dir, config, jvmOptions, args, Integer.parseInt(port.toString()), listenAddr,
                    socketDir);
        }

        /** The TOML text of the config as it stands. */
        public String toToml() {
            StringBuilder out = new StringBuilder("[pgloom]\n");
            settings.forEach((k, v) -> out.append(Toml.key(k)).append(" = ").append(Toml.value(v)).append('\n'));
            tables.forEach((table, entries) -> entries.forEach((entry, params) -> {
                out.append('\n').append('[').append(Toml.key(table)).append('.').append(Toml.key(entry))
                        .append("]\n");
                params.forEach((k, v) -> out.append(Toml.key(k)).append(" = ").append(Toml.value(v)).append('\n'));
            }));
            return out.toString();
        }

        private void defaultTo(String key, Object value) {
            if (!settings.containsKey(key) && !unset.contains(key)) {
                settings.put(key, value);
            }
        }

        /** PgBouncer's auth_file quoting: double quotes, with an embedded quote doubled. */
        private static String quoteUserlist(String s) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
    }

    /** TOML text for keys and values (TOML 1.0, section "Keys" and "String"). */
    static final class Toml {

        private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");

        private Toml() {
        }

        static String key(String key) {
            return BARE_KEY.matcher(key).matches() ? key : string(key);
        }

        static String value(Object value) {
            return switch (value) {
                case null -> throw new IllegalArgumentException("TOML has no null");
                case String s -> string(s);
                case Path p -> string(p.toString());
                case Boolean b -> b.toString();
                case Integer i -> i.toString();
                case Long l -> l.toString();
                case Short s -> s.toString();
                case Byte b -> b.toString();
                case Double d -> floating(d);
                case Float f -> floating(f.doubleValue());
                case List<?> list -> {
                    List<String> items = new ArrayList<>();
                    list.forEach(item -> items.add(value(item)));
                    yield "[" + String.join(", ", items) + "]";
                }
                case Map<?, ?> map -> {
                    List<String> items = new ArrayList<>();
                    map.forEach((k, v) -> items.add(key(String.valueOf(k)) + " = " + value(v)));
                    yield "{ " + String.join(", ", items) + " }";
                }
                default -> throw new IllegalArgumentException("no TOML form for " + value.getClass().getName()
                        + " (" + value + "); pass a String, number, Boolean, List or Map");
            };
        }

        private static String floating(double d) {
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException("not a finite number: " + d);
            }
            return Double.toString(d);
        }

        static String string(String s) {
            StringBuilder out = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\b' -> out.append("\\b");
                    case '\t' -> out.append("\\t");
                    case '\n' -> out.append("\\n");
                    case '\f' -> out.append("\\f");
                    case '\r' -> out.append("\\r");
                    default -> {
                        if (c < 0x20 || c == 0x7f) {
                            out.append(String.format("\\u%04X", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            return out.append('"').toString();
        }
    }
}
