package io.pgloom.client;

import io.pgloom.Version;
import io.pgloom.auth.ScramServer;
import io.pgloom.config.AuthType;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.pool.AcquireException;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.UserEntry;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.SqlState;
import io.pgloom.proto.StartupPacket;
import io.pgloom.server.ParamCache;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A client's startup: TLS negotiation ({@link ClientStartup}), CancelRequest, the
 * StartupMessage and its parameters, the connection limits, authentication, and the welcome
 * (AuthenticationOk, the server's ParameterStatus values with the client's own tracked ones,
 * a pooler-made BackendKeyData, ReadyForQuery). The admin console database {@code pgbouncer} is
 * admitted here too. Runs on the client's thread; failures throw
 * {@link ClientConnection.ClientClosing} with PgBouncer's texts.
 */
final class ClientLogin {
    static final String ADMIN_DATABASE = "pgbouncer";

    private final ClientConnection client;
    private final ClientServices services;
    private final PoolRegistry registry;
    private final Values general;
    /** The client's read side; a new one once TLS started. */
    private MessageStream in;
    private final List<String> unsupportedProtocolOptions = new ArrayList<>();
    private int minorVersion;

    ClientLogin(ClientConnection client) {
        this.client = client;
        this.services = client.services();
        this.registry = services.pools();
        this.general = registry.general();
        this.in = client.stream();
    }

    /** @return false when the connection ends here (cancel request, console session over) */
    boolean run() throws IOException {
        StartupPacket startup = readStartup();
        if (startup == null) {
            return false;
        }
        if (startup.isCancel()) {
            CancelRequests.handle(client, startup.cancelKey(), services);
            return false;
        }
        minorVersion = startup.minorVersion();
        Map<String, String> p = startup.parameters();
        String user = p.get("user");
        if (user == null || user.isEmpty()) {
            throw closing("no username supplied", SqlState.INVALID_AUTHORIZATION);
        }
        String db = p.getOrDefault("database", "");
        if (db.isEmpty()) {
            db = user;
        }
        client.identify(db, user);
        refuseIfBlocked();
        Map<String, String> tracked = startupSettings(p);
        if (db.equals(ADMIN_DATABASE)) {
            consoleLogin(user, tracked.get("application_name"));
            return false;
        }
        if (services.shutdown().getAsBoolean()) {
            throw closing("pooler is shutting down", SqlState.ADMIN_SHUTDOWN);
        }
        if (!services.clients().limit().tryAcquire()) {
            throw closing("no more connections allowed (max_client_conn)", SqlState.TOO_MANY_CONNECTIONS);
        }
        client.countGlobally();
        return login(db, user, tracked);
    }

    /** The StartupMessage or CancelRequest; TLS may start on the way, which replaces the stream. */
    private StartupPacket readStartup() throws IOException {
        StartupPacket sp = new ClientStartup(client).read();
        in = client.stream();
        return sp;
    }

