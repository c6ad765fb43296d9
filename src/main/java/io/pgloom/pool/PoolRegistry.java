package io.pgloom.pool;

import io.pgloom.auth.Secret;
import io.pgloom.auth.UserList;
import io.pgloom.config.Config;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.General;
import io.pgloom.config.PoolMode;
import io.pgloom.config.UserKeys;
import io.pgloom.config.Values;
import io.pgloom.server.TrackedParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Everything the pooler knows at run time: the current configuration, the databases, the users
 * with their secrets, and the pools created on demand per (database, user). RELOAD swaps the
 * configuration and updates these objects in place so live connections keep their pools.
 * Thread-safe.
 */
public final class PoolRegistry {
    private volatile Config config;
    private volatile UserList userList;
    private final ConcurrentHashMap<String, Database> databases = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, UserEntry> users = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<PoolKey, Pool> pools = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Clock clock;
    private final TrackedParams tracked;
    private volatile Function<PoolRegistry, ServerLauncher> launcherFactory;
    private final io.pgloom.net.Transport transport;
    private volatile boolean globalPause;
    /** Whether most secrets of auth_file and the config are SCRAM secrets (set at each load). */
    private volatile boolean storedSecretsMostlyScram;
    /** Secrets auth_query found so far: SCRAM ones, and others (plain or md5). */
    private final AtomicLong authQueryScram = new AtomicLong();
    private final AtomicLong authQueryOther = new AtomicLong();
    private final io.pgloom.proto.BufferPool bufferPool;
    private final io.pgloom.prepared.StatementRegistry statements = new io.pgloom.prepared.StatementRegistry();
    private final io.pgloom.net.Suspension suspension = new io.pgloom.net.Suspension();

    private final io.pgloom.net.tls.TlsReloader tls;

    /** @param tls the TLS contexts; server logins take the server side from it when they connect */
    public PoolRegistry(Config config, UserList userList, Clock clock, io.pgloom.net.tls.TlsReloader tls) {
        this.clock = clock;
        this.tls = tls;
        this.tracked = new TrackedParams(config.get(General.TRACK_EXTRA_PARAMETERS));
        this.transport = transportFor(config.general());
        this.bufferPool = new io.pgloom.proto.BufferPool(config.get(General.PKT_BUF), 1024);
        apply(config, userList);
    }

    public void setLauncherFactory(Function<PoolRegistry, ServerLauncher> f) {
        launcherFactory = f;
    }

    public Config config() {
        return config;
    }

    public Values general() {
        return config.general();
    }

    public Clock clock() {
        return clock;
    }

    /** The TLS contexts in force (RELOAD swaps them; connections already up keep theirs). */
    public io.pgloom.net.tls.TlsReloader tls() {
        return tls;
    }

    /** How sockets are made (epoll or NIO), fixed at startup. */
    public io.pgloom.net.Transport transport() {
        return transport;
    }

    public TrackedParams tracked() {
        return tracked;
    }

    /** Makes sure new ids come after ids carried over from another process. */
    public void reserveIds(long atLeast) {
        ids.accumulateAndGet(atLeast, Math::max);
    }

    /** A new id for a client or server connection, unique in this process. */
    public long nextId() {
        return ids.incrementAndGet();
    }

    public Database database(String name) {
        return databases.get(name);
    }

    public Map<String, Database> databases() {
        return databases;
    }

    public Map<PoolKey, Pool> pools() {
        return pools;
    }

    /** The user entry for a name; users that are in neither auth_file nor the config get one without a secret. */
    public UserEntry user(String name) {
        UserEntry u = users.get(name);
        if (u != null) {
            return u;
        }
        Values general = config.general();
        return users.computeIfAbsent(name, n -> new UserEntry(n, null, UserKeys.SECTION.defaults(),
                general.get(General.MAX_USER_CONNECTIONS), general.get(General.MAX_USER_CLIENT_CONNECTIONS)));
    }

