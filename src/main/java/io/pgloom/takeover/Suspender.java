package io.pgloom.takeover;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientState;
import io.pgloom.config.General;
import io.pgloom.log.Log;
import io.pgloom.net.Listener;
import io.pgloom.net.Suspension;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * SUSPEND in the old process: stop accepting, then bring every connection to a safe point where
 * its thread reads no further byte. Clients go first; a pool's servers follow only once all of
 * that pool's clients have stopped, so waiting clients still get servers and finish what they
 * sent. Whatever is still not stopped after {@code suspend_timeout} is closed with that reason.
 * Runs on the console thread that issued SUSPEND.
 */
public final class Suspender {
    private static final long POLL_NANOS = 5_000_000L;

    private final PoolRegistry pools;
    private final ClientRegistry clients;
    private final List<Listener> listeners;

    public Suspender(PoolRegistry pools, ClientRegistry clients, List<Listener> listeners) {
        this.pools = pools;
        this.clients = clients;
        this.listeners = listeners;
    }

    /**
     * Suspends everything; returns once every connection is stopped or closed.
     *
     * @param carryRequests the successor is pgloom, which takes over what waiting clients have
     *     read but not sent: they stop at once instead of waiting for a server (PgBouncer and older
     *     successors cannot, so there waiting clients must get a server first)
     */
    public void suspend(boolean carryRequests) {
        Suspension s = pools.suspension();
        s.request();
        if (carryRequests) {
            for (Pool p : pools.poolList()) {
                p.suspendWaits();
            }
        }
        for (Listener l : listeners) {
            l.pause();
        }
        long start = System.nanoTime();
        long timeout = pools.general().get(General.SUSPEND_TIMEOUT).toNanos();
        boolean timedOut = false;
        while (true) {
            int running = step(s);
            if (running == 0) {
                break;
            }
            if (!timedOut && timeout > 0 && System.nanoTime() - start > timeout) {
                timedOut = true;
                closeUnsuspended(s);
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        Log.log("SUSPEND finished in " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    /** One pass: wakes what is still running; returns how many connections still run. */
    private int step(Suspension s) {
        int running = 0;
        Map<Pool, Boolean> clientsStopped = new HashMap<>();
        for (ClientConnection c : clients.all()) {
            if (c.isConsole() || c.closeReason() != null || c.state() == ClientState.CLOSED) {
                continue;
            }
            boolean stopped = s.isParked(c);
            if (!stopped) {
                running++;
                c.interruptRead();
            }
            if (c.pool() != null) {
                clientsStopped.merge(c.pool(), stopped, Boolean::logicalAnd);
            }
        }
        for (Pool p : pools.poolList()) {
            if (!p.serversSuspending() && clientsStopped.getOrDefault(p, true)) {
                p.setServersSuspending(true);
            }
            for (PoolEntry e : p.servers()) {
                ServerConnection sc = (ServerConnection) e;
                if (sc.isClosed() || s.isParked(sc)) {
                    continue;
                }
                running++;
                if (p.serversSuspending()) {
                    sc.interruptRead();
                }
            }
        }
        return running;
    }

    private void closeUnsuspended(Suspension s) {
        for (ClientConnection c : clients.all()) {
            if (!c.isConsole() && c.closeReason() == null && !s.isParked(c)) {
                c.close("suspend_timeout", true, SqlState.ADMIN_SHUTDOWN);
            }
        }
        for (Pool p : pools.poolList()) {
            for (PoolEntry e : p.servers()) {
                if (!s.isParked(e)) {
                    e.close("suspend_timeout");
                }
            }
        }
    }

    /** RESUME after SUSPEND (the console asked, or the process taking over went away). */
    public void resume() {
        for (Pool p : pools.poolList()) {
            p.setServersSuspending(false);
            p.resumeWaits();
        }
        pools.suspension().resume();
        for (Listener l : listeners) {
            l.resume();
        }
    }
}
