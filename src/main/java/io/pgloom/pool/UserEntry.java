package io.pgloom.pool;

import io.pgloom.auth.ScramKeys;
import io.pgloom.auth.Secret;
import io.pgloom.config.Values;

/**
 * A user name the pooler knows: its stored secret (auth_file or {@code [users]} password), or
 * else the secret auth_query returned at its latest login, its overrides, its connection limits,
 * and the SCRAM keys recovered from a client's SCRAM login (pass-through to the server when only a
 * SCRAM secret is stored). Thread-safe.
 */
public final class UserEntry {
    private final String name;
    private volatile Secret secret;
    /** From auth_query; used only while there is no stored secret. */
    private volatile Secret dynamicSecret;
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

    /**
     * The stored secret, else the one auth_query returned last, or null when neither knows the
     * user.
     */
    public Secret secret() {
        Secret s = secret;
        return s != null ? s : dynamicSecret;
    }

    /** Whether auth_file or the config has a secret for this user (auth_query is then not asked). */
    public boolean hasStoredSecret() {
        return secret != null;
    }

    /**
     * Records what auth_query returned for this user (null: no usable secret, the login fails). A
     * changed secret forgets the SCRAM pass-through keys, which belonged to the old one.
     */
    public void setDynamicSecret(Secret s) {
        if (!java.util.Objects.equals(s, dynamicSecret)) {
            passThrough = null;
        }
        dynamicSecret = s;
    }

    /** The auth_query secret, for takeover (null when none, or when a stored one is in force). */
    public Secret dynamicSecret() {
        return secret == null ? dynamicSecret : null;
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
