package io.pgloom.client;

import io.pgloom.auth.AuthQueryAnswer;
import io.pgloom.auth.Secret;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.pool.AcquireException;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.UserEntry;
import io.pgloom.pool.Waiter;
import io.pgloom.proto.SqlState;
import io.pgloom.server.AuthQuery;
import io.pgloom.server.ServerConnection;

/**
 * auth_user / auth_query / auth_dbname: looks up the secret of a user that auth_file and the
 * config do not know, on a server of the pool (auth_dbname or the client's database, auth_user),
 * at every login of that user, as PgBouncer does. The database's own auth_user, auth_query and
 * auth_dbname come before the general ones. A user the query does not find, or finds with a NULL
 * secret, gets the same mock authentication as any unknown user, so the answer cannot be told
 * from a wrong password. A failing query closes the login with "auth_query failed" (the details
 * go to the log). Runs on the client's thread.
 */
final class AuthLookup {
    private final ClientConnection client;
    private final PoolRegistry registry;

    AuthLookup(ClientConnection client, PoolRegistry registry) {
        this.client = client;
        this.registry = registry;
    }

    /** The auth_user for logins to {@code db}, or null when auth_query is off for it. */
    static String authUser(Database db, Values general) {
        String u = db.settings().get(DatabaseKeys.AUTH_USER);
        if (u == null || u.isEmpty()) {
            u = general.get(General.AUTH_USER);
        }
        return u == null || u.isEmpty() ? null : u;
    }

    /**
     * Whether a login of {@code user} to {@code db} asks auth_query: auth_user is set for the
     * database and the user has no stored secret.
     */
    static boolean applies(Database db, UserEntry user, Values general) {
        return authUser(db, general) != null && (user == null || !user.hasStoredSecret());
    }

    /**
     * Runs the lookup and returns the user's entry holding the secret found, or null when the user
     * was not found or has no usable secret.
     */
    UserEntry lookUp(Database db, String userName) {
        Values general = registry.general();
        String authUser = authUser(db, general);
        String sql = first(db.settings().get(DatabaseKeys.AUTH_QUERY), general.get(General.AUTH_QUERY));
        String authDbName = first(db.settings().get(DatabaseKeys.AUTH_DBNAME), general.get(General.AUTH_DBNAME));
        Database authDb = authDbName == null ? db : registry.database(authDbName);
        if (sql == null) {
            Log.error(client.logPrefix() + "auth_user is set but auth_query is empty");
            throw closing("bouncer config error", SqlState.INVALID_AUTHORIZATION);
        }
        if (authDb == null) {
            Log.error(client.logPrefix() + "auth_dbname \"" + authDbName + "\" is not a configured database");
            throw closing("bouncer config error", SqlState.INVALID_AUTHORIZATION);
        }
        if (authDb.disabled()) {
            throw closing("authentication database \"" + authDb.name() + "\" is disabled", SqlState.INVALID_AUTHORIZATION);
        }
        AuthQueryAnswer.Result result = run(registry.pool(authDb, authUser), sql, userName, general);
        UserEntry existing = registry.users().get(userName);
        switch (result) {
            case AuthQueryAnswer.Failed f -> {
                Log.error(client.logPrefix() + f.reason());
                throw closing("auth_query failed", SqlState.INVALID_AUTHORIZATION);
            }
            case AuthQueryAnswer.NotFound n -> {
                if (existing != null) {
                    existing.setDynamicSecret(null);
                }
                if (Log.debugEnabled()) {
                    Log.debug(client.logPrefix() + "auth_query found no such user");
                }
                return null;
            }
            case AuthQueryAnswer.Found found -> {
                UserEntry u = existing != null ? existing : registry.user(userName);
                Secret secret = found.secret() == null ? null : Secret.parse(found.secret());
                u.setDynamicSecret(secret);
                if (secret != null) {
                    registry.authQueryFound(secret);
                }
                return secret == null ? null : u;
            }
        }
    }

    private AuthQueryAnswer.Result run(Pool pool, String sql, String userName, Values general) {
        long now = registry.clock().nanos();
        long deadline = now + waitNanos(general, now);
        Waiter waiter = pool.newWaiter(this);
        ServerConnection server;
        try {
            server = (ServerConnection) pool.acquire(waiter, Math.max(1, deadline - now));
        } catch (AcquireException e) {
            return new AuthQueryAnswer.Failed("no server for auth_query: " + e.getMessage());
        }
        AuthQuery query = new AuthQuery(client.id(), client.logPrefix(), general.get(General.MAX_PACKET_SIZE));
        return query.run(server, sql, userName, deadline, registry.clock()::nanos, () -> client.closeReason() != null);
    }

    /** What is left of client_login_timeout, else query_wait_timeout, else no limit. */
    private long waitNanos(Values general, long now) {
        long login = general.get(General.CLIENT_LOGIN_TIMEOUT).toNanos();
        if (login > 0) {
            return Math.max(1, login - (now - client.connectNanos()));
        }
        long wait = general.get(General.QUERY_WAIT_TIMEOUT).toNanos();
        return wait > 0 ? wait : Long.MAX_VALUE / 4;
    }

    private static String first(String specific, String general) {
        if (specific != null && !specific.isEmpty()) {
            return specific;
        }
        return general == null || general.isEmpty() ? null : general;
    }

    private static ClientConnection.ClientClosing closing(String message, String sqlState) {
        return new ClientConnection.ClientClosing(message, true, sqlState);
    }
}
