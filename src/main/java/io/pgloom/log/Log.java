package io.pgloom.log;

import org.tinylog.Logger;

/**
 * The log in PgBouncer's line format: {@code 2026-11-28 13:18:54.123 UTC [pid] LOG message}.
 * Levels are PgBouncer's: FATAL, ERROR, WARNING, LOG, DEBUG ({@code verbose >= 1}) and NOISE
 * ({@code verbose >= 2}). Lines are handed to tinylog's writing thread, so a slow disk never
 * stalls a connection thread. Socket-scoped lines carry the connection's prefix
 * ({@code C-0x1f: db/user@addr:port }), built by the caller. Thread-safe.
 */
public final class Log {
    private Log() {
    }

    private static volatile int verbose;

    static void setVerbose(int level) {
        verbose = level;
    }

    public static boolean debugEnabled() {
        return verbose >= 1;
    }

    public static boolean noiseEnabled() {
        return verbose >= 2;
    }

    public static void fatal(String message) {
        Logger.error("FATAL " + message);
    }

    public static void error(String message) {
        Logger.error("ERROR " + message);
    }

    public static void warning(String message) {
        Logger.warn("WARNING " + message);
    }

    public static void log(String message) {
        Logger.info("LOG " + message);
    }

    public static void debug(String message) {
        if (verbose >= 1) {
            Logger.info("DEBUG " + message);
        }
    }

    public static void noise(String message) {
        if (verbose >= 2) {
            Logger.info("NOISE " + message);
        }
    }

    /** A bug: logged as WARNING with the stack trace, which is the only place a trace is printed. */
    public static void bug(String message, Throwable t) {
        Logger.warn(t, "WARNING " + message + ": unexpected " + t);
    }
}