    public Map<String, UserEntry> users() {
        return users;
    }

    /**
     * Whether a user pgloom does not know gets a SCRAM challenge (and a SCRAM stand-in secret)
     * rather than an MD5 one where the method allows both: the kind most real secrets have, so
     * that the challenge does not tell an unknown user from a known one. For users auth_query would
     * look up, the kind of the secrets it found so far (SCRAM, PostgreSQL's default, before any);
     * otherwise the kind of most auth_file and config secrets, counted at each load.
     */
    public boolean mockScram(boolean viaAuthQuery) {
        return viaAuthQuery ? authQueryScram.get() >= authQueryOther.get() : storedSecretsMostlyScram;
    }

    /** Counts the kind of a secret auth_query found (for {@link #mockScram}). */
    public void authQueryFound(Secret secret) {
        (secret instanceof Secret.Scram ? authQueryScram : authQueryOther).incrementAndGet();
    }

    /** The pool a client of {@code db} logged in as {@code loginUser} uses (the forced user's, if any). */
    public Pool pool(Database db, String loginUser) {
        String poolUser = db.forcedUser() != null ? db.forcedUser() : loginUser;
        PoolKey key = new PoolKey(db.name(), poolUser);
        Pool p = pools.get(key);
        if (p != null) {
            return p;
        }
        return pools.computeIfAbsent(key, k -> {
            UserEntry u = user(poolUser);
            Pool created = new Pool(k, settingsFor(db, u), db.servers(), u.servers(), launcherFactory.apply(this), clock);
            if (globalPause || db.paused()) {
                created.setPaused(true);
            }
            return created;
        });
    }

    /**
     * The pool mode a client of {@code db} logged in as {@code loginUser} gets (user › database ›
     * general, the user being the database's forced user if it has one), as its pool will have
     * it; creates nothing, so it can be asked before authentication.
     */
    public PoolMode poolMode(Database db, String loginUser) {
        UserEntry u = users.get(db.forcedUser() != null ? db.forcedUser() : loginUser);
        return poolMode(u != null ? u.overrides() : UserKeys.SECTION.defaults(), db.settings(), config.general());
    }

    private static PoolMode poolMode(Values user, Values db, Values general) {
        return first(user.get(UserKeys.POOL_MODE), db.get(DatabaseKeys.POOL_MODE), general.get(General.POOL_MODE));
    }

    /** Resolves a pool's limits and timeouts: user › database › general. */
    public PoolSettings settingsFor(Database db, UserEntry user) {
        Values g = config.general();
        Values d = db.settings();
        Values u = user.overrides();
        PoolMode mode = poolMode(u, d, g);
        int size = first(u.get(UserKeys.POOL_SIZE), d.get(DatabaseKeys.POOL_SIZE), g.get(General.DEFAULT_POOL_SIZE));
        int reserve = first(u.get(UserKeys.RESERVE_POOL_SIZE), d.get(DatabaseKeys.RESERVE_POOL_SIZE),
                g.get(General.RESERVE_POOL_SIZE));
        int min = first(d.get(DatabaseKeys.MIN_POOL_SIZE), g.get(General.MIN_POOL_SIZE));
        Duration lifetime = first(d.get(DatabaseKeys.SERVER_LIFETIME), g.get(General.SERVER_LIFETIME));
        return new PoolSettings(mode, size, min, reserve, g.get(General.RESERVE_POOL_TIMEOUT).toNanos(),
                g.get(General.SERVER_IDLE_TIMEOUT).toNanos(), lifetimeNanos(lifetime),
                g.get(General.SERVER_CONNECT_TIMEOUT).toNanos(), g.get(General.SERVER_LOGIN_RETRY).toNanos(),
                g.get(General.SERVER_ROUND_ROBIN));
    }