    /** Sorts startup parameters into tracked values; refuses what pgloom cannot honour. */
    private Map<String, String> startupSettings(Map<String, String> p) {
        List<String> ignored = general.get(General.IGNORE_STARTUP_PARAMETERS);
        Map<String, String> tracked = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : p.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key) {
                case "user", "database" -> {
                }
                case "options" -> options(value, ignored, tracked);
                case "replication" -> {
                    String v = value.toLowerCase(Locale.ROOT);
                    if (!(v.equals("false") || v.equals("off") || v.equals("no") || v.equals("0"))) {
                        throw unsupported(key, value);
                    }
                }
                default -> {
                    if (key.startsWith("_pq_.")) {
                        unsupportedProtocolOptions.add(key);
                    } else if (registry.tracked().indexOf(key) >= 0) {
                        tracked.put(key, value);
                    } else if (!containsIgnoreCase(ignored, key)) {
                        throw unsupported(key, value);
                    }
                }
            }
        }
        return tracked;
    }

    private void options(String value, List<String> ignored, Map<String, String> tracked) {
        if (containsIgnoreCase(ignored, "options")) {
            return;
        }
        Map<String, String> settings;
        try {
            settings = StartupOptions.parse(value);
        } catch (IllegalArgumentException e) {
            throw closing("unsupported options startup parameter: " + e.getMessage(), SqlState.FEATURE_NOT_SUPPORTED);
        }
        for (Map.Entry<String, String> s : settings.entrySet()) {
            if (registry.tracked().indexOf(s.getKey()) >= 0) {
                tracked.put(s.getKey(), s.getValue());
            } else if (!containsIgnoreCase(ignored, s.getKey())) {
                throw closing("unsupported options startup parameter: parameter " + s.getKey(), SqlState.FEATURE_NOT_SUPPORTED);
            }
        }
    }

    private ClientConnection.ClientClosing unsupported(String key, String value) {
        Log.warning(client.logPrefix() + "unsupported startup parameter: " + key + "=" + value);
        return closing("unsupported startup parameter: " + key, SqlState.FEATURE_NOT_SUPPORTED);
    }

    private static boolean containsIgnoreCase(List<String> list, String key) {
        for (String s : list) {
            if (s.equalsIgnoreCase(key)) {
                return true;
            }
        }
        return false;
    }

    private boolean login(String dbName, String userName, Map<String, String> tracked) throws IOException {
        Database db = registry.database(dbName);
        if (db == null) {
            logFailed(dbName, userName);
            throw closing("no such database: " + dbName, SqlState.PROTOCOL_VIOLATION);
        }
        if (db.disabled()) {
            throw closing("database \"" + dbName + "\" is disabled", SqlState.PROTOCOL_VIOLATION);
        }
        AuthType authType = general.get(General.AUTH_TYPE);
        String loginUser = authType == AuthType.ANY ? db.forcedUser() : userName;
        if (authType == AuthType.ANY && loginUser == null) {
            Log.error(client.logPrefix() + "auth_type=any requires forced user");
            throw closing("bouncer config error", SqlState.PROTOCOL_VIOLATION);
        }
        UserEntry user = registry.users().get(loginUser);
        logAttempt(dbName, userName, " pool_mode=" + registry.poolMode(db, loginUser).word());
        negotiateProtocol();
        LoginMethod method = LoginPolicy.decide(client, authType, dbName, userName);
        boolean viaAuthQuery = AuthLookup.applies(db, user, general);
        UserEntry checked = secretHolder(method, db, loginUser, user);
        ClientAuth auth = new ClientAuth(client, in, general, registry.mockScram(viaAuthQuery));
        authenticate(auth, method, loginUser, checked);
        if (checked != null) {
            user = checked;
        }
        if (user == null) {
            user = registry.user(loginUser);
        }
        rememberScramKeys(auth.scramSuccess(), user, db);
        takeClientSlots(db, user);
        Pool pool = registry.pool(db, loginUser);
        ParamCache cache = new ParamCache(registry.tracked());
        tracked.forEach(cache::set);
        client.attach(db, user, pool, cache);
        welcome(pool, cache);
        client.loggedIn();
        pool.stats().clientLogins.increment();
        return true;
    }

    /**
     * The entry whose secret checks the client: the user's stored one, or with auth_query the one
     * it returns now (null: unknown, mock authentication). An auth_query secret from an earlier
     * login is not used once auth_query no longer applies.
     */
    private UserEntry secretHolder(LoginMethod method, Database db, String loginUser, UserEntry user) {
        boolean needsSecret = method.kind() != LoginMethod.Kind.ANY && method.kind() != LoginMethod.Kind.REJECT;
        if (needsSecret && AuthLookup.applies(db, user, general)) {
            return new AuthLookup(client, registry).lookUp(db, loginUser);
        }
        return user != null && user.hasStoredSecret() ? user : null;
    }

    private void rememberScramKeys(ScramServer.Success success, UserEntry user, Database db) {
        if (success != null && success.passThroughUsable() && db.forcedUser() == null) {
            user.setPassThrough(success.keys());
        }
    }

    private void takeClientSlots(Database db, UserEntry user) {
        if (!db.clients().tryAcquire()) {
            throw closing("client connections exceeded (max_db_client_connections)", SqlState.TOO_MANY_CONNECTIONS);
        }
        client.countDatabase(db);
        if (!user.clients().tryAcquire()) {
            throw closing("client connections exceeded (max_user_client_connections)", SqlState.TOO_MANY_CONNECTIONS);
        }
        client.countUser(user);
    }

    private void negotiateProtocol() throws IOException {
        if (minorVersion > 0 || !unsupportedProtocolOptions.isEmpty()) {
            MessageBuilder b = new MessageBuilder();
            BackendMessages.negotiateProtocolVersion(b, 0, unsupportedProtocolOptions);
            client.wire().write(b.buffer());
        }
    }

    /** AuthenticationOk, ParameterStatus for every server parameter, BackendKeyData, ReadyForQuery. */
    private void welcome(Pool pool, ParamCache cache) throws IOException {
        long timeout = general.get(General.CLIENT_LOGIN_TIMEOUT).toNanos();
        long left = timeout <= 0 ? Long.MAX_VALUE / 2 : timeout - (registry.clock().nanos() - client.connectNanos());
        Map<String, String> server;
        try {
            server = pool.awaitWelcome(Math.max(left, 1));
        } catch (AcquireException e) {
            throw closing(e.getMessage(), e.sqlState());
        }
        io.pgloom.proto.BufferPool buffers = registry.bufferPool();
        MessageBuilder b = new MessageBuilder(buffers.take());
        BackendMessages.authOk(b);
        for (Map.Entry<String, String> e : server.entrySet()) {
            String mine = cache.get(e.getKey());
            if (mine == null && cache.set(e.getKey(), e.getValue())) {
                mine = e.getValue();
            }
            BackendMessages.parameterStatus(b, e.getKey(), mine != null ? mine : e.getValue());
        }
        BackendMessages.backendKeyData(b, client.cancelKey());
        BackendMessages.readyForQuery(b, 'I');
        client.wire().write(b.array(), 0, b.size());
        buffers.give(b.array()); // written in full: the buffer is free again (one that grew is dropped)
    }

    // ------------------------------------------------------------------ failed-login limit

    /** Runs the exchange, counting a failure against the client's address. */
    private void authenticate(ClientAuth auth, LoginMethod method, String userName, UserEntry user) throws IOException {
        try {
            auth.authenticate(method, userName, user);
        } catch (ClientConnection.ClientClosing e) {
            if (SqlState.INVALID_PASSWORD.equals(e.sqlState) || SqlState.INVALID_AUTHORIZATION.equals(e.sqlState)) {
                countFailure();
            }
            throw e;
        } catch (io.pgloom.proto.ProtocolViolationException e) {
            countFailure();
            throw e;
        }
    }

    /** client_login_failure_limit: an address that failed too often is refused before any exchange. */
    private void refuseIfBlocked() {
        java.net.InetAddress address = limitedAddress();
        if (address != null && services.loginFailures().blocked(address, registry.clock().nanos())) {
            throw closing("too many failed logins from this address (client_login_failure_limit)",
                    SqlState.INVALID_AUTHORIZATION);
        }
    }

    private void countFailure() {
        java.net.InetAddress address = limitedAddress();
        if (address == null) {
            return;
        }
        int limit = general.get(General.CLIENT_LOGIN_FAILURE_LIMIT);
        java.time.Duration window = general.get(General.CLIENT_LOGIN_FAILURE_WINDOW);
        if (services.loginFailures().failed(address, registry.clock().nanos(), limit, window.toNanos(),
                general.get(General.CLIENT_LOGIN_FAILURE_SOURCES))) {
            Log.warning(client.logPrefix() + "client_login_failure_limit: " + limit + " failed logins from "
                    + LoginFailures.describe(address) + ", its logins are refused for " + window.toSeconds() + "s");
        }
    }

    /** The client's IP address when the failed-login limit is on (never for unix sockets). */
    private java.net.InetAddress limitedAddress() {
        if (general.get(General.CLIENT_LOGIN_FAILURE_LIMIT) <= 0 || client.wire().isUnix()) {
            return null;
        }
        java.net.InetAddress address = client.wire().remoteInetAddress();
        return address == null ? null : LoginFailures.source(address);
    }

    // ------------------------------------------------------------------ admin console

    private void consoleLogin(String user, String applicationName) throws IOException {
        boolean admin;
        if (client.wire().isUnix() && user.equals("pgbouncer") && samePeerUid()) {
            admin = true;
            if (general.get(General.LOG_CONNECTIONS)) {
                Log.log(client.logPrefix() + "pgbouncer access from unix socket");
            }
        } else {
            AuthType authType = general.get(General.AUTH_TYPE);
            admin = containsIgnoreCase(general.get(General.ADMIN_USERS), user);
            boolean stats = containsIgnoreCase(general.get(General.STATS_USERS), user) || authType == AuthType.ANY;
            if (!admin && !stats) {
                logAttempt(ADMIN_DATABASE, user, "");
                throw closing("not allowed", SqlState.INVALID_AUTHORIZATION);
            }
            logAttempt(ADMIN_DATABASE, user, "");
            LoginMethod method = LoginPolicy.decide(client, authType == AuthType.ANY ? AuthType.TRUST : authType, ADMIN_DATABASE,
                    user);
            authenticate(new ClientAuth(client, in, general, registry.mockScram(false)), method, user,
                    registry.users().get(user));
        }
        client.attachConsole(applicationName);
        MessageBuilder b = new MessageBuilder(512);
        BackendMessages.authOk(b);
        BackendMessages.parameterStatus(b, "server_version", Version.NUMBER + "/bouncer");
        BackendMessages.parameterStatus(b, "client_encoding", "UTF8");
        BackendMessages.parameterStatus(b, "server_encoding", "UTF8");
        BackendMessages.parameterStatus(b, "DateStyle", "ISO");
        BackendMessages.parameterStatus(b, "TimeZone", "GMT");
        BackendMessages.parameterStatus(b, "standard_conforming_strings", "on");
        BackendMessages.parameterStatus(b, "is_superuser", "on");
        if (io.pgloom.takeover.Successor.NAME.equals(applicationName)) {
            // tells a pgloom successor that this process knows it (see Successor)
            BackendMessages.parameterStatus(b, io.pgloom.takeover.Successor.ACK_PARAMETER, "on");
        }
        BackendMessages.backendKeyData(b, client.cancelKey());
        BackendMessages.readyForQuery(b, 'I');
        client.wire().write(b.buffer());
        services.console().serve(client, admin);
    }

    private boolean samePeerUid() {
        return client.wire().peerIsSameUser();
    }

    // ------------------------------------------------------------------ logging

    /**
     * PgBouncer's {@code login attempt: db=.. user=.. tls=.. replication=..} line; pgloom appends
     * {@code pool_mode=<mode>} for pooled databases ({@code suffix}), at the end so parsers of
     * PgBouncer's line still match.
     */
    private void logAttempt(String db, String user, String suffix) {
        if (general.get(General.LOG_CONNECTIONS)) {
            String tls = client.tlsInfo();
            Log.log(client.logPrefix() + "login attempt: db=" + db + " user=" + user + " tls=" + (tls.isEmpty() ? "no" : tls)
                    + " replication=no" + suffix);
        }
    }

    private void logFailed(String db, String user) {
        if (general.get(General.LOG_CONNECTIONS)) {
            Log.log(client.logPrefix() + "login failed: db=" + db + " user=" + user);
        }
    }

    private static ClientConnection.ClientClosing closing(String message, String sqlState) {
        return new ClientConnection.ClientClosing(message, true, sqlState);
    }
}
