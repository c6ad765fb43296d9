package io.pgloom.takeover;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientServices;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.net.Listener;
import io.pgloom.net.Wire;
import io.pgloom.net.epoll.EpollTransport;
import io.pgloom.net.epoll.NativeIo;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.UserEntry;
import io.pgloom.server.ParamCache;
import io.pgloom.server.ServerConnection;
import io.pgloom.stats.StatsSnapshot;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds, in the new process, the listeners, clients and servers of the old one from the SHOW
 * FDS rows and their descriptors: each socket is adopted into this process's epoll set, each
 * client and server object gets its state back (pool, parameters, keys, owed requests, and what
 * it held: a partial message, output its peer had not read, the rest of a large message), and
 * client/server pairs are linked again by the old descriptor numbers within the same pool. No
 * thread is started here: {@link Result#start} does that once the old process has exited.
 */
public final class Adopter {
    private Adopter() {
    }

    /** What was rebuilt, ready to run. */
    public record Result(List<Listener> listeners, List<ClientConnection> clients, List<ServerConnection> servers) {
        /** Starts every adopted connection's thread. */
        public void start() {
            for (ServerConnection s : servers) {
                Thread.ofVirtual().name(String.format("S-0x%x", s.id())).start(s::runAdopted);
            }
            for (ClientConnection c : clients) {
                c.startAdopted();
            }
        }
    }

    public static Result adopt(TakeoverClient.Handover h, PoolRegistry pools, ClientServices services) throws IOException {
        EpollTransport transport = EpollTransport.get();
        Values g = pools.general();
        int port = g.get(General.LISTEN_PORT);
        List<Listener> listeners = new ArrayList<>();
        List<ClientConnection> clients = new ArrayList<>();
        List<ServerConnection> servers = new ArrayList<>();
        Map<Integer, ServerConnection> serverByOldFd = new HashMap<>();
        Map<ServerConnection, Boolean> linked = new HashMap<>();
        long maxId = 0;
        for (FdRow row : h.rows()) {
            maxId = Math.max(maxId, row.id());
        }
        pools.reserveIds(maxId);
        Map<Long, io.pgloom.prepared.Statement> statements = new HashMap<>();
        for (FdRow row : h.rows()) {
            if (row.task().equals("pgloom_statement") && row.prepared() != null) {
                String[] parts = row.prepared().split(":", 2);
                byte[] body = java.util.Base64.getDecoder().decode(parts[0]);
                byte[] types = parts.length > 1 ? java.util.Base64.getDecoder().decode(parts[1]) : null;
                statements.put(row.id(), pools.statements().adopt(body, types, row.id()));
            }
        }
        for (FdRow row : h.rows()) {
            Integer fd = h.fds().get(row);
            switch (row.task()) {
                case "pooler" -> {
                    boolean unix = "unix".equals(row.addr());
                    Listener l = Listener.adopted(transport.adoptListener(fd, "0.0.0.0".equals(row.addr()) || "::".equals(row.addr())),
                            unix ? g.get(General.UNIX_SOCKET_DIR) : null, row.port());
                    Log.log("got pooler socket: " + (unix ? "unix:" + row.port() : row.addr() + ":" + row.port()));
                    listeners.add(l);
                }
                case "server" -> {
                    ServerConnection s = server(row, fd, pools, transport, port);
                    if (s != null) {
                        servers.add(s);
                        serverByOldFd.put(row.fd(), s);
                        if (row.prepared() != null) {
                            for (String id : row.prepared().split(",")) {
                                io.pgloom.prepared.Statement st = statements.get(Long.parseLong(id));
                                if (st != null) {
                                    s.statements().adopt(st);
                                }
                            }
                        }
                    }
                }
                default -> {
                }
            }
        }
        for (FdRow row : h.rows()) {
            if (row.task().equals("client")) {
                ClientConnection c = client(row, h.fds().get(row), pools, services, transport, port);
                if (c == null) {
                    continue;
                }
                clients.add(c);
                if (row.buffered() != null) {
                    c.adoptBuffered(bytes(row.buffered()));
                }
                c.adoptPassThrough(row.passThrough());
                if (row.prepared() != null) {
                    Map<String, io.pgloom.prepared.Statement> names = new HashMap<>();
                    FdRow.decodeParams(row.prepared()).forEach((name, id) -> {
                        io.pgloom.prepared.Statement st = statements.get(Long.parseLong(id));
                        if (st != null) {
                            names.put(name, st);
                        }
                    });
                    c.adoptStatements(names);
                }
                ServerConnection s = row.link() == 0 ? null : serverByOldFd.get(row.link());
                if (row.link() != 0 && (s == null || s.pool() != c.pool())) {
                    throw new IOException("takeover: failed to find the server of client " + c.logPrefix().trim());
                }
                if (s != null) {
                    c.linkAdopted(s);
                    s.linkAdopted(c);
                    linked.put(s, true);
                }
            } else if (row.task().equals("pgloom_stats")) {
                stats(row, pools);
            }
        }
        for (ServerConnection s : servers) {
            s.pool().adopt(s, linked.containsKey(s), null);
        }
        for (io.pgloom.prepared.Statement st : statements.values()) {
            pools.statements().release(st);
        }
        return new Result(listeners, clients, servers);
    }

    private static ServerConnection server(FdRow row, int fd, PoolRegistry pools, EpollTransport transport, int port)
            throws IOException {
        Database db = pools.database(row.database());
        if (db == null) {
            Log.warning("takeover: database " + row.database() + " is not in the new configuration, closing its server");
            NativeIo.close(fd);
            return null;
        }
        UserEntry u = pools.user(row.user());
        Pool pool = pools.pool(db, row.user());
        Wire w = transport.adoptSocket(fd, row.port() > 0 ? row.port() : port);
        long id = row.id() != 0 ? row.id() : pools.nextId();
        long now = pools.clock().nanos();
        long age = row.connectTime() > 0 ? Math.max(0, System.currentTimeMillis() - row.connectTime()) * 1_000_000L : 0;
        ServerConnection s = new ServerConnection(id, pool, pools, db, u, now - age, pool.settings().serverLifetimeNanos());
        Map<String, String> params = legacyParams(row);
        params.putAll(FdRow.decodeParams(row.params()));
        byte tx = row.txStatus() != null && !row.txStatus().isEmpty() ? (byte) row.txStatus().charAt(0)
                : (byte) (row.link() != 0 ? 'T' : 'I');
        s.adopt(w, row.cancel(), params, tx, row.pending(), row.flags(), row.connectTime());
        s.adoptCarried(bytes(row.buffered()), bytes(row.unsent()), row.passThrough(),
                row.flags() != null && row.flags().contains("release_when_sent"));
        return s;
    }

    private static ClientConnection client(FdRow row, int fd, PoolRegistry pools, ClientServices services,
            EpollTransport transport, int port) throws IOException {
        Database db = pools.database(row.database());
        if (db == null) {
            Log.warning("takeover: database " + row.database() + " is not in the new configuration, closing its client");
            NativeIo.close(fd);
            return null;
        }
        UserEntry u = pools.user(row.user());
        if (row.scramClientKey() != null && row.scramServerKey() != null && db.forcedUser() == null) {
            u.setPassThrough(io.pgloom.auth.ScramKeys.of(row.scramClientKey(), row.scramServerKey()));
        }
        Pool pool = pools.pool(db, row.user());
        Wire w = transport.adoptSocket(fd, port);
        long id = row.id() != 0 ? row.id() : pools.nextId();
        ClientConnection c = new ClientConnection(id, services, w, pools.clock().nanos(),
                row.connectTime() > 0 ? row.connectTime() : System.currentTimeMillis());
        ParamCache cache = new ParamCache(pools.tracked());
        legacyParams(row).forEach(cache::set);
        FdRow.decodeParams(row.params()).forEach(cache::set);
        c.adopt(db, u, pool, cache, row.cancel());
        if (pools.general().get(General.LOG_CONNECTIONS)) {
            Log.log(c.logPrefix() + "login attempt: db=" + row.database() + " user=" + row.user() + " tls=no replication=no"
                    + " pool_mode=" + pool.settings().mode().word());
        }
        return c;
    }

    private static byte[] bytes(String base64) {
        return base64 == null || base64.isEmpty() ? null : java.util.Base64.getDecoder().decode(base64);
    }

    /** The four parameters PgBouncer's own SHOW FDS carries. */
    private static Map<String, String> legacyParams(FdRow row) {
        Map<String, String> m = new HashMap<>();
        put(m, "client_encoding", row.clientEncoding());
        put(m, "standard_conforming_strings", row.stdStrings());
        put(m, "DateStyle", row.datestyle());
        put(m, "TimeZone", row.timezone());
        return m;
    }

    private static void put(Map<String, String> m, String k, String v) {
        if (v != null && !v.isEmpty()) {
            m.put(k, v);
        }
    }

    private static void stats(FdRow row, PoolRegistry pools) {
        Database db = pools.database(row.database());
        if (db == null || row.stats() == null) {
            return;
        }
        Pool pool = pools.pool(db, row.user());
        String[] f = row.stats().split(",");
        if (f.length >= 12) {
            long[] v = new long[f.length];
            for (int i = 0; i < f.length; i++) {
                v[i] = Long.parseLong(f[i]);
            }
            pool.stats().add(StatsSnapshot.of(v));
        }
        pool.adoptWelcome(FdRow.decodeParams(row.params()));
    }
}
