package io.pgloom;

import io.pgloom.admin.AdminError;
import io.pgloom.admin.Controls;
import io.pgloom.auth.UserList;
import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.config.Config;
import io.pgloom.config.ConfigException;
import io.pgloom.config.General;
import io.pgloom.config.Setting;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.log.LogSetup;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.SqlState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * The console's control commands and the signals, with PgBouncer's semantics: PAUSE waits until
 * no server is lent out (idle ones are closed), RESUME undoes PAUSE or SUSPEND, KILL drops a
 * database's clients and servers, RECONNECT closes servers when next released, RELOAD re-reads
 * the files (keeping the running configuration if anything is wrong), SET changes one setting,
 * SHUTDOWN ends the process at once or after the servers or the clients are gone.
 */
final class Operations implements Controls {
    private static final long POLL_NANOS = 20_000_000L;

    private final Pgloom pooler;
    private final PoolRegistry pools;
    private final ClientRegistry clients;

    Operations(Pgloom pooler, PoolRegistry pools, ClientRegistry clients) {
        this.pooler = pooler;
        this.pools = pools;
        this.clients = clients;
    }

    // ------------------------------------------------------------------ PAUSE / RESUME

    @Override
    public void pause(String database) throws AdminError {
        if (pooler.shutdownMode() != null) {
            throw new AdminError("pooler is shutting down");
        }
        if (database == null) {
            if (pooler.pauseMode() != PauseMode.NONE) {
                throw new AdminError("already suspended/paused");
            }
            pooler.setPauseMode(PauseMode.PAUSE);
            pools.setGlobalPause(true);
            waitUntil(() -> allReleased(p -> true));
            return;
        }
        Database db = database(database, "pause");
        db.setPaused(true);
        pools.applyPause();
        waitUntil(() -> allReleased(p -> p.key().database().equals(db.name())));
    }

    /**
     * Pauses from SIGUSR1: like PAUSE, but nobody waits for it.
     *
     * @return false when already paused or suspended (or shutting down), which changes nothing
     */
    boolean pauseAsync() {
        if (pooler.pauseMode() != PauseMode.NONE || pooler.shutdownMode() != null) {
            return false;
        }
        pooler.setPauseMode(PauseMode.PAUSE);
        pools.setGlobalPause(true);
        return true;
    }

