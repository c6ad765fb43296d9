package io.pgloom.admin;

import io.pgloom.Version;
import io.pgloom.client.ClientRegistry;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.General;
import io.pgloom.config.PeerKeys;
import io.pgloom.config.PoolMode;
import io.pgloom.config.Setting;
import io.pgloom.config.UserKeys;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolKey;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.UserEntry;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.stats.StatsPeriod;
import io.pgloom.stats.StatsSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The SHOW commands of the admin console (all but FDS, which belongs to takeover), each with
 * PgBouncer's column names, order and type codes ({@link ResultSet}). Reads the pooler's state
 * through {@link ShowSource}; never blocks and never takes a pool lock for longer than one
 * pool's counts. Confined to the console thread of the session asking.
 */
public final class ShowCommands {
    static final String[] DATABASES_COLUMNS = {"name", "host", "port", "database", "force_user", "pool_size",
        "min_pool_size", "reserve_pool_size", "server_lifetime", "pool_mode", "load_balance_hosts", "max_connections",
        "current_connections", "max_client_connections", "current_client_connections", "paused", "disabled"};
    static final String[] POOLS_COLUMNS = {"database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
        "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used", "sv_tested",
        "sv_login", "maxwait", "maxwait_us", "pool_mode", "load_balance_hosts"};
    static final String[] USERS_COLUMNS = {"name", "pool_size", "reserve_pool_size", "pool_mode", "max_user_connections",
        "current_connections", "max_user_client_connections", "current_client_connections"};
    /** SHOW LISTS rows, in PgBouncer's order. */
    static final List<String> LISTS = List.of("databases", "users", "peers", "pools", "peer_pools", "free_clients",
            "used_clients", "login_clients", "free_servers", "used_servers", "dns_names", "dns_zones", "dns_queries",
            "dns_pending");

    /** PgBouncer's built-in admin database: pool_size 2, statement pooling, forced user pgbouncer. */
    private static final int ADMIN_POOL_SIZE = 2;

    private final ShowSource source;
    private final StatsRows stats;

    public ShowCommands(ShowSource source) {
        this.source = source;
        this.stats = new StatsRows(source.stats());
    }

    /** Writes the result of {@code SHOW <what>}; an unknown subject is an error. */
    public void show(String what, String query, MessageBuilder out) throws AdminError {
        ResultSet rs = switch (what) {
            case "help" -> {
                BackendMessages.notice(out, "00000", "Console usage", String.join("\n\t", AdminConsole.HELP));
                BackendMessages.commandComplete(out, "SHOW");
                yield null;
            }
            case "version" -> new ResultSet("s", "version").row(Version.TEXT);
            case "state" -> state();
            case "config" -> config(source.pools().general());
            case "databases" -> databases();
            case "pools" -> pools(PoolerView.take(source));
            case "clients" -> new SocketRows(source).clients(PoolerView.take(source));
            case "servers" -> new SocketRows(source).servers(PoolerView.take(source));
            case "sockets" -> new SocketRows(source).sockets(PoolerView.take(source), false);
            case "active_sockets" -> new SocketRows(source).sockets(PoolerView.take(source), true);
            case "users" -> users();
            case "stats" -> stats.stats(PoolerView.take(source));
            case "stats_totals" -> stats.totals(PoolerView.take(source));
            case "stats_averages" -> stats.averages(PoolerView.take(source));
            case "totals" -> stats.grandTotals(PoolerView.take(source));
            case "lists" -> lists(PoolerView.take(source));
            case "mem" -> new ResultSet("siiii", "name", "size", "used", "free", "memtotal");
            case "dns_hosts" -> new ResultSet("sqs", "hostname", "ttl", "addrs");
            case "dns_zones" -> new ResultSet("sqi", "zonename", "serial", "count");
            case "peers" -> peers();
            case "peer_pools" -> new ResultSet("iiiii", "peer_id", "cl_active_cancel_req", "cl_waiting_cancel_req",
                    "sv_active_cancel", "sv_login");
            default -> throw new AdminError("invalid command '" + query + "', use SHOW HELP;");
        };
        if (rs != null) {
            rs.writeTo(out);
        }
    }