    /** server_lifetime 0 means "use once"; represent it as 1 ns so every release closes. */
    private static long lifetimeNanos(Duration d) {
        return d.isZero() ? 1 : d.toNanos();
    }

    /** A per-database or per-user limit of 0 (or unset) falls back to the general one, as in PgBouncer. */
    private static int positiveOr(Integer specific, int general) {
        return specific != null && specific > 0 ? specific : general;
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        throw new IllegalStateException("no value");
    }

    /**
     * Installs a configuration: new databases appear, removed ones go (their pools stop getting
     * clients), changed connection settings mark servers to be closed when next released, limits
     * and secrets change live.
     */
    public synchronized void apply(Config newConfig, UserList newUsers) {
        Config old = this.config;
        this.config = newConfig;
        this.userList = newUsers;
        Values g = newConfig.general();
        Set<String> seen = new HashSet<>();
        newConfig.databases().forEach((name, values) -> {
            seen.add(name);
            int maxServers = positiveOr(values.get(DatabaseKeys.MAX_DB_CONNECTIONS), g.get(General.MAX_DB_CONNECTIONS));
            int maxClients = positiveOr(values.get(DatabaseKeys.MAX_DB_CLIENT_CONNECTIONS),
                    g.get(General.MAX_DB_CLIENT_CONNECTIONS));
            Database db = databases.get(name);
            if (db == null) {
                databases.put(name, new Database(name, values, maxServers, maxClients));
            } else {
                if (connectionChanged(db.settings(), values)) {
                    forPoolsOf(name, Pool::tagAllCloseNeeded);
                }
                db.setSettings(values);
                db.servers().setMax(maxServers);
                db.clients().setMax(maxClients);
            }
        });
        for (String name : new ArrayList<>(databases.keySet())) {
            if (!seen.contains(name)) {
                databases.remove(name);
                forPoolsOf(name, Pool::tagAllCloseNeeded);
            }
        }
        applyUsers(newConfig, newUsers, g);
        for (Pool p : pools.values()) {
            Database db = databases.get(p.key().database());
            if (db != null) {
                p.updateSettings(settingsFor(db, user(p.key().user())));
            }
        }
        assert old == null || old != newConfig;
    }

    private void applyUsers(Config cfg, UserList list, Values g) {
        int scram = 0;
        int other = 0;
        Set<String> names = new HashSet<>(users.keySet());
        names.addAll(cfg.users().keySet());
        if (list != null) {
            names.addAll(list.secrets().keySet());
        }
        for (String name : names) {
            Values overrides = cfg.users().getOrDefault(name, UserKeys.SECTION.defaults());
            String configPassword = overrides.get(UserKeys.PASSWORD);
            Secret secret = configPassword != null ? Secret.parse(configPassword)
                    : list == null ? null : list.secrets().get(name);
            int maxServers = positiveOr(overrides.get(UserKeys.MAX_USER_CONNECTIONS), g.get(General.MAX_USER_CONNECTIONS));
            int maxClients = positiveOr(overrides.get(UserKeys.MAX_USER_CLIENT_CONNECTIONS),
                    g.get(General.MAX_USER_CLIENT_CONNECTIONS));
            if (secret != null) {
                if (secret instanceof Secret.Scram) {
                    scram++;
                } else {
                    other++;
                }
            }
            UserEntry u = users.get(name);
            if (u == null) {
                users.put(name, new UserEntry(name, secret, overrides, maxServers, maxClients));
            } else {
                u.setSecret(secret);
                u.setOverrides(overrides);
                u.servers().setMax(maxServers);
                u.clients().setMax(maxClients);
            }
        }
        storedSecretsMostlyScram = scram > other;
    }

