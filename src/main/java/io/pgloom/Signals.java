package io.pgloom;

import io.pgloom.log.Log;
import sun.misc.Signal;

/**
 * Unix signals, with PgBouncer's meanings: SIGHUP reload, SIGTERM shutdown once clients are gone,
 * SIGINT shutdown once servers are released (a second SIGTERM or SIGINT exits at once), SIGUSR1
 * pause, SIGUSR2 resume. HotSpot keeps SIGQUIT for thread dumps, so PgBouncer's fast exit is
 * SIGTERM twice (or the console's SHUTDOWN). A signal inherited as ignored (a background job of a
 * non-interactive shell, nohup) never reaches the JVM, so launchers must start pgloom with default
 * dispositions (bin/ scripts and systemd do). Handlers run on the JVM's signal threads.
 */
final class Signals {
    private Signals() {
    }

    static void install(Pgloom p) {
        handle("HUP", () -> {
            Log.log("got SIGHUP, re-reading config");
            p.operations().reloadFromFile();
        });
        handle("TERM", () -> {
            if (p.shutdownMode() != null) {
                p.exitNow("got SIGTERM again, fast exit");
            } else {
                Log.log("got SIGTERM, shutting down, waiting for all clients disconnect");
                p.beginShutdown(ShutdownMode.WAIT_FOR_CLIENTS);
            }
        });
        handle("INT", () -> {
            if (p.shutdownMode() != null) {
                p.exitNow("got SIGINT again, fast exit");
            } else {
                Log.log("got SIGINT, shutting down, waiting for all servers connections to be released");
                p.beginShutdown(ShutdownMode.WAIT_FOR_SERVERS);
            }
        });
        handle("USR1", () -> {
            Log.log("got SIGUSR1, pausing all activity");
            p.operations().pauseAsync();
        });
        handle("USR2", () -> {
            Log.log("got SIGUSR2, continuing");
            try {
                p.operations().resume(null);
            } catch (io.pgloom.admin.AdminError e) {
                Log.log("SIGUSR2: " + e.getMessage());
            }
        });
    }

    private static void handle(String name, Runnable action) {
        try {
            Signal.handle(new Signal(name), sig -> action.run());
        } catch (IllegalArgumentException e) {
            Log.warning("cannot handle SIG" + name + ": " + e.getMessage());
        }
    }
}
