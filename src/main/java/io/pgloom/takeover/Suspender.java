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
 * sent. When the successor is pgloom, a connection may stop anywhere between two reads, since
 * what it holds (a partial message, output its peer has not read) travels with it; PgBouncer
 * needs message boundaries.
 *
 * <p>{@code suspend_timeout} bounds each step, as in PgBouncer, where only the sockets that
 * cannot stop are disconnected and the rest are suspended: clients not stopped after it (a login,
 * or a client stalled mid-message for PgBouncer) are closed with that reason and no longer hold
 * their pool back; a pool's servers not stopped within it of being asked are closed, and so is
 * the client each was serving, which could not be handed over without it. So one stalled client
 * costs nobody else their connection. Nothing here waits on a socket. Runs on the console thread
 * that issued SUSPEND.
 */
public final class Suspender {
    private static final long POLL_NANOS = 5_000_000L;
    private static final String REASON = "suspend_timeout";

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
     * @param successor who takes over: a pgloom successor takes over what waiting clients have
     *     read, so they stop at once instead of waiting for a server, and, if recent, what any
     *     connection holds, so none need reach a message boundary (PgBouncer cannot, so there
     *     waiting clients must get a server first, and connections stop only at boundaries)
     */
    public void suspend(Successor successor) {
        Suspension s = pools.suspension();
        s.request(successor.carriesPartial());
        if (successor.carriesWaits()) {
            for (Pool p : pools.poolList()) {
                p.suspendWaits();
            }
        }
        for (Listener l : listeners) {
            l.pause();
        }
        long start = System.nanoTime();
        long timeout = pools.general().get(General.SUSPEND_TIMEOUT).toNanos();
        Map<Pool, Long> serversAsked = new HashMap<>();
        while (true) {
            long now = System.nanoTime();
            boolean clientsLate = timeout > 0 && now - start > timeout;
            int running = step(s, now, timeout, clientsLate, serversAsked);
            if (running == 0) {
                break;
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        Log.log("SUSPEND finished in " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    /**
     * One pass: wakes what is still running and closes what ran out of time; returns how many
     * connections still run.
     *
     * @param clientsLate suspend_timeout has passed since SUSPEND: clients still running cannot stop
     * @param serversAsked when each pool's servers were asked to stop
     */
    private int step(Suspension s, long now, long timeout, boolean clientsLate, Map<Pool, Long> serversAsked) {
        int running = 0;
        Map<Pool, Boolean> clientsStopped = new HashMap<>();
        for (ClientConnection c : clients.all()) {
            if (c.isConsole() || c.state() == ClientState.CLOSED) {
                continue;
            }
            boolean stopped = s.isParked(c);
            if (!stopped && c.closeReason() == null) {
                if (clientsLate) {
                    c.closeWithoutWaiting(REASON, SqlState.ADMIN_SHUTDOWN);
                } else {
                    c.interruptRead();
                }
            }
            if (!stopped && c.closeReason() != null && clientsLate) {
                // closed, and its thread may be stuck on a peer: it no longer holds anything back
                stopped = true;
            }
            if (!stopped) {
                running++;
            }
            if (c.pool() != null) {
                clientsStopped.merge(c.pool(), stopped, Boolean::logicalAnd);
            }
        }
        for (Pool p : pools.poolList()) {
            if (!p.serversSuspending() && clientsStopped.getOrDefault(p, true)) {
                p.setServersSuspending(true);
                serversAsked.put(p, now);
            }
            for (PoolEntry e : p.servers()) {
                ServerConnection sc = (ServerConnection) e;
                if (sc.isClosed() || s.isParked(sc)) {
                    continue;
                }
                if (p.serversSuspending()) {
                    if (timeout > 0 && now - serversAsked.getOrDefault(p, now) > timeout) {
                        closeServer(sc);
                        continue;
                    }
                    sc.interruptRead();
                }
                running++;
            }
        }
        return running;
    }

    /**
     * A server that could not stop, and its client, which would be handed over without the
     * server it was using (and would wait forever for the rest of a result).
     */
    private static void closeServer(ServerConnection sc) {
        if (sc.linkedClient() instanceof ClientConnection c) {
            c.closeWithoutWaiting(REASON, SqlState.ADMIN_SHUTDOWN);
        }
        sc.close(REASON);
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