    private static boolean connectionChanged(Values a, Values b) {
        return !java.util.Objects.equals(a.get(DatabaseKeys.HOST), b.get(DatabaseKeys.HOST))
                || !java.util.Objects.equals(a.get(DatabaseKeys.PORT), b.get(DatabaseKeys.PORT))
                || !java.util.Objects.equals(a.get(DatabaseKeys.DBNAME), b.get(DatabaseKeys.DBNAME))
                || !java.util.Objects.equals(a.get(DatabaseKeys.USER), b.get(DatabaseKeys.USER))
                || !java.util.Objects.equals(a.get(DatabaseKeys.PASSWORD), b.get(DatabaseKeys.PASSWORD))
                || !java.util.Objects.equals(a.get(DatabaseKeys.CONNECT_QUERY), b.get(DatabaseKeys.CONNECT_QUERY));
    }

    private void forPoolsOf(String database, java.util.function.Consumer<Pool> f) {
        for (Pool p : pools.values()) {
            if (p.key().database().equals(database)) {
                f.accept(p);
            }
        }
    }

    /** Every distinct prepared statement in use by clients of transaction and statement pools. */
    public io.pgloom.prepared.StatementRegistry statements() {
        return statements;
    }

    /** Read buffers idle clients give back (pkt_buf bytes each). */
    public io.pgloom.proto.BufferPool bufferPool() {
        return bufferPool;
    }

    /** The transport a configuration asks for. */
    public static io.pgloom.net.Transport transportFor(Values general) {
        return io.pgloom.net.Transport.forName(general.get(General.TRANSPORT), general.get(General.POLLER_THREADS));
    }

    /** SUSPEND's gate for connection threads. */
    public io.pgloom.net.Suspension suspension() {
        return suspension;
    }

    /** PAUSE / RESUME of everything. */
    public void setGlobalPause(boolean paused) {
        globalPause = paused;
        applyPause();
    }

    /** Brings every pool's pause flag in line with the global and per-database flags. */
    public void applyPause() {
        for (Pool p : pools.values()) {
            Database db = databases.get(p.key().database());
            p.setPaused(globalPause || (db != null && db.paused()));
        }
    }

    /** Refuses new server assignments everywhere and fails waiting clients (SHUTDOWN WAIT_FOR_SERVERS). */
    public void refuseAll(String reason, String sqlState) {
        for (Pool p : pools.values()) {
            p.refuse(reason, sqlState);
        }
    }

    /** Counts servers of all pools. */
    public int serverCount() {
        int n = 0;
        for (Pool p : pools.values()) {
            Pool.Counts c = p.counts();
            n += c.active() + c.idle() + c.tested() + c.login() + c.beingCanceled();
        }
        return n;
    }

    /**
     * When a database or user is at its server limit while one of its pools has clients waiting,
     * closes the longest-idle server of its pools so the waiting pool can connect (PgBouncer's
     * eviction). One server per limit per call; the janitor calls it every tick.
     */
    public void evictForWaiters() {
        List<Pool> all = poolList();
        for (Pool waiting : all) {
            if (!waiting.hasWaiters()) {
                continue;
            }
            Database db = databases.get(waiting.key().database());
            if (db != null && db.servers().atMax()) {
                evictOne(all, p -> p.key().database().equals(db.name()), waiting);
            }
            UserEntry u = users.get(waiting.key().user());
            if (u != null && u.servers().atMax()) {
                evictOne(all, p -> p.key().user().equals(u.name()), waiting);
            }
        }
    }

    private static void evictOne(List<Pool> all, java.util.function.Predicate<Pool> sharing, Pool waiting) {
        Pool victim = null;
        long oldest = Long.MAX_VALUE;
        for (Pool p : all) {
            if (sharing.test(p)) {
                long since = p.oldestIdleSinceNanos();
                if (since < oldest) {
                    oldest = since;
                    victim = p;
                }
            }
        }
        if (victim != null && victim.evictOldestIdle()) {
            waiting.maintain();
        }
    }

    public List<Pool> poolList() {
        return new ArrayList<>(pools.values());
    }

    public UserList userList() {
        return userList;
    }
}
