package io.pgloom.client;

import io.pgloom.auth.hba.HbaReloader;
import io.pgloom.net.tls.TlsReloader;
import io.pgloom.pool.PoolRegistry;

/**
 * What client connections share: the pools and configuration, the client registry, the
 * admin console, and the TLS and HBA settings in force. One per process.
 *
 * @param console runs an admin console session on the client's thread after login
 * @param shutdown tells whether new logins are refused (any SHUTDOWN mode)
 * @param tls the TLS contexts (the client side is used for SSLRequest and direct TLS)
 * @param hba the HBA rules and ident maps for {@code auth_type = "hba"}
 * @param loginFailures failed logins per address ({@code client_login_failure_limit})
 */
public record ClientServices(PoolRegistry pools, ClientRegistry clients, Console console,
        java.util.function.BooleanSupplier shutdown, TlsReloader tls, HbaReloader hba, LoginFailures loginFailures) {

    /** The admin console (database {@code pgbouncer}). */
    public interface Console {
        /** Serves one console session until the client leaves; called after a successful login. */
        void serve(ClientConnection client, boolean admin) throws java.io.IOException;
    }
}