    // ------------------------------------------------------------------ process and config

    private ResultSet state() {
        ResultSet rs = new ResultSet("ss", "key", "value");
        source.state().get().forEach((k, v) -> rs.row(k, v ? "yes" : "no"));
        return rs;
    }

    static ResultSet config(Values general) {
        ResultSet rs = new ResultSet("ssss", "key", "value", "default", "changeable");
        for (List<String> r : configRows(general)) {
            rs.row(r.toArray());
        }
        return rs;
    }

    /** One row per {@code [pgloom]} key, by name: key, value, default, changeable (yes/no). */
    static List<List<String>> configRows(Values general) {
        List<Setting<?>> keys = new ArrayList<>(General.SECTION.settings());
        keys.sort(Comparator.comparing(Setting::name));
        List<List<String>> rows = new ArrayList<>(keys.size());
        for (Setting<?> s : keys) {
            rows.add(List.of(s.name(), s.showAny(general.getAny(s)), s.showAny(s.defaultValue()),
                    s.reloadable() ? "yes" : "no"));
        }
        return rows;
    }

    // ------------------------------------------------------------------ databases, pools, users

    private ResultSet databases() {
        Values g = source.pools().general();
        int consoleClients = PoolerView.take(source).admin().active().size();
        Map<String, Object[]> rows = new TreeMap<>();
        rows.put(PoolerView.ADMIN_POOL.database(), new Object[] {"pgbouncer", null, g.get(General.LISTEN_PORT),
            "pgbouncer", "pgbouncer", ADMIN_POOL_SIZE, g.get(General.MIN_POOL_SIZE), g.get(General.RESERVE_POOL_SIZE),
            seconds(g.get(General.SERVER_LIFETIME)), PoolMode.STATEMENT.word(), null, g.get(General.MAX_DB_CONNECTIONS), 0,
            g.get(General.MAX_DB_CLIENT_CONNECTIONS), consoleClients, 0, 0});
        for (Database db : source.pools().databases().values()) {
            rows.put(db.name(), databaseRow(db, g));
        }
        ResultSet rs = new ResultSet("ssissiiiissiiiiii", DATABASES_COLUMNS);
        rows.values().forEach(rs::row);
        return rs;
    }

    private static Object[] databaseRow(Database db, Values g) {
        Values d = db.settings();
        String host = d.get(DatabaseKeys.HOST);
        Duration lifetime = d.get(DatabaseKeys.SERVER_LIFETIME);
        if (lifetime == null || lifetime.isZero()) {
            lifetime = g.get(General.SERVER_LIFETIME);
        }
        PoolMode mode = d.get(DatabaseKeys.POOL_MODE);
        return new Object[] {db.name(), host, d.get(DatabaseKeys.PORT), db.serverDbname(), db.forcedUser(),
            or(d.get(DatabaseKeys.POOL_SIZE), g.get(General.DEFAULT_POOL_SIZE)),
            or(d.get(DatabaseKeys.MIN_POOL_SIZE), g.get(General.MIN_POOL_SIZE)),
            or(d.get(DatabaseKeys.RESERVE_POOL_SIZE), g.get(General.RESERVE_POOL_SIZE)), seconds(lifetime),
            mode == null ? null : mode.word(), loadBalanceHosts(d), db.servers().max(), db.servers().count(),
            db.clients().max(), db.clients().count(), db.paused() ? 1 : 0, db.disabled() ? 1 : 0};
    }

    /** Shown only for a host list, as PgBouncer does. */
    private static String loadBalanceHosts(Values d) {
        String host = d.get(DatabaseKeys.HOST);
        if (host == null || host.indexOf(',') < 0) {
            return null;
        }
        String v = d.get(DatabaseKeys.LOAD_BALANCE_HOSTS);
        return v == null ? "round-robin" : v;
    }

