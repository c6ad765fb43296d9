package io.pgloom.server;

import io.pgloom.auth.AuthenticationFailedException;
import io.pgloom.auth.Md5;
import io.pgloom.auth.ScramClient;
import io.pgloom.auth.ScramKeys;
import io.pgloom.auth.ScramLimits;
import io.pgloom.auth.Secret;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.UserEntry;
import io.pgloom.proto.BackendTag;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.ErrorFields;
import io.pgloom.proto.FrontendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.SqlState;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Connects a new server connection and logs in to PostgreSQL as a client: TLS as
 * {@code server_tls_sslmode} says ({@link ServerTls}), StartupMessage, the
 * authentication the server asks for (cleartext, MD5, SCRAM-SHA-256 from a plain password, an
 * MD5 hash or SCRAM pass-through keys), then the parameter reports, BackendKeyData and
 * ReadyForQuery, and {@code connect_query}. Runs on the server's own thread; a connect timeout
 * is enforced by the janitor closing the socket.
 */
final class ServerLogin {
    private final ServerConnection server;
    private final PoolRegistry registry;
    private final Database database;
    private final UserEntry user;
    private final Pool pool;
    private final Values general;

    ServerLogin(ServerConnection server, PoolRegistry registry, Database database, UserEntry user, Pool pool) {
        this.server = server;
        this.registry = registry;
        this.database = database;
        this.user = user;
        this.pool = pool;
        this.general = registry.general();
    }

    /** The outcome: a logged-in wire and its stream, or why not (for the log and for clients). */
    record Result(boolean ok, Wire wire, MessageStream stream, long backendKey, Map<String, String> parameters,
            String closeReason, String clientError, String sqlState) {
        static Result failed(Wire wire, String closeReason, String clientError, String sqlState) {
            return new Result(false, wire, null, 0, Map.of(), closeReason, clientError, sqlState);
        }
    }

    Result run() {
        Wire wire;
        try {
            wire = connect();
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return Result.failed(null, "connect failed", "could not connect to server: " + why, SqlState.CONNECTION_FAILURE);
        }
        server.setWireDuringLogin(wire);
        if (general.get(General.LOG_CONNECTIONS)) {
            Log.log(server.logPrefix() + "new connection to server (from " + wire.localText() + ")");
        }
        try {
            Wire plain = wire;
            wire = ServerTls.negotiate(plain, registry.tls().servers(), host, database.settings().get(DatabaseKeys.PORT));
            if (wire != plain) {
                server.setWireDuringLogin(wire);
                if (general.get(General.LOG_CONNECTIONS)) {
                    Log.log(server.logPrefix() + "SSL established: " + ((io.pgloom.net.tls.TlsWire) wire).tlsInfo());
                }
            }
        } catch (ServerTls.Refused e) {
            return Result.failed(wire, e.closeReason, e.clientError, e.sqlState);
        } catch (IOException e) {
            String reason = server.closeReason() != null ? server.closeReason() : "server conn crashed?";
            return Result.failed(wire, reason, "server login failed: " + reason, SqlState.CONNECTION_FAILURE);
        }
        // only now: nothing read before TLS is up may stay buffered for after it
        MessageStream in = new MessageStream(wire, general.get(General.PKT_BUF), general.get(General.MAX_PACKET_SIZE));
        try {
            sendStartup(wire);
            authenticate(wire, in);
            return readWelcome(wire, in);
        } catch (LoginError e) {
            return Result.failed(wire, "login failed", e.getMessage(), e.sqlState);
        } catch (AuthenticationFailedException e) {
            return Result.failed(wire, "login failed", "server login failed: " + e.getMessage(), SqlState.INVALID_PASSWORD);
        } catch (ProtocolViolationException e) {
            return Result.failed(wire, "login failed", "server login failed: " + e.getMessage(), SqlState.PROTOCOL_VIOLATION);
        } catch (IOException e) {
            String reason = server.closeReason() != null ? server.closeReason() : "server conn crashed?";
            return Result.failed(wire, reason, "server login failed: " + reason, SqlState.CONNECTION_FAILURE);
        }
    }

    /** The host connected to, as configured (one of a host list): what TLS checks and sends as SNI. */
    private String host;

