package io.pgloom.auth;

import io.pgloom.proto.BodyReader;
import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Confined to one client connection's thread: one instance per exchange, not thread-safe (the
 * static process key is immutable). The server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC
 * 7677, as PostgreSQL implements it), run when a client logs in to the pooler: {@link
 * #handleClientFirst} answers the SASLInitialResponse data with the server-first-message, {@link
 * #handleClientFinal} checks the SASLResponse data and returns a {@link Result}.
 *
 * <p>Error reporting: malformed, overlong or out-of-order messages throw {@link
 * ProtocolViolationException}; a wrong password is a {@link Failure} result (with a reason for the
 * log, not for the client). Channel binding is not supported: gs2 flags {@code n} and {@code y} are
 * accepted, {@code p=} and an authzid {@code a=} are rejected, as is the mandatory extension {@code
 * m=}; unknown optional attributes after the nonce (client-first) or before the proof
 * (client-final) are syntax-checked and ignored, as PostgreSQL does. The {@code n=} user name is
 * ignored (PostgreSQL takes the user from the startup packet).
 *
 * <p>Users without a usable SCRAM verifier get mock authentication that looks real and always
 * fails, so a probe cannot tell which users exist: unknown users, MD5 secrets and empty passwords.
 * Mock exchanges use a salt and fake keys derived from the user name and a per-process random key,
 * the same salt as a plain-text user of that name would get. A plain-text password gets an ad-hoc
 * verifier with that salt, whose keys come from the {@link ScramKeys} cache.
 *
 * <p>Arguments other than peer messages are trusted: null ones throw {@link NullPointerException}
 * and an iteration count outside 1..{@link ScramKeys#MAX_ITERATIONS} throws {@link
 * IllegalArgumentException}, both bugs in the caller.
 */
public final class ScramServer {
    /** The only mechanism offered in AuthenticationSASL. */
    public static final String MECHANISM = "SCRAM-SHA-256";

    private static final List<String> MECHANISMS = List.of(MECHANISM);
    private static final int SERVER_NONCE_BYTES = 18; // as PostgreSQL's SCRAM_RAW_NONCE_LEN
    private static final byte[] PROCESS_KEY = ScramCrypto.randomBytes(ScramCrypto.KEY_LENGTH);

    /** Outcome of the final step. */
    public sealed interface Result permits Success, Failure {
    }

    /**
     * The client proved the password. {@code serverFinalMessage} ({@code v=...}) goes into
     * AuthenticationSASLFinal; {@code keys} hold the recovered ClientKey and the ServerKey, usable
     * for pass-through logins to PostgreSQL when {@code passThroughUsable} (a stored SCRAM secret,
     * not an ad-hoc verifier built from a plain password, as PgBouncer's scram_passthrough_valid).
     */
    public record Success(String serverFinalMessage, ScramKeys keys, boolean passThroughUsable)
            implements Result {
    }

    /** The client did not prove the password; {@code reason} is for the log only. */
    public record Failure(String reason) implements Result {
    }

    private enum State { EXPECT_CLIENT_FIRST, EXPECT_CLIENT_FINAL, DONE }

    private final Secret.Scram verifier;
    private final boolean adHoc;
    private final String mockReason;
    private final String serverNonce;
    private final ScramLimits limits;
    private State state = State.EXPECT_CLIENT_FIRST;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;

    ScramServer(Secret.Scram verifier, boolean adHoc, String mockReason, String serverNonce, ScramLimits limits) {
        this.verifier = Objects.requireNonNull(verifier);
        this.limits = Objects.requireNonNull(limits, "limits");
        this.adHoc = adHoc;
        this.mockReason = mockReason;
        this.serverNonce = Objects.requireNonNull(serverNonce);
    }

    /** The mechanism list for AuthenticationSASL: only {@code SCRAM-SHA-256}. */
    public static List<String> mechanisms() {
        return MECHANISMS;
    }

    /**
     * An exchange for a known user with the given stored secret (mock if it cannot do SCRAM).
     * {@code scramIterations} (PgBouncer's {@code scram_iterations}, default
     * {@link ScramKeys#DEFAULT_ITERATIONS}) applies to the ad-hoc verifier of a plain password and
     * to mock exchanges; a stored SCRAM secret keeps its own count.
     */
    public static ScramServer forUser(String user, Secret secret, int scramIterations, ScramLimits limits) {
        Objects.requireNonNull(user, "user");
        checkIterations(scramIterations);
        return switch (Objects.requireNonNull(secret, "secret")) {
            case Secret.Scram scram -> new ScramServer(scram, false, null, newServerNonce(), limits);
            case Secret.Plain plain when plain.password().isEmpty() ->
                    mock(user, scramIterations, "user has an empty password", limits);
            case Secret.Plain plain -> adHoc(user, plain.password(), scramIterations, limits);
            case Secret.Md5Hash md5 ->
                    mock(user, scramIterations, "user has an MD5 secret, SCRAM is impossible", limits);
        };
    }

    /** A mock exchange for a user that does not exist: realistic, and it always fails. */
    public static ScramServer forUnknownUser(String user, int scramIterations, ScramLimits limits) {
        checkIterations(scramIterations);
        return mock(Objects.requireNonNull(user, "user"), scramIterations, "no such user", limits);
    }

    /**
     * The client-first-message of a SASLInitialResponse body (mechanism name, int32 length, data;
     * the length -1 means no data, any other must be exactly the rest of the body), which must
     * choose SCRAM-SHA-256.
     *
     * @throws ProtocolViolationException for another mechanism or a malformed body
     */
    public static String readSaslInitialResponse(BodyReader body) {
        String mechanism = body.cstring();
        if (!mechanism.equals(MECHANISM)) {
            throw new ProtocolViolationException("client selected an invalid SASL authentication mechanism");
        }
        int len = body.int32();
        // -1 is "no data"; otherwise exactly the rest of the message (no overflow, no trailing bytes)
        if (len == -1 ? body.remaining() != 0 : len != body.remaining()) {
            throw new ProtocolViolationException("invalid SASLInitialResponse length " + len);
        }
        return new String(body.bytes(Math.max(len, 0)), StandardCharsets.UTF_8);
    }

    /** Reads the client-first-message and returns the server-first-message. */
    public String handleClientFirst(String message) {
        expectState(State.EXPECT_CLIENT_FIRST, "client-first-message");
        ScramMessage reader = ScramMessage.of(message, "client-first-message", limits);
        gs2Header = readGs2Header(reader);
        clientFirstBare = reader.rest();
        if (reader.peekName() == 'm') {
            throw reader.malformed("unsupported mandatory extension");
        }
        reader.attribute('n'); // ignored, as PostgreSQL does
        String clientNonce = reader.checkNonce(reader.attribute('r'));
        while (!reader.atEnd()) {
            reader.anyAttribute(); // optional extensions: ignored, as PostgreSQL does
        }
        nonce = clientNonce + serverNonce;
        serverFirst = "r=" + nonce + ",s=" + StrictBase64.encode(verifier.salt())
                + ",i=" + verifier.iterations();
        state = State.EXPECT_CLIENT_FINAL;
        return serverFirst;
    }

    /** Reads the client-final-message, checks the proof and returns the outcome. */
    public Result handleClientFinal(String message) {
        expectState(State.EXPECT_CLIENT_FINAL, "client-final-message");
        ScramMessage reader = ScramMessage.of(message, "client-final-message", limits);
        byte[] channelBinding = StrictBase64.decode(reader.attribute('c'), "channel binding");
        if (!Arrays.equals(channelBinding, gs2Header.getBytes(StandardCharsets.US_ASCII))) {
            throw reader.malformed("channel binding does not match the gs2 header");
        }
        if (!reader.attribute('r').equals(nonce)) {
            throw reader.malformed("nonce does not match");
        }
        while (reader.anyAttribute() != 'p') {
            // optional extensions before the proof: ignored, as PostgreSQL does
        }
        String withoutProof = reader.textBeforeLastAttribute();
        byte[] proof = StrictBase64.decode(reader.lastValue(), "client proof");
        reader.expectEnd();
        if (proof.length != ScramCrypto.KEY_LENGTH) {
            throw reader.malformed("client proof must be " + ScramCrypto.KEY_LENGTH + " bytes");
        }
        state = State.DONE;
        return verify(clientFirstBare + "," + serverFirst + "," + withoutProof, proof);
    }

    private Result verify(String authMessage, byte[] proof) {
        byte[] clientKey = ScramCrypto.xor(proof, ScramCrypto.hmac(verifier.storedKey(), authMessage));
        boolean proved = MessageDigest.isEqual(ScramCrypto.sha256(clientKey), verifier.storedKey());
        if (mockReason != null) {
            return new Failure(mockReason);
        }
        if (!proved) {
            return new Failure("wrong password (SCRAM proof mismatch)");
        }
        byte[] serverKey = verifier.serverKey();
        String serverFinal = "v=" + StrictBase64.encode(ScramCrypto.hmac(serverKey, authMessage));
        return new Success(serverFinal, ScramKeys.of(clientKey, serverKey), !adHoc);
    }

    private static String readGs2Header(ScramMessage reader) {
        String flag = reader.rawField();
        if (flag.startsWith("p=")) {
            throw new ProtocolViolationException("SCRAM channel binding is not supported");
        }
        if (!flag.equals("n") && !flag.equals("y")) {
            throw reader.malformed("invalid gs2 channel binding flag");
        }
        String authorizationId = reader.rawField();
        if (!authorizationId.isEmpty()) {
            throw new ProtocolViolationException("SCRAM authorization identity is not supported");
        }
        return flag + ",,";
    }

    private void expectState(State expected, String what) {
        if (state != expected) {
            throw new ProtocolViolationException("unexpected SCRAM " + what);
        }
        state = State.DONE; // stays DONE if the message turns out malformed
    }

    private static ScramServer adHoc(String user, String password, int iterations, ScramLimits limits) {
        byte[] salt = derivedSalt(user);
        Secret.Scram verifier = ScramKeys.derive(password, salt, iterations).toSecret(salt, iterations);
        return new ScramServer(verifier, true, null, newServerNonce(), limits);
    }

    private static ScramServer mock(String user, int iterations, String reason, ScramLimits limits) {
        Secret.Scram verifier = new Secret.Scram(iterations, derivedSalt(user),
                ScramCrypto.hmac(PROCESS_KEY, "mock stored key\0" + user),
                ScramCrypto.hmac(PROCESS_KEY, "mock server key\0" + user));
        return new ScramServer(verifier, false, reason, newServerNonce(), limits);
    }

    private static void checkIterations(int iterations) {
        if (iterations < 1 || iterations > ScramKeys.MAX_ITERATIONS) {
            throw new IllegalArgumentException("scram_iterations must be 1.." + ScramKeys.MAX_ITERATIONS);
        }
    }

    /** Same for the same user within this process, unpredictable across processes. */
    private static byte[] derivedSalt(String user) {
        return Arrays.copyOf(ScramCrypto.hmac(PROCESS_KEY, "salt\0" + user), ScramKeys.SALT_LENGTH);
    }

    private static String newServerNonce() {
        return StrictBase64.encode(ScramCrypto.randomBytes(SERVER_NONCE_BYTES));
    }
}