    ResultSet pools(PoolerView view) {
        ResultSet rs = new ResultSet("ssiiiiiiiiiiiiiss", POOLS_COLUMNS);
        for (PoolerView.Group g : view.groups()) {
            if (g.isAdmin()) {
                rs.row(g.key().database(), g.key().user(), g.active().size(), g.waiting().size(), 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, PoolMode.STATEMENT.word(), null);
                continue;
            }
            Pool p = g.pool();
            Pool.Counts c = p.counts();
            long waitMicros = c.oldestWaitNanos() / 1000;
            Database db = source.pools().database(p.key().database());
            rs.row(p.key().database(), p.key().user(), Math.max(0, c.clients() - c.waiting()), c.waiting(), 0, 0,
                    c.active(), 0, c.beingCanceled(), c.idle(), 0, c.tested(), c.login(), (int) (waitMicros / 1_000_000),
                    (int) (waitMicros % 1_000_000), p.settings().mode().word(),
                    db == null ? null : loadBalanceHosts(db.settings()));
        }
        return rs;
    }

    private ResultSet users() {
        ResultSet rs = new ResultSet("ssssiiii", USERS_COLUMNS);
        List<UserEntry> users = new ArrayList<>(source.pools().users().values());
        users.sort(Comparator.comparing(UserEntry::name));
        for (UserEntry u : users) {
            Values o = u.overrides();
            PoolMode mode = o.get(UserKeys.POOL_MODE);
            rs.row(u.name(), width9(o.get(UserKeys.POOL_SIZE)), width9(o.get(UserKeys.RESERVE_POOL_SIZE)),
                    mode == null ? null : mode.word(), u.servers().max(), u.servers().count(), u.clients().max(),
                    u.clients().count());
        }
        return rs;
    }

    /** PgBouncer prints a user's own pool sizes with {@code %9d}, or an empty string when unset. */
    private static String width9(Integer v) {
        return v == null ? "" : String.format("%9d", v);
    }

    // ------------------------------------------------------------------ lists and peers

    private ResultSet lists(PoolerView view) {
        PoolRegistry pools = source.pools();
        int servers = 0;
        for (PoolerView.Group g : view.groups()) {
            if (!g.isAdmin()) {
                servers += g.pool().servers().size();
            }
        }
        int[] counts = {pools.databases().size() + 1, pools.users().size(), pools.config().peers().size(),
            view.groups().size(), 0, 0, view.clientObjects(), view.loggingIn().size(), 0, servers, 0, 0, 0, 0};
        ResultSet rs = new ResultSet("si", "list", "items");
        for (int i = 0; i < LISTS.size(); i++) {
            rs.row(LISTS.get(i), counts[i]);
        }
        return rs;
    }

    private ResultSet peers() {
        Values g = source.pools().general();
        ResultSet rs = new ResultSet("isii", "peer_id", "host", "port", "pool_size");
        new TreeMap<>(source.pools().config().peers()).forEach((id, p) -> rs.row(id, p.get(PeerKeys.HOST),
                p.get(PeerKeys.PORT), or(p.get(PeerKeys.POOL_SIZE), g.get(General.DEFAULT_POOL_SIZE))));
        return rs;
    }

    private static int seconds(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, d.toSeconds());
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    // ------------------------------------------------------------------ wiring

    /**
     * Where SHOW (and the metrics endpoint) read the pooler's state.
     *
     * @param state SHOW STATE's rows (active, paused, suspended)
     * @param stats the stats_period averages; its {@link StatsPeriod#tick} is a janitor job
     */
    public record ShowSource(PoolRegistry pools, ClientRegistry clients, Supplier<Map<String, Boolean>> state,
            StatsPeriod<PoolKey> stats) {

        /** A source whose averages follow {@code stats_period} and log the stats line if {@code log_stats}. */
        public static ShowSource of(PoolRegistry pools, ClientRegistry clients, Supplier<Map<String, Boolean>> state) {
            StatsPeriod<PoolKey> period = new StatsPeriod<>(() -> totals(pools), pools.clock()::nanos,
                    () -> pools.general().get(General.STATS_PERIOD).toNanos(),
                    () -> pools.general().get(General.LOG_STATS), Log::log);
            return new ShowSource(pools, clients, state, period);
        }

        private static Map<PoolKey, StatsSnapshot> totals(PoolRegistry pools) {
            Map<PoolKey, StatsSnapshot> m = new HashMap<>();
            for (Pool p : pools.poolList()) {
                m.put(p.key(), p.stats().snapshot());
            }
            return m;
        }
    }
}