    private Wire connect() throws IOException {
        Values d = database.settings();
        String host = d.get(DatabaseKeys.HOST);
        int port = d.get(DatabaseKeys.PORT);
        SocketAddress address;
        if (host == null || host.isEmpty() || host.startsWith("/")) {
            String dir = host == null || host.isEmpty() ? general.get(General.UNIX_SOCKET_DIR) : host;
            address = UnixDomainSocketAddress.of(dir + "/.s.PGSQL." + port);
        } else {
            String chosen = HostList.pick(host, pool);
            this.host = chosen;
            address = new InetSocketAddress(chosen, port);
            if (((InetSocketAddress) address).isUnresolved()) {
                throw new IOException("server DNS lookup failed: " + chosen);
            }
        }
        Wire w = registry.transport().connect(address, port);
        try {
            w.tune(general);
            return w;
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void sendStartup(Wire wire) throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", pool.key().user());
        p.put("database", database.serverDbname());
        Values d = database.settings();
        putIfSet(p, "client_encoding", d.get(DatabaseKeys.CLIENT_ENCODING));
        putIfSet(p, "DateStyle", d.get(DatabaseKeys.DATESTYLE));
        putIfSet(p, "TimeZone", d.get(DatabaseKeys.TIMEZONE));
        putIfSet(p, "application_name", d.get(DatabaseKeys.APPLICATION_NAME));
        MessageBuilder m = new MessageBuilder();
        FrontendMessages.startup(m, p);
        wire.write(m.buffer());
    }

    private static void putIfSet(Map<String, String> p, String key, String value) {
        if (value != null) {
            p.put(key, value);
        }
    }

    /** The next message of the login, at most server_login_max_packet_size long. */
    private void nextLoginMessage(MessageStream in) throws IOException {
        in.nextMessage(general.get(General.SERVER_LOGIN_MAX_PACKET_SIZE), General.SERVER_LOGIN_MAX_PACKET_SIZE.name());
    }

    private void authenticate(Wire wire, MessageStream in) throws IOException, AuthenticationFailedException {
        ScramClient scram = null;
        while (true) {
            nextLoginMessage(in);
            byte tag = in.tag();
            if (tag == BackendTag.ERROR_RESPONSE) {
                throw LoginError.of(ErrorFields.parse(in.array(), in.bodyOffset(), in.bodyLength()));
            }
            if (tag != BackendTag.AUTHENTICATION) {
                throw new ProtocolViolationException("unexpected message during server login: " + (char) tag);
            }
            BodyReader r = in.body("authentication request");
            int code = r.int32();
            MessageBuilder out = new MessageBuilder();
            switch (code) {
                case BackendTag.AUTH_OK -> {
                    if (scram != null && !scram.isVerified()) {
                        throw new ProtocolViolationException("server skipped SCRAM verification");
                    }
                    in.consume();
                    return;
                }
                case BackendTag.AUTH_CLEARTEXT_PASSWORD -> FrontendMessages.password(out, plainPassword("cleartext"));
                case BackendTag.AUTH_MD5_PASSWORD -> FrontendMessages.password(out, md5Response(r.bytes(4)));
                case BackendTag.AUTH_SASL -> {
                    scram = scramClient(r);
                    FrontendMessages.saslInitialResponse(out, "SCRAM-SHA-256", scram.clientFirstMessage());
                }
                case BackendTag.AUTH_SASL_CONTINUE -> {
                    requireScram(scram);
                    String serverFirst = new String(r.bytes(r.remaining()), StandardCharsets.UTF_8);
                    FrontendMessages.saslResponse(out, scram.handleServerFirst(serverFirst));
                }
                case BackendTag.AUTH_SASL_FINAL -> {
                    requireScram(scram);
                    scram.verifyServerFinal(new String(r.bytes(r.remaining()), StandardCharsets.UTF_8));
                }
                default -> throw new LoginError("server login failed: unsupported authentication method " + code,
                        SqlState.FEATURE_NOT_SUPPORTED);
            }
            in.consume();
            if (out.size() > 0) {
                wire.write(out.buffer());
            }
        }
    }

    private static void requireScram(ScramClient scram) {
        if (scram == null) {
            throw new ProtocolViolationException("SASL message before SASL start");
        }
    }

    private ScramClient scramClient(BodyReader r) {
        if (!ScramClient.offersScramSha256(r)) {
            throw new LoginError("server login failed: no supported SASL mechanism offered", SqlState.FEATURE_NOT_SUPPORTED);
        }
        String plain = configuredPlain();
        if (plain != null) {
            return ScramClient.forPassword(plain, ScramLimits.of(general));
        }
        ScramKeys keys = user.passThrough();
        if (keys != null && database.forcedUser() == null) {
            return ScramClient.forKeys(keys, ScramLimits.of(general));
        }
        if (user.secret() instanceof Secret.Scram) {
            throw new LoginError("cannot do SCRAM authentication: password is SCRAM secret but client authentication "
                    + "did not provide SCRAM keys", SqlState.INVALID_PASSWORD);
        }
        throw new LoginError("cannot do SCRAM authentication: no password for user " + pool.key().user(),
                SqlState.INVALID_PASSWORD);
    }

    private String md5Response(byte[] salt) {
        String plain = configuredPlain();
        if (plain != null) {
            return Md5.saltedResponse(plain, pool.key().user(), salt);
        }
        if (user.secret() instanceof Secret.Md5Hash h) {
            return Md5.saltedResponse(h.hash(), pool.key().user(), salt);
        }
        throw new LoginError("cannot do MD5 authentication: no usable password for user " + pool.key().user(),
                SqlState.INVALID_PASSWORD);
    }

    private String plainPassword(String method) {
        String plain = configuredPlain();
        if (plain == null) {
            throw new LoginError("cannot do " + method + " authentication: no plain password for user " + pool.key().user(),
                    SqlState.INVALID_PASSWORD);
        }
        return plain;
    }

    /** The database's password for a forced user, else the user's plain-text secret, else null. */
    private String configuredPlain() {
        String dbPassword = database.settings().get(DatabaseKeys.PASSWORD);
        if (dbPassword != null && database.forcedUser() != null) {
            return dbPassword;
        }
        return user.secret() instanceof Secret.Plain p && !p.password().isEmpty() ? p.password() : null;
    }

    private Result readWelcome(Wire wire, MessageStream in) throws IOException {
        Map<String, String> parameters = new LinkedHashMap<>();
        long key = 0;
        while (true) {
            nextLoginMessage(in);
            BodyReader r = in.body("login message");
            switch (in.tag()) {
                case BackendTag.PARAMETER_STATUS -> parameters.put(r.cstring(), r.cstring());
                case BackendTag.BACKEND_KEY_DATA -> key = (r.int32() & 0xffffffffL) << 32 | (r.int32() & 0xffffffffL);
                case BackendTag.NOTICE_RESPONSE, BackendTag.NEGOTIATE_PROTOCOL_VERSION -> {
                }
                case BackendTag.ERROR_RESPONSE -> throw LoginError.of(ErrorFields.parse(in.array(), in.bodyOffset(), in.bodyLength()));
                case BackendTag.READY_FOR_QUERY -> {
                    in.consume();
                    runConnectQuery(wire, in);
                    return new Result(true, wire, in, key, parameters, null, null, null);
                }
                default -> throw new ProtocolViolationException("unexpected message during server login: " + (char) in.tag());
            }
            in.consume();
        }
    }

    private void runConnectQuery(Wire wire, MessageStream in) throws IOException {
        String sql = database.settings().get(DatabaseKeys.CONNECT_QUERY);
        if (sql == null || sql.isBlank()) {
            return;
        }
        MessageBuilder m = new MessageBuilder();
        FrontendMessages.query(m, sql);
        wire.write(m.buffer());
        ErrorFields error = null;
        while (true) {
            nextLoginMessage(in);
            byte tag = in.tag();
            if (tag == BackendTag.ERROR_RESPONSE && error == null) {
                error = ErrorFields.parse(in.array(), in.bodyOffset(), in.bodyLength());
            }
            if (tag == BackendTag.PARAMETER_STATUS) {
                BodyReader r = in.body("ParameterStatus");
                server.params().set(r.cstring(), r.cstring());
            }
            in.consume();
            if (tag == BackendTag.READY_FOR_QUERY) {
                break;
            }
        }
        if (error != null) {
            throw new LoginError("connect_query failed: " + error.message(), error.sqlState());
        }
    }

    /** A failed login with the text and SQLSTATE waiting clients are given. */
    static final class LoginError extends RuntimeException {
        final String sqlState;

        LoginError(String message, String sqlState) {
            super(message, null, false, false);
            this.sqlState = sqlState;
        }

        static LoginError of(ErrorFields e) {
            String msg = e.message() == null ? "server login failed" : e.message();
            return new LoginError(msg, e.sqlState() == null ? SqlState.CONNECTION_FAILURE : e.sqlState());
        }
    }
}
