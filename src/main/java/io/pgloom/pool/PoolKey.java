package io.pgloom.pool;

/** A pool's identity: the pooler-side database name and the user its servers log in as. */
public record PoolKey(String database, String user) {
    @Override
    public String toString() {
        return database + "/" + user;
    }
}
