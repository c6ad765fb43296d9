package io.pgloom;

import io.pgloom.log.Log;
import sun.misc.Signal;

/**
 * Unix signals, on the JVM's signal-handler threads. A signal inherited as ignored (a background
 * job of a non-interactive shell, nohup) is never delivered to the JVM, so launchers must start
 * pgloom with default dispositions (bin/ scripts and systemd do).
 */
final class Signals {
    private Signals() {
    }

    static void install(Pgloom p) {
        handle("TERM", () -> p.shutdownNow("got SIGTERM, shutting down"));
        handle("INT", () -> p.shutdownNow("got SIGINT, shutting down"));
    }

    private static void handle(String name, Runnable action) {
        try {
            Signal.handle(new Signal(name), sig -> action.run());
        } catch (IllegalArgumentException e) {
            Log.warning("cannot handle SIG" + name + ": " + e.getMessage());
        }
    }
}
