package io.pgloom.log;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.configuration.Configuration;
import org.tinylog.provider.ProviderRegistry;

/**
 * Configures tinylog once at startup (stderr unless quiet, plus {@code logfile}), and holds the
 * settings that may change later (verbosity, log file name, reopen requests). Thread-safe.
 */
public final class LogSetup {
    private LogSetup() {
    }

    private static final String FORMAT = "{date:yyyy-MM-dd HH:mm:ss.SSS z} [{pid}] {message}";
    private static volatile String logfile = "";
    private static final AtomicLong REOPEN = new AtomicLong();
    private static boolean configured;

    /**
     * @param toStderr false with {@code -q}/{@code --quiet}
     */
    public static synchronized void configure(boolean toStderr, String logfileName, int verbose) {
        logfile = logfileName;
        Log.setVerbose(verbose);
        if (configured) {
            return;
        }
        configured = true;
        Map<String, String> c = new HashMap<>();
        c.put("writingthread", "true");
        c.put("autoshutdown", "false");
        c.put("level", "info");
        if (toStderr) {
            c.put("writer1", "console");
            c.put("writer1.stream", "err");
            c.put("writer1.format", FORMAT);
        }
        c.put("writer2", "log file");
        c.put("writer2.format", FORMAT);
        Configuration.replace(c);
    }

    /** Applies a changed {@code verbose} or {@code logfile} (RELOAD). */
    public static void update(String logfileName, int verbose) {
        logfile = logfileName;
        Log.setVerbose(verbose);
    }

    /** Reopens the log file at the next line (RELOAD, SIGHUP: logrotate support). */
    public static void reopen() {
        REOPEN.incrementAndGet();
    }

    static String logfile() {
        return logfile;
    }

    static long reopenGeneration() {
        return REOPEN.get();
    }

    /** Writes out every queued line; called before the process exits. */
    public static void shutdown() {
        try {
            ProviderRegistry.getLoggingProvider().shutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
