package io.pgloom.admin;

import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientState;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolKey;
import io.pgloom.stats.StatsSnapshot;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One look at the pooler for one SHOW command or one scrape: every pool in PgBouncer's
 * {@code pool_list} order (database, then user; the admin console's own pool
 * {@code pgbouncer/pgbouncer} among them), each with its logged-in clients split into PgBouncer's
 * active and waiting lists, plus the clients still logging in. Built from concurrent state
 * without stopping anything, so counts taken from different objects may be a moment apart.
 * Confined to the thread that built it.
 */
final class PoolerView {
    /** The admin console's pool, as PgBouncer names it. */
    static final PoolKey ADMIN_POOL = new PoolKey("pgbouncer", "pgbouncer");

    static final Comparator<PoolKey> ORDER =
            Comparator.comparing(PoolKey::database).thenComparing(PoolKey::user);

    /** A pool and its clients; {@code pool} is null for the admin console's pool. */
    record Group(PoolKey key, Pool pool, List<ClientConnection> active, List<ClientConnection> waiting) {
        boolean isAdmin() {
            return pool == null;
        }

        StatsSnapshot totals() {
            return pool == null ? StatsSnapshot.ZERO : pool.stats().snapshot();
        }
    }

    private final List<Group> groups;
    private final List<ClientConnection> loggingIn;
    private final int clientObjects;

    private PoolerView(List<Group> groups, List<ClientConnection> loggingIn, int clientObjects) {
        this.groups = groups;
        this.loggingIn = loggingIn;
        this.clientObjects = clientObjects;
    }

    static PoolerView take(ShowCommands.ShowSource source) {
        Map<PoolKey, Group> byKey = new TreeMap<>(ORDER);
        byKey.put(ADMIN_POOL, new Group(ADMIN_POOL, null, new ArrayList<>(), new ArrayList<>()));
        for (Pool p : source.pools().poolList()) {
            byKey.put(p.key(), new Group(p.key(), p, new ArrayList<>(), new ArrayList<>()));
        }
        List<ClientConnection> clients = new ArrayList<>(source.clients().all());
        clients.sort(Comparator.comparingLong(ClientConnection::id));
        List<ClientConnection> login = new ArrayList<>();
        for (ClientConnection c : clients) {
            ClientState state = c.state();
            if (state == ClientState.CLOSED) {
                continue;
            }
            // state is volatile and written after the login fields: read it first
            Pool pool = c.pool();
            if (state == ClientState.LOGIN || (!c.isConsole() && pool == null)) {
                login.add(c);
                continue;
            }
            PoolKey key = c.isConsole() ? ADMIN_POOL : pool.key();
            Group g = byKey.computeIfAbsent(key, k -> new Group(k, pool, new ArrayList<>(), new ArrayList<>()));
            (state == ClientState.WAITING ? g.waiting() : g.active()).add(c);
        }
        return new PoolerView(List.copyOf(byKey.values()), login, clients.size());
    }

    List<Group> groups() {
        return groups;
    }

    /** Clients still in startup or authentication (PgBouncer's login_client_list). */
    List<ClientConnection> loggingIn() {
        return loggingIn;
    }

    /** Every client object alive, logging in or not (SHOW LISTS used_clients). */
    int clientObjects() {
        return clientObjects;
    }

    Group admin() {
        for (Group g : groups) {
            if (g.isAdmin()) {
                return g;
            }
        }
        throw new IllegalStateException("no admin pool");
    }

    /** The databases that have pools, in order, each with its pools. */
    Map<String, List<Group>> byDatabase() {
        Map<String, List<Group>> out = new TreeMap<>();
        for (Group g : groups) {
            out.computeIfAbsent(g.key().database(), d -> new ArrayList<>()).add(g);
        }
        return out;
    }
}
