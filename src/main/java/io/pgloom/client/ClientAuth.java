package io.pgloom.client;

import io.pgloom.auth.Cleartext;
import io.pgloom.auth.Md5;
import io.pgloom.auth.ScramServer;
import io.pgloom.auth.Secret;
import io.pgloom.pool.UserEntry;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.SqlState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * Checks a client the way its {@link LoginMethod} says: trust, reject, plain (cleartext), md5 (or
 * SCRAM when the stored secret is a SCRAM secret, as PgBouncer upgrades it), scram-sha-256, and
 * cert and peer through {@link IdentityCheck}.
 * Users the pooler does not know get the same challenge as known ones and always fail, so a probe
 * cannot learn which users exist. Runs on the client's thread.
 */
final class ClientAuth {
    /** PostgreSQL's limit on an authentication message. */
    private static final int AUTH_MESSAGE_LIMIT = 65535 + 5;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ClientConnection client;
    private final MessageStream in;
    private final int scramIterations;

    /** Set after a successful SCRAM login against a stored SCRAM secret (for pass-through). */
    private ScramServer.Success scramSuccess;

    ClientAuth(ClientConnection client, MessageStream in, int scramIterations) {
        this.client = client;
        this.in = in;
        this.scramIterations = scramIterations;
    }

    ScramServer.Success scramSuccess() {
        return scramSuccess;
    }

    /**
     * Runs the exchange; on failure throws {@link ClientConnection.ClientClosing} with PgBouncer's
     * message. AuthenticationOk is not sent here.
     */
    void authenticate(LoginMethod method, String userName, UserEntry user) throws IOException {
        Secret secret = user == null ? null : user.secret();
        IdentityCheck.clientCertOption(client, method, userName);
        switch (method.kind()) {
            case ANY -> {
            }
            case REJECT -> throw new ClientConnection.ClientClosing("login rejected", true, SqlState.INVALID_AUTHORIZATION);
            case CERT -> IdentityCheck.certificate(client, method, userName, secret != null);
            case PEER -> IdentityCheck.peer(client, method, userName, secret != null);
            case TRUST -> {
                if (secret == null) {
                    throw failed("\"trust\" authentication failed");
                }
            }
            case PLAIN -> {
                send(b -> BackendMessages.authCleartext(b));
                String password = readPassword();
                if (secret == null || password.isEmpty() || !Cleartext.verify(secret, userName, password)) {
                    throw failed("password authentication failed");
                }
            }
            case MD5 -> {
                if (secret instanceof Secret.Scram) {
                    scram(userName, secret);
                } else {
                    md5(userName, secret);
                }
            }
            case SCRAM_SHA_256 -> scram(userName, secret);
        }
    }

    private void md5(String userName, Secret secret) throws IOException {
        byte[] salt = new byte[Md5.SALT_LENGTH];
        RANDOM.nextBytes(salt);
        send(b -> BackendMessages.authMd5(b, salt));
        String response = readPassword();
        if (secret == null || response.isEmpty() || !Md5.verify(secret, userName, salt, response)) {
            throw failed("password authentication failed");
        }
    }

    private void scram(String userName, Secret secret) throws IOException {
        ScramServer server = secret == null
                ? ScramServer.forUnknownUser(userName, scramIterations)
                : ScramServer.forUser(userName, secret, scramIterations);
        send(b -> BackendMessages.authSasl(b, ScramServer.mechanisms()));
        BodyReader initial = readAuthMessage();
        String mechanism = initial.cstring();
        if (!mechanism.equals(ScramServer.MECHANISM)) {
            throw new ProtocolViolationException("client selected an invalid SASL authentication mechanism");
        }
        int len = initial.int32();
        String clientFirst = new String(initial.bytes(len < 0 ? 0 : len), StandardCharsets.UTF_8);
        in.consume();
        String serverFirst = server.handleClientFirst(clientFirst);
        send(b -> BackendMessages.authSaslContinue(b, serverFirst));
        BodyReader fin = readAuthMessage();
        String clientFinal = new String(fin.bytes(fin.remaining()), StandardCharsets.UTF_8);
        in.consume();
        ScramServer.Result result = server.handleClientFinal(clientFinal);
        if (!(result instanceof ScramServer.Success success)) {
            throw failed("SASL authentication failed");
        }
        send(b -> BackendMessages.authSaslFinal(b, success.serverFinalMessage()));
        scramSuccess = success;
    }

    private String readPassword() throws IOException {
        BodyReader r = readAuthMessage();
        String password = r.cstring();
        in.consume();
        return password;
    }

    private BodyReader readAuthMessage() throws IOException {
        in.nextMessage(AUTH_MESSAGE_LIMIT);
        if (in.tag() != FrontendTag.PASSWORD) {
            if (in.tag() == FrontendTag.TERMINATE) {
                throw new ClientConnection.ClientClosing("client close request", false, SqlState.PROTOCOL_VIOLATION);
            }
            throw new ProtocolViolationException("expected password packet, got " + (char) in.tag());
        }
        return in.body("password packet");
    }

    private void send(java.util.function.Consumer<MessageBuilder> encoder) throws IOException {
        MessageBuilder b = new MessageBuilder();
        encoder.accept(b);
        client.wire().write(b.buffer());
    }

    private static ClientConnection.ClientClosing failed(String message) {
        return new ClientConnection.ClientClosing(message, true, SqlState.INVALID_PASSWORD);
    }
}
