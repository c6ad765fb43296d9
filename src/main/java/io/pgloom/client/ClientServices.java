package io.pgloom.client;

import io.pgloom.pool.PoolRegistry;

/**
 * What client connections share: the pools and configuration, the client registry, and the
 * admin console. One per process.
 *
 * @param console runs an admin console session on the client's thread after login
 * @param shutdown tells whether new logins are refused (any SHUTDOWN mode)
 */
public record ClientServices(PoolRegistry pools, ClientRegistry clients, Console console,
        java.util.function.BooleanSupplier shutdown) {

    /** The admin console (database {@code pgbouncer}). */
    public interface Console {
        /** Serves one console session until the client leaves; called after a successful login. */
        void serve(ClientConnection client, boolean admin) throws java.io.IOException;
    }
}
