package io.pgloom.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short-lived command (psql, pgbench, pgtmp, the jar with {@code --check}) to completion
 * under a timeout. Output goes to temp files rather than pipes, so a chatty command can never
 * block on a full pipe and grandchildren that keep a pipe open cannot hang the caller.
 *
 * <p>Stateless; safe to call from any thread.
 */
final class Exec {

    /** libpq settings of the test JVM's environment that must not leak into the commands. */
    private static final Set<String> LIBPQ_ENV = Set.of(
            "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGDATABASE",
            "PGDATA", "PGOPTIONS", "PGSERVICE", "PGSERVICEFILE", "PGSSLMODE", "PGGSSENCMODE",
            "PGCONNECT_TIMEOUT", "PGAPPNAME", "PGTZ", "PGCLIENTENCODING", "PGTARGETSESSIONATTRS");

    private static final File DEV_NULL = new File("/dev/null");

    /** What a finished command left behind. With {@code mergeStderr}, {@code stderr} is empty. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        String describe() {
            return "command " + command + " exited with " + exitCode
                    + "\n---- stdout ----\n" + stdout + "\n---- stderr ----\n" + stderr;
        }
    }

    private Exec() {
    }

    /**
     * Runs {@code command} with the inherited environment minus libpq variables, plus {@code env}.
     *
     * @throws AssertionError when the command does not finish within {@code timeout} (it is
     *     killed, with its descendants) or cannot be started at all
     */
    static Result run(List<String> command, Map<String, String> env, Duration timeout, boolean mergeStderr) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("pgloom-exec-", ".out");
            err = Files.createTempFile("pgloom-exec-", ".err");
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().keySet().removeAll(LIBPQ_ENV);
            pb.environment().putAll(env);
            pb.redirectInput(DEV_NULL);
            pb.redirectOutput(out.toFile());
            if (mergeStderr) {
                pb.redirectErrorStream(true);
            } else {
                pb.redirectError(err.toFile());
            }
            Process process;
            try {
                process = pb.start();
            } catch (IOException e) {
                throw new AssertionError("cannot start " + command + ": " + e.getMessage(), e);
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("timed out after " + timeout + ": " + command
                        + "\n---- output so far ----\n" + read(out) + "\n" + read(err));
            }
            return new Result(List.copyOf(command), process.exitValue(), read(out), read(err));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of {@code text}, for failure messages. */
    static String tail(String text, int lines) {
        if (text.isEmpty()) {
            return text;
        }
        int end = text.length();
        int at = end;
        for (int i = 0; i <= lines && at > 0; i++) {
            at = text.lastIndexOf('\n', at - 1);
            if (at < 0) {
                return text;
            }
        }
        return text.substring(at + 1, end);
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A leftover temp file is harmless; the command's result matters more than this.
        }
    }
}
