package io.pgloom.client;

import io.pgloom.pool.Limit;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every client connection of the process, by id and by cancel key, and the global
 * {@code max_client_conn} count (the admin console is exempt). Cancel keys are 64 random bits
 * from a SecureRandom with the sign bit cleared (as PgBouncer, for pg_basebackup's sake).
 * Thread-safe.
 */
public final class ClientRegistry {
    private final ConcurrentHashMap<Long, ClientConnection> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, ClientConnection> byCancelKey = new ConcurrentHashMap<>();
    private final Limit clients;
    private final SecureRandom random = new SecureRandom();

    public ClientRegistry(int maxClientConn) {
        this.clients = new Limit(maxClientConn);
    }

    public Limit limit() {
        return clients;
    }

    void add(ClientConnection c) {
        byId.put(c.id(), c);
    }

    void remove(ClientConnection c) {
        byId.remove(c.id());
        long key = c.cancelKey();
        if (key != 0) {
            byCancelKey.remove(key, c);
        }
    }

    /** A fresh cancel key registered for this client. */
    long newCancelKey(ClientConnection c) {
        while (true) {
            long key = random.nextLong() & 0x7fffffff_ffffffffL;
            if (key != 0 && byCancelKey.putIfAbsent(key, c) == null) {
                return key;
            }
        }
    }

    /** Registers a key carried over from another process (takeover). */
    public boolean adoptCancelKey(long key, ClientConnection c) {
        return byCancelKey.putIfAbsent(key, c) == null;
    }

    public ClientConnection byCancelKey(long key) {
        return byCancelKey.get(key);
    }

    public ClientConnection byId(long id) {
        return byId.get(id);
    }

    public Collection<ClientConnection> all() {
        return byId.values();
    }

    public int size() {
        return byId.size();
    }
}
