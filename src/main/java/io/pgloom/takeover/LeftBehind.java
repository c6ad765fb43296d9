package io.pgloom.takeover;

import io.pgloom.client.ClientConnection;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The connections SHOW FDS leaves out, as PgBouncer does: TLS connections (their session keys
 * and record state live in this JVM, and a descriptor alone cannot carry them) and whatever is
 * linked to one; also a client whose server is not handed over, and the other way round, and a
 * server in a transaction that nobody will finish. They stay with the old process and are closed, each with its reason, when it
 * exits after handing over the rest; clients see their connection end and reconnect. Built on
 * the console thread during SHOW FDS; {@link #closeAll} runs at exit. Immutable.
 */
public final class LeftBehind {
    /** The reason for a TLS connection. */
    public static final String TLS = "TLS connection cannot be taken over";
    /** The reason for a plain connection linked to a TLS one. */
    public static final String LINKED_TO_TLS = "linked to a TLS connection that cannot be taken over";
    /**
     * How long exiting waits for the closes, which run in parallel. Not a setting: each close
     * is a FATAL message, a Terminate or a close_notify, and it only takes long when the peer
     * stops reading, where waiting longer buys nothing; the process exit closes the socket anyway.
     */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

    public static final LeftBehind NONE = new LeftBehind(List.of(), List.of(), List.of(), List.of());

    private final List<ClientConnection> clients;
    private final List<String> clientReasons;
    private final List<ServerConnection> servers;
    private final List<String> serverReasons;

    LeftBehind(List<ClientConnection> clients, List<String> clientReasons, List<ServerConnection> servers,
            List<String> serverReasons) {
        this.clients = List.copyOf(clients);
        this.clientReasons = List.copyOf(clientReasons);
        this.servers = List.copyOf(servers);
        this.serverReasons = List.copyOf(serverReasons);
    }

    /** These, and more connections left out, each with its reason. */
    LeftBehind with(List<ClientConnection> moreClients, List<String> moreClientReasons, List<ServerConnection> moreServers,
            List<String> moreServerReasons) {
        List<ClientConnection> c = new ArrayList<>(clients);
        c.addAll(moreClients);
        List<String> cr = new ArrayList<>(clientReasons);
        cr.addAll(moreClientReasons);
        List<ServerConnection> s = new ArrayList<>(servers);
        s.addAll(moreServers);
        List<String> sr = new ArrayList<>(serverReasons);
        sr.addAll(moreServerReasons);
        return new LeftBehind(c, cr, s, sr);
    }

    /** Whether a socket can be handed to another process as a bare descriptor. */
    public static boolean transferable(Wire w) {
        return w != null && !(w instanceof TlsWire);
    }

    /** How many are left out for TLS (their own or their peer's). */
    public int tlsCount() {
        int n = 0;
        for (List<String> reasons : List.of(clientReasons, serverReasons)) {
            for (String r : reasons) {
                if (r.equals(TLS) || r.equals(LINKED_TO_TLS)) {
                    n++;
                }
            }
        }
        return n;
    }

    public int size() {
        return clients.size() + servers.size();
    }

    /** Closes every connection left out, each with its reason; returns after at most {@link #CLOSE_WAIT}. */
    public void closeAll() {
        List<Thread> closing = new ArrayList<>();
        for (int i = 0; i < clients.size(); i++) {
            ClientConnection c = clients.get(i);
            String reason = clientReasons.get(i);
            closing.add(Thread.ofVirtual().name("left-C-0x" + Long.toHexString(c.id()))
                    .start(() -> c.close(reason, true, SqlState.ADMIN_SHUTDOWN)));
        }
        for (int i = 0; i < servers.size(); i++) {
            ServerConnection s = servers.get(i);
            String reason = serverReasons.get(i);
            closing.add(Thread.ofVirtual().name(String.format("left-S-0x%x", s.id())).start(() -> s.close(reason)));
        }
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (Thread t : closing) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            try {
                t.join(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
