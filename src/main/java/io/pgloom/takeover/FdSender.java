package io.pgloom.takeover;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientState;
import io.pgloom.log.Log;
import io.pgloom.net.Listener;
import io.pgloom.net.Wire;
import io.pgloom.net.epoll.EpollWire;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.server.LinkedClient;
import io.pgloom.server.ParamCache;
import io.pgloom.server.ServerConnection;
import io.pgloom.stats.StatsSnapshot;
import java.io.IOException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SHOW FDS: one row per listening socket, client and server, in PgBouncer's order and columns.
 * To the process taking over (a unix peer of our own OS user logged in as {@code pgbouncer})
 * each DataRow goes in its own {@code sendmsg} with its socket attached; anyone else just gets
 * the rows. A pgloom successor ({@link Successor}) also gets pgloom's columns, among them what
 * each suspended connection holds, and rows for prepared statements and pool statistics after
 * the socket rows. A client and its server go together or not at all, and a server that serves
 * nobody goes only if it is between transactions with nothing in flight. TLS connections and
 * those linked to one get no row ({@link LeftBehind}). Runs on the console thread; the sockets
 * described are suspended, so nothing changes underneath.
 */
public final class FdSender {
    /** Rows per {@code sendmsg} to a pgloom successor (at most the kernel's 253 descriptors). */
    private static final int BATCH_ROWS = 128;
    /** A batch is sent once it holds this many bytes, whatever its row count. */
    private static final int BATCH_BYTES = 60 * 1024;

    private final PoolRegistry pools;
    private final ClientRegistry clients;
    private final List<Listener> listeners;
    private LeftBehind leftBehind = LeftBehind.NONE;

    /** Why a server busy or in a transaction, with no client, is not handed over. */
    static final String NOBODY_TO_FINISH = "not handed over: in a transaction with nobody to finish it";
    /** Why a server whose client is not handed over is not either (a client and its server go together). */
    static final String CLIENT_NOT_HANDED_OVER = "not handed over: its client is not";
    /** Why a client whose server is not handed over is not either. */
    static final String SERVER_NOT_HANDED_OVER = "not handed over: its server is not";

    public FdSender(PoolRegistry pools, ClientRegistry clients, List<Listener> listeners) {
        this.pools = pools;
        this.clients = clients;
        this.listeners = listeners;
    }

