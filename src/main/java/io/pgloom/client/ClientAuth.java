package io.pgloom.client;

import io.pgloom.auth.Cleartext;
import io.pgloom.auth.Md5;
import io.pgloom.auth.MockSecrets;
import io.pgloom.auth.ScramLimits;
import io.pgloom.auth.ScramServer;
import io.pgloom.auth.Secret;
import io.pgloom.config.General;
import io.pgloom.config.Values;
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
 * Users the pooler does not know get the challenge known ones get (where md5 allows MD5 or SCRAM,
 * the kind most real secrets have: {@code PoolRegistry.mockScram}), their answer is checked
 * against a stand-in secret with the same work ({@link MockSecrets}, SCRAM's mock exchange), and
 * they fail only at the end with the text a wrong password gets, so a probe cannot learn which
 * users exist. Runs on the client's thread.
 */
final class ClientAuth {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ClientConnection client;
    private final MessageStream in;
    private final int scramIterations;
    private final ScramLimits scramLimits;
    /** client_login_max_packet_size: the largest PasswordMessage or SASL message. */
    private final int messageLimit;
    /** An unknown user gets SCRAM (else MD5) where the method allows both: the kind most real secrets have. */
    private final boolean mockScram;

    /** Set after a successful SCRAM login against a stored SCRAM secret (for pass-through). */
    private ScramServer.Success scramSuccess;

    ClientAuth(ClientConnection client, MessageStream in, Values general, boolean mockScram) {
        this.mockScram = mockScram;
        this.client = client;
        this.in = in;
        this.scramIterations = general.get(General.SCRAM_ITERATIONS);
        this.scramLimits = ScramLimits.of(general);
        this.messageLimit = general.get(General.CLIENT_LOGIN_MAX_PACKET_SIZE);
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
                Secret check = secret != null ? secret
                        : mockScram ? MockSecrets.scram(userName, scramIterations) : MockSecrets.md5(userName);
                boolean proved = !password.isEmpty() && Cleartext.verify(check, userName, password);
                if (secret == null || !proved) {
                    throw failed("password authentication failed");
                }
            }
            case MD5 -> {
                if (secret instanceof Secret.Scram || secret == null && mockScram) {
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
        Secret check = secret != null ? secret : MockSecrets.md5(userName);
        boolean proved = !response.isEmpty() && Md5.verify(check, userName, salt, response);
        if (secret == null || !proved) {
            throw failed("password authentication failed");
        }
    }

    private void scram(String userName, Secret secret) throws IOException {
        ScramServer server = secret == null
                ? ScramServer.forUnknownUser(userName, scramIterations, scramLimits)
                : ScramServer.forUser(userName, secret, scramIterations, scramLimits);
        send(b -> BackendMessages.authSasl(b, ScramServer.mechanisms()));
        String clientFirst = ScramServer.readSaslInitialResponse(readAuthMessage());
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

    /**
     * The next PasswordMessage (or SASL message). The type byte is checked as soon as it arrives,
     * before any length: anything else, such as a second StartupMessage (which begins with a zero
     * byte of its length), ends the login at once instead of waiting for the bytes a misread
     * length would promise; the user of the login can never change (PgBouncer CVE-2026-107350).
     */
    private BodyReader readAuthMessage() throws IOException {
        byte tag = in.awaitFirstByte();
        if (tag != FrontendTag.PASSWORD) {
            if (tag == FrontendTag.TERMINATE) {
                throw new ClientConnection.ClientClosing("client close request", false, SqlState.PROTOCOL_VIOLATION);
            }
            throw new ProtocolViolationException(tag == 0
                    ? "unexpected startup packet during authentication"
                    : "expected password packet, got " + describe(tag));
        }
        in.nextMessage(messageLimit, General.CLIENT_LOGIN_MAX_PACKET_SIZE.name());
        return in.body("password packet");
    }

    private static String describe(byte tag) {
        return tag >= 32 && tag < 127 ? "'" + (char) tag + "'" : String.valueOf(tag & 0xff);
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
