package io.pgloom.client;

import io.pgloom.config.General;
import io.pgloom.config.UserKeys;
import io.pgloom.config.Values;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import java.time.Duration;

/**
 * The client-side timeouts, checked by the janitor for each client with PgBouncer's meaning and
 * messages: client_login_timeout, client_idle_timeout, query_timeout, idle_transaction_timeout
 * and transaction_timeout. A timeout that ends a linked server's work closes the server (the
 * query is not cancelled) and tells the client why. Stateless.
 */
public final class ClientTimeouts {
    private ClientTimeouts() {
    }

    public static void check(ClientConnection c, long now, Values g) {
        switch (c.state()) {
            case LOGIN -> {
                long limit = g.get(General.CLIENT_LOGIN_TIMEOUT).toNanos();
                if (limit > 0 && now - c.connectNanos() > limit) {
                    c.close("client_login_timeout", true, SqlState.PROTOCOL_VIOLATION);
                }
            }
            case WAITING -> {
                checkWaiting(c, now, g);
                releaseIdleThread(c, now, g);
            }
            case ACTIVE -> {
                checkActive(c, now, g);
                releaseIdleThread(c, now, g);
            }
            default -> {
            }
        }
    }

    private static void releaseIdleThread(ClientConnection c, long now, Values g) {
        long leaveAfter = g.get(General.IDLE_THREAD_TIMEOUT).toNanos();
        if (leaveAfter > 0 && now - c.lastActivityNanos() > leaveAfter) {
            c.releaseIdleThread();
        }
    }

    /**
     * query_wait_timeout (a client waiting inline has no thread timing its wait) and
     * query_timeout for a waiting client. The wait counts from when the request began to get a
     * server (a thread's own wait may start a moment later and times itself too).
     */
    private static void checkWaiting(ClientConnection c, long now, Values g) {
        long since = c.acquiringSinceNanos();
        long limit = c.queryWaitTimeoutNanos(g);
        if (limit > 0 && since != 0 && now - since > limit) {
            c.close("query_wait_timeout", true, SqlState.PROTOCOL_VIOLATION);
            return;
        }
        checkAcquiring(c, now, g);
    }

    /**
     * query_timeout for a request that has no linked server yet: the client waits in the pool
     * (PgBouncer's "query_timeout" for a waiting client), or its thread runs the check query or
     * the parameter SET on the server it got, which may never answer; that server is closed too.
     */
    private static void checkAcquiring(ClientConnection c, long now, Values g) {
        long limit = nanos(c, UserKeys.QUERY_TIMEOUT, g.get(General.QUERY_TIMEOUT));
        long since = c.acquiringSinceNanos();
        if (limit <= 0 || since == 0 || now - since <= limit) {
            return;
        }
        ServerConnection p = c.preparingServer();
        if (p != null) {
            // The client first: closing the server wakes the client's thread, which would close
            // the client's socket itself, perhaps before this thread's FATAL went out.
            c.close("query timeout", true, SqlState.PROTOCOL_VIOLATION);
            p.close("query timeout");
        } else {
            c.close("query_timeout", true, SqlState.PROTOCOL_VIOLATION);
        }
    }

    private static void checkActive(ClientConnection c, long now, Values g) {
        if (c.isConsole()) {
            return;
        }
        ServerConnection s = c.server();
        if (s == null && c.acquiringSinceNanos() != 0) {
            checkAcquiring(c, now, g);
            return;
        }
        if (s == null) {
            long idle = nanos(c, UserKeys.CLIENT_IDLE_TIMEOUT, g.get(General.CLIENT_IDLE_TIMEOUT));
            if (idle > 0 && now - c.lastActivityNanos() > idle) {
                c.close("client_idle_timeout", true, SqlState.PROTOCOL_VIOLATION);
            }
            return;
        }
        if (s.busy()) {
            long limit = nanos(c, UserKeys.QUERY_TIMEOUT, g.get(General.QUERY_TIMEOUT));
            long started = s.queryStartNanos();
            if (limit > 0 && started != 0 && now - started > limit) {
                s.close("query timeout");
                // The client too, as PgBouncer's unlink_server does: the server's thread, which
                // otherwise tells the client, may be blocked writing to a client that stopped
                // reading, and only closing the client wakes it (and frees the server's slot).
                c.close("query timeout", true, SqlState.PROTOCOL_VIOLATION);
            }
            return;
        }
        byte tx = s.txStatus();
        if (tx == 'T' || tx == 'E') {
            long idleTx = nanos(c, UserKeys.IDLE_TRANSACTION_TIMEOUT, g.get(General.IDLE_TRANSACTION_TIMEOUT));
            if (idleTx > 0 && now - s.lastResponseNanos() > idleTx) {
                s.close("idle transaction timeout");
                return;
            }
            long txLimit = nanos(c, UserKeys.TRANSACTION_TIMEOUT, g.get(General.TRANSACTION_TIMEOUT));
            long txStart = s.transactionStartNanos();
            if (txLimit > 0 && txStart != 0 && now - txStart > txLimit) {
                s.close("transaction timeout");
            }
        }
    }

    private static long nanos(ClientConnection c, io.pgloom.config.Setting<Duration> userKey, Duration general) {
        Duration d = c.user() == null ? null : c.user().overrides().get(userKey);
        return (d != null ? d : general).toNanos();
    }
}
