package io.pgloom.auth;

import io.pgloom.proto.BodyReader;
import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * Confined to one server connection's thread: one instance per exchange, not thread-safe. The
 * client side of one SCRAM-SHA-256 exchange, run when the pooler logs in to PostgreSQL:
 * {@link #clientFirstMessage()} goes into SASLInitialResponse, {@link #handleServerFirst} turns
 * AuthenticationSASLContinue data into the SASLResponse data, and {@link #verifyServerFinal} checks
 * AuthenticationSASLFinal. Keys come from a plain password (derived through the {@link ScramKeys}
 * cache with the server's salt and iterations) or, for SCRAM pass-through, from a (ClientKey,
 * ServerKey) pair recovered by {@link ScramServer}; then the server's salt and iterations must be
 * those of the secret the keys came from, or PostgreSQL rejects the proof.
 *
 * <p>As libpq: no channel binding (gs2 header {@code n,,}), an empty {@code n=} user name
 * (PostgreSQL takes the user from the startup packet) and a nonce of 18 random bytes in base64.
 * Error reporting: malformed, overlong or out-of-order server messages and absurd iteration counts
 * throw {@link ProtocolViolationException}; a server-reported error ({@code e=}) or a wrong server
 * signature throws {@link AuthenticationFailedException}. Call {@link #isVerified()} before
 * accepting AuthenticationOk, so a server cannot skip proving itself.
 */
public final class ScramClient {
    private static final String GS2_HEADER = "n,,";
    private static final String CHANNEL_BINDING =
            "c=" + StrictBase64.encode(GS2_HEADER.getBytes(StandardCharsets.US_ASCII));
    private static final int NONCE_BYTES = 18; // as libpq's SCRAM_RAW_NONCE_LEN

    private enum State { EXPECT_SERVER_FIRST, EXPECT_SERVER_FINAL, VERIFIED, FAILED }

    private final String password;
    private final ScramKeys passThroughKeys;
    private final String clientNonce;
    private final String clientFirstBare;
    private final ScramLimits limits;
    private State state = State.EXPECT_SERVER_FIRST;
    private byte[] expectedServerSignature;

    ScramClient(String password, ScramKeys passThroughKeys, String userName, String clientNonce, ScramLimits limits) {
        assert (password == null) != (passThroughKeys == null);
        this.limits = Objects.requireNonNull(limits, "limits");
        this.password = password;
        this.passThroughKeys = passThroughKeys;
        this.clientNonce = clientNonce;
        this.clientFirstBare = "n=" + escapeUserName(userName) + ",r=" + clientNonce;
    }

    /** A client that derives its keys from a plain password. */
    public static ScramClient forPassword(String password, ScramLimits limits) {
        return new ScramClient(Objects.requireNonNull(password, "password"), null, "", newNonce(), limits);
    }

    /** A pass-through client using keys recovered from a client's SCRAM login. */
    public static ScramClient forKeys(ScramKeys keys, ScramLimits limits) {
        return new ScramClient(null, Objects.requireNonNull(keys, "keys"), "", newNonce(), limits);
    }

    /**
     * Reads the mechanism list of an AuthenticationSASL body (after its int32 code): names, each
     * NUL-terminated, up to an empty one.
     *
     * @return whether SCRAM-SHA-256 is among them
     * @throws ProtocolViolationException for a malformed list
     */
    public static boolean offersScramSha256(BodyReader body) {
        boolean offered = false;
        while (true) {
            String mechanism = body.cstring();
            if (mechanism.isEmpty()) {
                return offered;
            }
            offered |= mechanism.equals(ScramServer.MECHANISM);
        }
    }

    /** The client-first-message, {@code n,,n=,r=<nonce>}. */
    public String clientFirstMessage() {
        return GS2_HEADER + clientFirstBare;
    }

    /** Reads the server-first-message and returns the client-final-message with the proof. */
    public String handleServerFirst(String message) {
        expectState(State.EXPECT_SERVER_FIRST, "server-first-message");
        ScramMessage reader = ScramMessage.of(message, "server-first-message", limits);
        if (reader.peekName() == 'm') {
            throw reader.malformed("unsupported mandatory extension");
        }
        String nonce = reader.checkNonce(reader.attribute('r'));
        if (nonce.length() <= clientNonce.length() || !nonce.startsWith(clientNonce)) {
            throw reader.malformed("server nonce does not extend the client nonce");
        }
        byte[] salt = StrictBase64.decode(reader.attribute('s'), "salt");
        int iterations = ScramSecretFormat.parseIterations(reader.attribute('i'));
        reader.expectEnd();
        if (salt.length == 0) {
            throw reader.malformed("empty salt");
        }
        if (iterations < 1 || iterations > ScramKeys.MAX_ITERATIONS) {
            throw reader.malformed("iteration count must be 1 to " + ScramKeys.MAX_ITERATIONS);
        }
        ScramKeys keys = password != null ? ScramKeys.derive(password, salt, iterations) : passThroughKeys;
        String withoutProof = CHANNEL_BINDING + ",r=" + nonce;
        String authMessage = clientFirstBare + "," + message + "," + withoutProof;
        byte[] proof = ScramCrypto.xor(keys.clientKey(), ScramCrypto.hmac(keys.storedKey(), authMessage));
        expectedServerSignature = ScramCrypto.hmac(keys.serverKey(), authMessage);
        state = State.EXPECT_SERVER_FINAL;
        return withoutProof + ",p=" + StrictBase64.encode(proof);
    }

    /** Checks the server-final-message; returns normally only when the server proved itself. */
    public void verifyServerFinal(String message) throws AuthenticationFailedException {
        expectState(State.EXPECT_SERVER_FINAL, "server-final-message");
        ScramMessage reader = ScramMessage.of(message, "server-final-message", limits);
        if (reader.peekName() == 'e') {
            String error = reader.attribute('e');
            throw new AuthenticationFailedException("server reported SCRAM error: " + printable(error));
        }
        byte[] signature = StrictBase64.decode(reader.attribute('v'), "server signature");
        reader.expectEnd();
        if (signature.length != ScramCrypto.KEY_LENGTH) {
            throw reader.malformed("server signature must be " + ScramCrypto.KEY_LENGTH + " bytes");
        }
        if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
            throw new AuthenticationFailedException("SCRAM server signature does not match");
        }
        state = State.VERIFIED;
    }

    /** True once {@link #verifyServerFinal} has accepted the server's signature. */
    public boolean isVerified() {
        return state == State.VERIFIED;
    }

    private void expectState(State expected, String what) {
        if (state != expected) {
            throw new ProtocolViolationException("unexpected SCRAM " + what);
        }
        state = State.FAILED; // stays FAILED unless the message is handled completely
    }

    private static String newNonce() {
        return StrictBase64.encode(ScramCrypto.randomBytes(NONCE_BYTES));
    }

    /** RFC 5802 saslname: ',' and '=' are written as "=2C" and "=3D". */
    private static String escapeUserName(String userName) {
        return userName.replace("=", "=3D").replace(",", "=2C");
    }

    /** Server text for a log line: printable ASCII only, so it cannot forge log lines. */
    private static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return out.toString();
    }
}
