package io.pgloom.client;

import io.pgloom.config.General;
import io.pgloom.log.Log;
import io.pgloom.pool.Pool;
import io.pgloom.proto.FrontendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.net.Wire;
import io.pgloom.server.ServerConnection;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.concurrent.locks.LockSupport;

/**
 * Handles a CancelRequest: finds the client by its pooler-made key and, if that client has a
 * query running on a server right now, sends a CancelRequest with the server's own key on a new
 * connection to that server, waiting (up to {@code cancel_wait_timeout}) until PostgreSQL closes
 * it. While the cancel is in flight the server is not given to anyone else, so a late cancel can
 * never hit another client's query. Runs on the thread of the connection that sent the request.
 */
final class CancelRequests {
    private CancelRequests() {
    }

    static void handle(ClientConnection requester, long key, ClientServices services) {
        ClientConnection target = services.clients().byCancelKey(key);
        if (target == null) {
            requester.close("failed cancel request", false, null);
            return;
        }
        if (target.isConsole()) {
            requester.close("cancel request for console client", false, null);
            return;
        }
        ServerConnection s = target.server();
        Pool pool = s == null ? null : s.pool();
        if (s == null || !pool.beginCancel(s, () -> s.linkedClient() == target && s.busy())) {
            requester.close("cancel request for idle client", false, null);
            return;
        }
        java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        try {
            send(s, services.pools().general().get(General.CANCEL_WAIT_TIMEOUT).toNanos(), services.pools().transport(), timedOut);
            requester.close("successfully sent cancel request", false, null);
        } catch (IOException e) {
            Log.debug(target.logPrefix() + "cancel request failed: " + e.getMessage());
            requester.close(timedOut.get() ? "cancel_wait_timeout" : "failed cancel request", false, null);
        } finally {
            pool.endCancel(s);
        }
    }

    /**
     * Connects to the server, sends the cancel and waits until PostgreSQL closes the connection;
     * after {@code timeoutNanos} the connection is closed and {@code timedOut} set.
     */
    private static void send(ServerConnection s, long timeoutNanos, io.pgloom.net.Transport transport,
            java.util.concurrent.atomic.AtomicBoolean timedOut) throws IOException {
        SocketAddress address = s.wire().remoteAddress();
        java.util.concurrent.atomic.AtomicReference<Wire> open = new java.util.concurrent.atomic.AtomicReference<>();
        Thread watchdog = Thread.ofVirtual().name("cancel-timeout").start(() -> {
            LockSupport.parkNanos(timeoutNanos);
            if (!Thread.currentThread().isInterrupted()) {
                timedOut.set(true);
                Wire w = open.get();
                if (w != null) {
                    w.close();
                }
            }
        });
        Wire ch = null;
        try {
            ch = transport.connect(address, 0);
            open.set(ch);
            if (timedOut.get()) {
                throw new IOException("cancel_wait_timeout");
            }
            MessageBuilder m = new MessageBuilder(16);
            FrontendMessages.cancelRequest(m, s.backendKey());
            ch.write(m.buffer());
            byte[] sink = new byte[64];
            while (ch.read(sink, 0, sink.length) >= 0) {
                // PostgreSQL closes the connection once the cancel is delivered
            }
            if (timedOut.get()) {
                throw new IOException("cancel_wait_timeout");
            }
        } finally {
            watchdog.interrupt();
            if (ch != null) {
                ch.close();
            }
        }
    }
}