    /**
     * Writes the rows straight to the requester (with descriptors when it may have them) and
     * leaves CommandComplete in {@code out}.
     */
    public void send(ClientConnection requester, MessageBuilder out) throws IOException {
        long start = System.nanoTime();
        Wire w = requester.wire();
        boolean withFds = w instanceof EpollWire && w.isUnix() && w.peerIsSameUser() && requester.userName().equals("pgbouncer");
        boolean extended = Successor.of(requester.consoleApplicationName()).readsPgloomColumns();
        MessageBuilder head = new MessageBuilder();
        FdRow.describe(head, extended);
        w.write(head.buffer());
        List<FdRow> extra = new ArrayList<>();
        List<FdRow> rows = rows(extra);
        if (withFds) {
            try (FdPassing.Sender sender = new FdPassing.Sender((EpollWire) w)) {
                sendWithFds(sender, w, rows, extended);
            }
        } else {
            for (FdRow row : rows) {
                w.write(row.encode(extended));
            }
        }
        if (extended) {
            for (FdRow row : extra) {
                w.write(row.encode(true));
            }
            for (Pool p : pools.poolList()) {
                w.write(statsRow(p).encode(true));
            }
        }
        BackendMessages.commandComplete(out, "SHOW");
        if (withFds) {
            Log.log("SHOW FDS sent " + rows.size() + " sockets in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
    }

    /**
     * Rows with their sockets: to PgBouncer one row per {@code sendmsg}, as it expects; a pgloom
     * successor takes up to {@link #BATCH_ROWS} rows and their descriptors per call (its receiver
     * pairs descriptors with rows in order), which spares both processes thousands of system
     * calls and wake-ups.
     */
    private static void sendWithFds(FdPassing.Sender sender, Wire w, List<FdRow> rows, boolean extended) throws IOException {
        int batch = extended ? BATCH_ROWS : 1;
        MessageBuilder out = new MessageBuilder(64 * 1024);
        int[] fds = new int[batch];
        int count = 0;
        for (FdRow row : rows) {
            byte[] bytes = row.encode(extended);
            if (row.fd() < 0) {
                if (count > 0) {
                    sender.send(out.array(), out.size(), fds, count);
                    out.clear();
                    count = 0;
                }
                w.write(bytes);
                continue;
            }
            out.bytes(bytes, 0, bytes.length);
            fds[count++] = row.fd();
            if (count == batch || out.size() >= BATCH_BYTES) {
                sender.send(out.array(), out.size(), fds, count);
                out.clear();
                count = 0;
            }
        }
        if (count > 0) {
            sender.send(out.array(), out.size(), fds, count);
        }
    }

    private List<FdRow> rows(List<FdRow> statementRows) {
        List<FdRow> rows = new ArrayList<>();
        for (Listener l : listeners) {
            rows.add(new FdRow(l.acceptor().fd(), "pooler", null, null, l.isUnix() ? "unix" : hostOf(l.description()), l.port(), 0,
                    0, null, null, null, null, null, null, null, 0, 0, null, null, null, null, null, null, null, null, 0));
        }
        Map<Object, Integer> fdOf = new IdentityHashMap<>();
        List<ClientConnection> candidates = new ArrayList<>();
        for (ClientConnection c : clients.all()) {
            if (!c.isConsole() && c.pool() != null && c.closeReason() == null && c.state() != ClientState.CLOSED) {
                candidates.add(c);
                fdOf.put(c, c.wire().fd());
            }
        }
        List<ServerConnection> servers = new ArrayList<>();
        List<ServerConnection> keptServers = new ArrayList<>();
        List<String> keptServerReasons = new ArrayList<>();
        for (Pool p : pools.poolList()) {
            for (PoolEntry e : p.servers()) {
                ServerConnection s = (ServerConnection) e;
                if (!s.isClosed() && s.loggedIn() && s.wire() != null) {
                    LinkedClient c = s.linkedClient();
                    if (c == null ? s.busy() || s.txStatus() != 'I' : !fdOf.containsKey(c)) {
                        keptServers.add(s);
                        keptServerReasons.add(c == null ? NOBODY_TO_FINISH : CLIENT_NOT_HANDED_OVER);
                        continue;
                    }
                    servers.add(s);
                }
            }
        }
        leaveOutTls(candidates, servers);
        fdOf.clear();
        candidates.forEach(c -> fdOf.put(c, c.wire().fd()));
        servers.forEach(s -> fdOf.put(s, s.wire().fd()));
        List<ClientConnection> active = new ArrayList<>();
        List<ClientConnection> keptClients = new ArrayList<>();
        for (ClientConnection c : candidates) {
            ServerConnection s = c.server();
            if (s != null && !fdOf.containsKey(s)) {
                keptClients.add(c);
                continue;
            }
            active.add(c);
            rows.add(clientRow(c, s == null ? 0 : fdOf.get(s)));
        }
        if (!keptClients.isEmpty() || !keptServers.isEmpty()) {
            // closed with their reason when this process exits, like the TLS ones
            leftBehind = leftBehind.with(keptClients, java.util.Collections.nCopies(keptClients.size(), SERVER_NOT_HANDED_OVER),
                    keptServers, keptServerReasons);
        }
        for (ServerConnection s : servers) {
            LinkedClient c = s.linkedClient();
            rows.add(serverRow(s, c == null ? 0 : fdOf.get(c)));
        }
        statementRows.addAll(statementRows(active, servers));
        return rows;
    }

    /**
     * Takes TLS connections, and the plain ones linked to them, out of {@code active} and
     * {@code servers} into {@link #leftBehind()}: PgBouncer's rule, since TLS state cannot travel
     * with a descriptor.
     */
    private void leaveOutTls(List<ClientConnection> active, List<ServerConnection> servers) {
        Map<Object, String> out = new IdentityHashMap<>();
        for (ClientConnection c : active) {
            if (!LeftBehind.transferable(c.wire())) {
                out.put(c, LeftBehind.TLS);
            }
        }
        for (ServerConnection s : servers) {
            if (!LeftBehind.transferable(s.wire())) {
                out.put(s, LeftBehind.TLS);
            }
        }
        for (ClientConnection c : active) {
            ServerConnection s = c.server();
            if (s != null && (out.containsKey(c) || out.containsKey(s))) {
                out.putIfAbsent(c, LeftBehind.LINKED_TO_TLS);
                out.putIfAbsent(s, LeftBehind.LINKED_TO_TLS);
            }
        }
        for (ServerConnection s : servers) {
            if (s.linkedClient() instanceof ClientConnection c && out.containsKey(s)) {
                out.putIfAbsent(c, LeftBehind.LINKED_TO_TLS);
            }
        }
        List<ClientConnection> leftClients = new ArrayList<>();
        List<String> clientReasons = new ArrayList<>();
        List<ServerConnection> leftServers = new ArrayList<>();
        List<String> serverReasons = new ArrayList<>();
        for (ClientConnection c : clients.all()) {
            String why = out.get(c);
            if (why != null) {
                leftClients.add(c);
                clientReasons.add(why);
            }
        }
        for (ServerConnection s : servers) {
            String why = out.get(s);
            if (why != null) {
                leftServers.add(s);
                serverReasons.add(why);
            }
        }
        active.removeIf(out::containsKey);
        servers.removeIf(out::containsKey);
        leftBehind = new LeftBehind(leftClients, clientReasons, leftServers, serverReasons);
    }

    /** After {@link #send}: the connections left out of the rows. */
    public LeftBehind leftBehind() {
        return leftBehind;
    }

    private static String hostOf(String description) {
        int colon = description.lastIndexOf(':');
        String h = colon > 0 ? description.substring(0, colon) : description;
        return h.equals("*") ? "0.0.0.0" : h;
    }

    private FdRow clientRow(ClientConnection c, int link) {
        ParamCache p = c.params();
        Wire w = c.wire();
        boolean parked = pools.suspension().isParked(c);
        byte[] buffered = parked ? c.bufferedBytes() : null;
        long passThrough = parked ? c.passThrough() : 0;
        if (buffered != null || passThrough > 0) {
            Log.log(c.logPrefix() + "handed over holding " + length(buffered) + " bytes not sent on yet, " + passThrough
                    + " bytes of a large message still to pass on");
        }
        return new FdRow(w.fd(), "client", c.userName(), c.databaseName(), w.isUnix() ? "unix" : w.remoteHost(), w.remotePort(),
                c.cancelKey(), link, p.get("client_encoding"), p.get("standard_conforming_strings"), p.get("DateStyle"),
                p.get("TimeZone"), null, null, null, c.id(), c.connectEpochMillis(), null, null, null, params(p), null,
                clientStatements(c), base64(buffered), null, passThrough);
    }

    private FdRow serverRow(ServerConnection s, int link) {
        ParamCache p = s.params();
        Wire w = s.wire();
        ServerConnection.LinkState st = s.linkState();
        ServerConnection.Carried held = pools.suspension().isParked(s) ? s.carried() : ServerConnection.Carried.NONE;
        if (held.buffered() != null || held.unsent() != null || held.passThrough() > 0) {
            Log.log(s.logPrefix() + "handed over holding " + length(held.buffered()) + " bytes received and not handled yet, "
                    + length(held.unsent()) + " bytes its client has not taken, " + held.passThrough()
                    + " bytes of a large message still to pass on");
        }
        String flags = held.releaseWhenSent() ? (st.flags().isEmpty() ? "" : st.flags() + ",") + "release_when_sent" : st.flags();
        return new FdRow(w.fd(), "server", s.pool().key().user(), s.pool().key().database(), w.isUnix() ? "unix" : w.remoteHost(),
                w.remotePort(), s.backendKey(), link, p.get("client_encoding"), p.get("standard_conforming_strings"),
                p.get("DateStyle"), p.get("TimeZone"), null, null, null, s.id(), s.connectEpochMillis(),
                String.valueOf((char) st.txStatus()), st.pending(), flags, params(p), null, serverStatements(s),
                base64(held.buffered()), base64(held.unsent()), held.passThrough());
    }

    private static int length(byte[] b) {
        return b == null ? 0 : b.length;
    }

    /** The client's statement names, as {@code name=id&...}. */
    private static String clientStatements(ClientConnection c) {
        Map<String, String> m = new LinkedHashMap<>();
        c.preparedStatements().forEach((name, st) -> m.put(name, Long.toString(st.id())));
        return m.isEmpty() ? null : FdRow.encodeParams(m);
    }

    /** The statement ids a server has, least recently used first. */
    private static String serverStatements(ServerConnection s) {
        StringBuilder b = new StringBuilder();
        for (io.pgloom.prepared.Statement st : s.statements().list()) {
            if (!b.isEmpty()) {
                b.append(',');
            }
            b.append(st.id());
        }
        return b.isEmpty() ? null : b.toString();
    }

    /** One row per statement some client or server refers to: its id and Parse body. */
    private List<FdRow> statementRows(List<ClientConnection> active, List<ServerConnection> servers) {
        Map<Long, io.pgloom.prepared.Statement> all = new LinkedHashMap<>();
        for (ClientConnection c : active) {
            c.preparedStatements().values().forEach(st -> all.put(st.id(), st));
        }
        for (ServerConnection s : servers) {
            s.statements().list().forEach(st -> all.put(st.id(), st));
        }
        List<FdRow> rows = new ArrayList<>();
        for (io.pgloom.prepared.Statement st : all.values()) {
            rows.add(new FdRow(-1, "pgloom_statement", null, null, null, 0, 0, 0, null, null, null, null, null, null, null,
                    st.id(), 0, null, null, null, null, null, statementText(st), null, null, 0));
        }
        return rows;
    }

    /** The Parse body in base64, then for a SQL PREPARE ':' and its types in base64. */
    private static String statementText(io.pgloom.prepared.Statement st) {
        String body = java.util.Base64.getEncoder().encodeToString(st.body());
        return st.sqlTypes() == null ? body : body + ":" + java.util.Base64.getEncoder().encodeToString(st.sqlTypes());
    }

    private static String base64(byte[] b) {
        return b == null ? null : java.util.Base64.getEncoder().encodeToString(b);
    }

    private static String params(ParamCache p) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < p.tracked().size(); i++) {
            m.put(p.tracked().name(i), p.get(i));
        }
        return FdRow.encodeParams(m);
    }

    private static FdRow statsRow(Pool p) {
        StatsSnapshot s = p.stats().snapshot();
        String stats = java.util.Arrays.stream(s.values()).mapToObj(Long::toString)
                .collect(java.util.stream.Collectors.joining(","));
        Map<String, String> welcome = p.welcome();
        return new FdRow(-1, "pgloom_stats", p.key().user(), p.key().database(), null, 0, 0, 0, null, null, null, null, null,
                null, null, 0, 0, null, null, null, welcome == null ? null : FdRow.encodeParams(welcome), stats, null, null,
                null, 0);
    }
}
