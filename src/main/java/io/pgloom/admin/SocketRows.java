package io.pgloom.admin;

import io.pgloom.client.ClientConnection;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsWire;
import io.pgloom.pool.Database;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.ServerState;
import io.pgloom.server.LinkedClient;
import io.pgloom.server.ServerConnection;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * SHOW CLIENTS, SERVERS, SOCKETS and ACTIVE_SOCKETS: PgBouncer's 21 socket columns (plus the 7
 * buffer columns of the SOCKETS forms), one row per connection, in PgBouncer's list order.
 * {@code ptr} and {@code link} are {@code 0x<id in hex>}, a stable stand-in for PgBouncer's
 * object addresses; {@code id} is the same number in decimal. pgloom keeps no socket buffer
 * between reads, so the buffer columns are 0 and ACTIVE_SOCKETS (sockets with buffered data)
 * is always empty. Confined to the console thread.
 */
final class SocketRows {
    static final String TYPES = "ssssssisiTTiiississii";
    static final String[] COLUMNS = {"type", "user", "database", "replication", "state", "addr", "port", "local_addr",
        "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr", "link", "remote_pid",
        "tls", "application_name", "prepared_statements", "id"};
    static final String DEBUG_TYPES = TYPES + "iiiiiii";
    static final String[] DEBUG_COLUMNS = concat(COLUMNS,
            "recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain", "pkt_avail", "send_avail");

    /** A pool's server lists in PgBouncer's order, with the state name each shows. */
    private record StateName(ServerState state, String name) {
    }

    /** SHOW SERVERS: active, idle, used (none in pgloom), tested, new, active_cancel (none), being_canceled. */
    private static final List<StateName> SERVER_STATES = List.of(new StateName(ServerState.ACTIVE, "active"),
            new StateName(ServerState.IDLE, "idle"), new StateName(ServerState.TESTED, "tested"),
            new StateName(ServerState.LOGIN, "new"), new StateName(ServerState.BEING_CANCELED, "being_canceled"));
    /** SHOW SOCKETS: PgBouncer does not list the cancel lists there. */
    private static final List<StateName> SOCKET_STATES = List.of(new StateName(ServerState.ACTIVE, "sv_active"),
            new StateName(ServerState.IDLE, "sv_idle"), new StateName(ServerState.TESTED, "sv_tested"),
            new StateName(ServerState.LOGIN, "sv_login"));

    private final ShowCommands.ShowSource source;
    private final long nowNanos;

    SocketRows(ShowCommands.ShowSource source) {
        this.source = source;
        this.nowNanos = source.pools().clock().nanos();
    }

    ResultSet clients(PoolerView view) {
        ResultSet rs = new ResultSet(TYPES, COLUMNS);
        for (PoolerView.Group g : view.groups()) {
            for (ClientConnection c : g.active()) {
                rs.row(clientRow(c, "active", false));
            }
            for (ClientConnection c : g.waiting()) {
                rs.row(clientRow(c, "waiting", false));
            }
        }
        return rs;
    }

    ResultSet servers(PoolerView view) {
        ResultSet rs = new ResultSet(TYPES, COLUMNS);
        for (PoolerView.Group g : view.groups()) {
            if (g.isAdmin()) {
                continue;
            }
            Map<ServerState, List<PoolEntry>> lists = byState(g.pool().servers());
            for (StateName state : SERVER_STATES) {
                for (PoolEntry s : lists.getOrDefault(state.state(), List.of())) {
                    rs.row(serverRow(s, g, state.name(), false));
                }
            }
        }
        return rs;
    }

    /** SHOW SOCKETS, or with {@code activeOnly} SHOW ACTIVE_SOCKETS (none: no buffered data is kept). */
    ResultSet sockets(PoolerView view, boolean activeOnly) {
        ResultSet rs = new ResultSet(DEBUG_TYPES, DEBUG_COLUMNS);
        if (activeOnly) {
            return rs;
        }
        for (PoolerView.Group g : view.groups()) {
            for (ClientConnection c : g.active()) {
                rs.row(clientRow(c, "cl_active", true));
            }
            for (ClientConnection c : g.waiting()) {
                rs.row(clientRow(c, "cl_waiting", true));
            }
            if (g.isAdmin()) {
                continue;
            }
            Map<ServerState, List<PoolEntry>> lists = byState(g.pool().servers());
            for (StateName state : SOCKET_STATES) {
                for (PoolEntry s : lists.getOrDefault(state.state(), List.of())) {
                    rs.row(serverRow(s, g, state.name(), true));
                }
            }
        }
        for (ClientConnection c : view.loggingIn()) {
            rs.row(clientRow(c, "cl_login", true));
        }
        return rs;
    }