    private boolean allReleased(Predicate<Pool> which) {
        for (Pool p : pools.poolList()) {
            if (which.test(p)) {
                Pool.Counts c = p.counts();
                if (c.active() + c.tested() + c.login() + c.beingCanceled() > 0) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public void resume(String database) throws AdminError {
        if (pooler.shutdownMode() != null) {
            throw new AdminError("pooler is shutting down");
        }
        if (database != null) {
            Database db = database(database, "resume");
            if (!db.paused()) {
                throw new AdminError("database " + database + " is not paused");
            }
            db.setPaused(false);
            pools.applyPause();
            return;
        }
        switch (pooler.pauseMode()) {
            case SUSPEND -> pooler.resumeFromSuspend();
            case PAUSE -> resumeAll();
            case NONE -> throw new AdminError("pooler is not paused/suspended");
        }
    }

    /** Ends a global PAUSE (RESUME, SIGUSR2). */
    void resumeAll() {
        pooler.setPauseMode(PauseMode.NONE);
        pools.setGlobalPause(false);
    }

    @Override
    public void suspend(ClientConnection requester) throws AdminError {
        pooler.suspend(requester);
    }

    @Override
    public void showFds(ClientConnection requester, MessageBuilder out) throws AdminError {
        pooler.showFds(requester, out);
    }

    @Override
    public void consoleClosed(ClientConnection client) {
        pooler.consoleClosed(client);
    }

    // ------------------------------------------------------------------ databases and clients

    @Override
    public void disable(String database, boolean disabled) throws AdminError {
        database(database, disabled ? "disable" : "enable").setDisabled(disabled);
    }

    @Override
    public void kill(String database) throws AdminError {
        if (pooler.pauseMode() != PauseMode.NONE) {
            throw new AdminError("already suspended/paused");
        }
        Predicate<String> which;
        if (database == null) {
            for (Database db : pools.databases().values()) {
                db.setPaused(true);
            }
            which = name -> true;
        } else {
            Database db = database(database, "kill");
            db.setPaused(true);
            which = name -> name.equals(db.name());
        }
        pools.applyPause();
        for (ClientConnection c : clients.all()) {
            if (!c.isConsole() && which.test(c.databaseName())) {
                c.close("admin forced disconnect", true, SqlState.ADMIN_SHUTDOWN);
            }
        }
        closeServers(p -> which.test(p.key().database()), "admin forced disconnect");
    }

    @Override
    public void killClient(String id) throws AdminError {
        long n;
        try {
            n = Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw new AdminError("invalid client pointer supplied");
        }
        ClientConnection c = clients.byId(n);
        if (c == null) {
            throw new AdminError("client not found");
        }
        c.close("admin forced disconnect", true, SqlState.ADMIN_SHUTDOWN);
    }

    @Override
    public void reconnect(String database) throws AdminError {
        Predicate<Pool> which = poolsOf(database, "reconnect");
        for (Pool p : pools.poolList()) {
            if (which.test(p)) {
                p.tagAllCloseNeeded();
            }
        }
    }

    @Override
    public void waitClose(String database) throws AdminError {
        Predicate<Pool> which = poolsOf(database, "wait in");
        waitUntil(() -> {
            for (Pool p : pools.poolList()) {
                if (which.test(p)) {
                    for (PoolEntry s : p.servers()) {
                        if (s.closeNeeded()) {
                            return false;
                        }
                    }
                }
            }
            return true;
        });
    }

    private Predicate<Pool> poolsOf(String database, String verb) throws AdminError {
        if (database == null) {
            return p -> true;
        }
        Database db = database(database, verb);
        return p -> p.key().database().equals(db.name());
    }

    private Database database(String name, String verb) throws AdminError {
        if (name.equals("pgbouncer")) {
            throw new AdminError("cannot " + verb + " admin db: " + name);
        }
        Database db = pools.database(name);
        if (db == null) {
            throw new AdminError("no such database: " + name);
        }
        return db;
    }

    void closeServers(Predicate<Pool> which, String reason) {
        List<PoolEntry> all = new ArrayList<>();
        for (Pool p : pools.poolList()) {
            if (which.test(p)) {
                all.addAll(p.servers());
            }
        }
        for (PoolEntry s : all) {
            s.close(reason);
        }
    }

    // ------------------------------------------------------------------ RELOAD / SET

    @Override
    public void reload() throws AdminError {
        if (!reloadFromFile()) {
            throw new AdminError("RELOAD failed, see logs for additional details", SqlState.CONFIG_FILE_ERROR);
        }
    }

    /** Re-reads the config and auth files; on any error keeps the running configuration. */
    boolean reloadFromFile() {
        // before anything can fail: logrotate's "kill -HUP" must move the log even when the new config is bad
        LogSetup.reopen();
        Config current = pools.config();
        Config next;
        UserList users;
        try {
            next = Config.load(current.file());
            users = Pgloom.loadUsers(next.general());
        } catch (ConfigException e) {
            for (String p : e.problems()) {
                Log.error(p);
            }
            return false;
        } catch (StartupException e) {
            Log.error(e.getMessage());
            return false;
        }
        Config fixed = keepFixed(current, next);
        if (!reloadHba(fixed.general())) {
            return false;
        }
        install(current, fixed, users);
        reloadTls(fixed.general());
        return true;
    }

    /**
     * New TLS contexts from the files (a renewed certificate under the same name counts too);
     * new connections use them, running ones keep theirs. On failure the old ones stay.
     */
    private void reloadTls(Values g) {
        pooler.tls().reload(g).ifPresentOrElse(
                e -> Log.warning("TLS settings could not be applied, still using old configuration: " + e),
                () -> Pgloom.tlsWarnings(pooler.tls(), Log::warning));
    }

    /**
     * Re-reads the HBA and ident files when auth_type is hba. A bad file keeps the rules in force;
     * with none in force yet (auth_type just became hba) the whole RELOAD fails instead.
     */
    private boolean reloadHba(Values g) {
        List<String> warnings = new ArrayList<>();
        java.util.Optional<String> error = pooler.hba().reload(g, warnings);
        if (error.isPresent()) {
            if (pooler.hba().current() == null) {
                Log.error(error.get());
                return false;
            }
            Log.error(error.get() + " (keeping the HBA rules in force)");
        }
        warnings.forEach(Log::warning);
        return true;
    }

    /** Keys RELOAD cannot change keep their running values (with a warning naming them). */
    private static Config keepFixed(Config current, Config next) {
        Values g = next.general();
        for (Setting<?> s : General.SECTION.settings()) {
            if (!s.reloadable() && !java.util.Objects.equals(current.general().getAny(s), g.getAny(s))) {
                Log.warning("setting " + s.name() + " cannot be changed by RELOAD, keeping " + s.showAny(current.general().getAny(s)));
                g = withAny(g, s, current.general().getAny(s));
            }
        }
        return new Config(next.file(), g, next.databases(), next.users(), next.peers());
    }

    @SuppressWarnings("unchecked")
    private static Values withAny(Values v, Setting<?> s, Object value) {
        return v.with((Setting<Object>) s, value);
    }

    private void install(Config current, Config next, UserList users) {
        pools.apply(next, users);
        Values g = next.general();
        LogSetup.update(g.get(General.LOGFILE), g.get(General.VERBOSE));
        LogSetup.reopen();
        clients.limit().setMax(g.get(General.MAX_CLIENT_CONN));
        assert current != next;
    }

    @Override
    public String set(String key, String value) throws AdminError {
        Setting<?> s = General.SECTION.find(key);
        if (s == null) {
            Log.error("unknown parameter: pgbouncer/" + key);
            throw new AdminError("SET failed");
        }
        Object parsed;
        try {
            parsed = s.parse(value);
        } catch (IllegalArgumentException e) {
            Log.error("SET " + key + ": " + e.getMessage());
            throw new AdminError("SET failed");
        }
        if (s.reloadable()) {
            Config c = pools.config();
            Config next = new Config(c.file(), withAny(c.general(), s, parsed), c.databases(), c.users(), c.peers());
            boolean hbaKey = s == General.AUTH_TYPE || s == General.AUTH_HBA_FILE || s == General.AUTH_IDENT_FILE;
            if (hbaKey && !reloadHba(next.general())) {
                throw new AdminError("SET failed");
            }
            install(c, next, pools.userList());
            if (s.name().contains("_tls")) {
                reloadTls(next.general());
            }
        }
        return "SET " + s.name() + "=" + value;
    }

    // ------------------------------------------------------------------ SHUTDOWN

    @Override
    public void shutdown(String mode) throws AdminError {
        if (mode == null) {
            pooler.exitNow(null);
            LockSupport.park();
            return;
        }
        pooler.beginShutdown(mode.equals("wait_for_servers") ? ShutdownMode.WAIT_FOR_SERVERS : ShutdownMode.WAIT_FOR_CLIENTS);
    }

    private static void waitUntil(BooleanSupplier done) {
        while (!done.getAsBoolean()) {
            LockSupport.parkNanos(POLL_NANOS);
        }
    }
}
