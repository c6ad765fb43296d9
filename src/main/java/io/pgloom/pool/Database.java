package io.pgloom.pool;

import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.Values;

/**
 * A database as clients name it ({@code [databases.<name>]}), with its current settings, its
 * connection limits and its PAUSE/DISABLE flags. Settings are swapped whole on RELOAD.
 * Thread-safe.
 */
public final class Database {
    private final String name;
    private volatile Values settings;
    private final Limit servers;
    private final Limit clients;
    private volatile boolean paused;
    private volatile boolean disabled;

    public Database(String name, Values settings, int maxServers, int maxClients) {
        this.name = name;
        this.settings = settings;
        this.servers = new Limit(maxServers);
        this.clients = new Limit(maxClients);
    }

    public String name() {
        return name;
    }

    public Values settings() {
        return settings;
    }

    public void setSettings(Values v) {
        settings = v;
    }

    /** The database name on the server (dbname, or this entry's name). */
    public String serverDbname() {
        String d = settings.get(DatabaseKeys.DBNAME);
        return d != null ? d : name;
    }

    /** The forced user, or null when clients log in as themselves. */
    public String forcedUser() {
        return settings.get(DatabaseKeys.USER);
    }

    public Limit servers() {
        return servers;
    }

    public Limit clients() {
        return clients;
    }

    public boolean paused() {
        return paused;
    }

    public void setPaused(boolean p) {
        paused = p;
    }

    public boolean disabled() {
        return disabled;
    }

    public void setDisabled(boolean d) {
        disabled = d;
    }
}