    private static Map<ServerState, List<PoolEntry>> byState(List<PoolEntry> servers) {
        Map<ServerState, List<PoolEntry>> out = new EnumMap<>(ServerState.class);
        for (PoolEntry s : servers) {
            out.computeIfAbsent(s.state(), k -> new ArrayList<>()).add(s);
        }
        return out;
    }

    private Object[] clientRow(ClientConnection c, String state, boolean debug) {
        ServerConnection linked = c.server();
        Wire w = c.wire();
        long connect = c.connectEpochMillis();
        long request = c.lastRequestEpochMillis();
        long since = c.waitingSinceNanos();
        long waitMicros = since == 0 ? 0 : Math.max(0, (nowNanos - since) / 1000);
        int pid = w.isUnix() ? Math.max(0, w.peerPid()) : 0;
        String appName = c.params() == null ? null : c.params().get("application_name");
        String shownState = linked == null && state.equals("active") ? "idle" : state;
        return row(debug, "C", c.userName(), c.databaseName(), shownState, w.remoteHost(), w.remotePort(), w.localHost(),
                w.localPort(), connect, request == 0 ? connect : request, waitMicros, 0, c.id(),
                linked == null ? null : linked.id(), pid, tlsInfo(w), appName, c.preparedStatementCount());
    }

    private Object[] serverRow(PoolEntry entry, PoolerView.Group g, String state, boolean debug) {
        String user = g.key().user();
        String db = g.key().database();
        if (!(entry instanceof ServerConnection s)) {
            return row(debug, "S", user, db, state, null, 0, null, 0, 0L, 0L, 0, entry.closeNeeded() ? 1 : 0, entry.id(),
                    null, 0, "", null, 0);
        }
        LinkedClient linked = s.linkedClient();
        Wire w = s.wire();
        String addr;
        int port;
        if (w != null) {
            addr = w.remoteHost();
            port = w.remotePort();
        } else {
            Database d = s.database();
            String host = d == null ? null : d.settings().get(DatabaseKeys.HOST);
            addr = host == null || host.startsWith("/") ? "unix" : host;
            port = d == null ? 0 : d.settings().get(DatabaseKeys.PORT);
        }
        long connect = s.connectEpochMillis();
        long request = s.lastUsedEpochMillis();
        int pid = (int) (s.backendKey() >>> 32);
        String shownState = linked == null && state.equals("active") ? "idle" : state;
        return row(debug, "S", user, db, shownState, addr, port, w == null ? null : w.localHost(),
                w == null ? 0 : w.localPort(), connect, request == 0 ? connect : request, 0, s.closeNeeded() ? 1 : 0,
                s.id(), linked == null ? null : linked.id(), pid, tlsInfo(w), s.params().get("application_name"),
                s.statements().size());
    }

    private static Object[] row(boolean debug, String type, String user, String db, String state, String addr, int port,
            String localAddr, int localPort, long connectMillis, long requestMillis, long waitMicros, int closeNeeded,
            long id, Long link, int remotePid, String tls, String appName, int prepared) {
        Object[] r = new Object[debug ? DEBUG_COLUMNS.length : COLUMNS.length];
        r[0] = type;
        r[1] = user == null ? "(nouser)" : user;
        r[2] = db == null ? "(nodb)" : db;
        r[3] = "none";
        r[4] = state;
        r[5] = addr;
        r[6] = port;
        r[7] = localAddr;
        r[8] = localPort;
        r[9] = connectMillis;
        r[10] = requestMillis;
        r[11] = (int) (waitMicros / 1_000_000);
        r[12] = (int) (waitMicros % 1_000_000);
        r[13] = closeNeeded;
        r[14] = ptr(id);
        r[15] = link == null ? "" : ptr(link);
        r[16] = remotePid;
        r[17] = tls;
        r[18] = appName == null ? "" : appName;
        r[19] = prepared;
        r[20] = (int) id;
        for (int i = COLUMNS.length; i < r.length; i++) {
            r[i] = 0;
        }
        return r;
    }

    /** PgBouncer's {@code tls} column: {@code TLSv1.3/TLS_AES_256_GCM_SHA384}, empty without TLS. */
    private static String tlsInfo(Wire w) {
        return w instanceof TlsWire t ? t.tlsInfo() : "";
    }

    /** The stand-in for PgBouncer's {@code %p}: the connection id in hex. */
    static String ptr(long id) {
        return "0x" + Long.toHexString(id);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
