package io.pgloom;

import io.pgloom.log.Log;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Unix signals, with PgBouncer's meanings and log lines: SIGHUP reload, SIGTERM shutdown once
 * clients are gone, SIGINT shutdown once servers are released (a second SIGTERM or SIGINT exits
 * at once; either one during SUSPEND exits at once), SIGUSR1 pause, SIGUSR2 resume. HotSpot keeps
 * SIGQUIT for thread dumps, so PgBouncer's fast exit is SIGTERM twice (or the console's SHUTDOWN).
 * A signal inherited as ignored (a background job of a non-interactive shell, nohup) never reaches
 * the JVM, which keeps it ignored; that is logged as a warning here, and launchers start pgloom with
 * default dispositions (the bin/ scripts, {@code -d} and systemd do). Handlers run on the JVM's
 * signal threads.
 */
final class Signals {
    private Signals() {
    }

    static void install(Pgloom p) {
        handle("HUP", () -> {
            Log.log("got SIGHUP, re-reading config");
            p.operations().reloadFromFile();
        });
        handle("TERM", () -> shutdown(p, "SIGTERM", "waiting for all clients disconnect",
                ShutdownMode.WAIT_FOR_CLIENTS));
        handle("INT", () -> shutdown(p, "SIGINT", "waiting for all servers connections to be released",
                ShutdownMode.WAIT_FOR_SERVERS));
        handle("USR1", () -> {
            if (p.operations().pauseAsync()) {
                Log.log("got SIGUSR1, pausing all activity");
            } else {
                Log.log("got SIGUSR1, but already paused/suspended");
            }
        });
        handle("USR2", () -> resume(p));
    }

    private static void shutdown(Pgloom p, String signal, String waitingFor, ShutdownMode mode) {
        if (p.shutdownMode() != null) {
            p.exitNow("got " + signal + " while shutting down, fast exit");
            return;
        }
        Log.log("got " + signal + ", shutting down, " + waitingFor);
        if (p.pauseMode() == PauseMode.SUSPEND) {
            // the sockets may be half handed over: neither side can serve them safely any more
            p.die("suspend was in progress, going down immediately");
            return;
        }
        p.beginShutdown(mode);
    }

    private static void resume(Pgloom p) {
        if (p.shutdownMode() != null) {
            Log.log("got SIGUSR2 while shutting down, ignoring");
            return;
        }
        switch (p.pauseMode()) {
            case SUSPEND -> {
                Log.log("got SIGUSR2, continuing from SUSPEND");
                p.resumeFromSuspend();
            }
            case PAUSE -> {
                Log.log("got SIGUSR2, continuing from PAUSE");
                p.operations().resumeAll();
            }
            case NONE -> Log.log("got SIGUSR2, but not paused/suspended");
        }
    }

    private static void handle(String name, Runnable action) {
        try {
            SignalHandler old = Signal.handle(new Signal(name), sig -> action.run());
            if (old == SignalHandler.SIG_IGN) {
                Log.warning("SIG" + name + " was ignored when pgloom started (inherited from the process that"
                        + " started it) and cannot be handled; start pgloom with default signal dispositions");
            }
        } catch (IllegalArgumentException e) {
            Log.warning("cannot handle SIG" + name + ": " + e.getMessage());
        }
    }
}
