package io.pgloom.pool;

import io.pgloom.auth.ScramKeys;
import io.pgloom.auth.Secret;
import io.pgloom.config.Values;

/**
 * A user name the pooler knows: its stored secret (auth_file or {@code [users]} password), its
 * overrides, its connection limits, and the SCRAM keys recovered from a client's SCRAM login
 * (pass-through to the server when only a SCRAM secret is stored). Thread-safe.
 */
public final class UserEntry {
    private final String name;
    private volatile Secret secret;
    private volatile Values overrides;
    private final Limit servers;
    private final Limit clients;
    private volatile ScramKeys passThrough;

    public UserEntry(String name, Secret secret, Values overrides, int maxServers, int maxClients) {
        this.name = name;
        this.secret = secret;
        this.overrides = overrides;
        this.servers = new Limit(maxServers);
        this.clients = new Limit(maxClients);
    }

    public String name() {
        return name;
    }

    /** The stored secret, or null when the user is not in auth_file or the config. */
    public Secret secret() {
        return secret;
    }

    public void setSecret(Secret s) {
        if (!java.util.Objects.equals(s, secret)) {
            passThrough = null;
        }
        secret = s;
    }

    public Values overrides() {
        return overrides;
    }

    public void setOverrides(Values v) {
        overrides = v;
    }

    public Limit servers() {
        return servers;
    }

    public Limit clients() {
        return clients;
    }

    public ScramKeys passThrough() {
        return passThrough;
    }

    public void setPassThrough(ScramKeys keys) {
        passThrough = keys;
    }
}
