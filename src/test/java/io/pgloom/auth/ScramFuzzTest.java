package io.pgloom.auth;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes SCRAM-SHA-256 messages from either side, as the wire delivers them.
 * <ul>
 *   <li>{@code serverSide}: what a client sends pgloom, a SASLInitialResponse body
 *       ({@link ScramServer#readSaslInitialResponse}: mechanism, int32 length, client-first)
 *       followed by the client-final-message, against the RFC 7677 user, once for a real and once
 *       for a mock (unknown user) exchange;
 *   <li>{@code clientSide}: what PostgreSQL sends pgloom, an AuthenticationSASL mechanism list
 *       ({@link ScramClient#offersScramSha256}), an int32 length and the server-first-message,
 *       then the server-final-message, against a client with RFC 7677's nonce and pass-through
 *       keys (so a fuzzed iteration count costs nothing; deriving keys is not decoding).
 * </ul>
 * Only ProtocolViolationException and AuthenticationFailedException may come out; the RFC
 * exchange itself must still succeed. SCRAM messages are capped ({@code scram_max_message_size}),
 * so nothing may allocate much more than that.
 */
@Tag("fuzz")
@Timeout(30)
class ScramFuzzTest {
    private static final Secret.Scram SECRET = ScramVectors.rfcSecret();
    private static final ScramKeys KEYS = ScramKeys.derive(ScramVectors.RFC_PASSWORD, ScramVectors.RFC_SALT, 4096);
    private static final long ALLOCATION_LIMIT = 1 << 20;
    private static final ScramLimits LIMITS = ScramLimits.DEFAULTS;

    @FuzzTest(maxDuration = "5m")
    void serverSide(byte[] data) {
        Fuzzing.check(data, ALLOCATION_LIMIT + 64L * data.length, () -> {
            server(data, new ScramServer(SECRET, false, null, ScramVectors.RFC_SERVER_NONCE, LIMITS));
        }, ProtocolViolationException.class);
        Fuzzing.check(data, ALLOCATION_LIMIT + 64L * data.length, () -> {
            server(data, new ScramServer(SECRET, false, "no such user", ScramVectors.RFC_SERVER_NONCE, LIMITS));
        }, ProtocolViolationException.class);
    }

    @FuzzTest(maxDuration = "5m")
    void clientSide(byte[] data) {
        Fuzzing.check(data, ALLOCATION_LIMIT + 64L * data.length, () -> client(data),
                ProtocolViolationException.class, AuthenticationFailedException.class);
    }

    @Test
    void mutatedServerCorpus() {
        Fuzzing.mutateCorpus(getClass(), "serverSide", List.of(",", "=", "n,,", "y,,", "p=n,", "a=", "r=", "c=", "p=",
                "=2C", "=3D", "biws", "\0", "\u00ff\u00ff\u00ff\u00ff", "SCRAM-SHA-256\0"), this::serverSide);
    }

    @Test
    void mutatedClientCorpus() {
        Fuzzing.mutateCorpus(getClass(), "clientSide", List.of(",", "=", "r=", "s=", "i=", "v=", "e=", "m=",
                "i=0", "i=99999999999", "\0", "\0\0\0\0", "SCRAM-SHA-256\0", "SCRAM-SHA-256-PLUS\0"), this::clientSide);
    }

    private static void server(byte[] data, ScramServer server) {
        // The SASLInitialResponse ends where its length field says (the rest of the input is the
        // client-final-message); a length that does not fit leaves the whole input to it.
        int cut = initialResponseEnd(data);
        String clientFirst = ScramServer.readSaslInitialResponse(
                new BodyReader(java.util.Arrays.copyOf(data, cut), "SASLInitialResponse"));
        String serverFirst = server.handleClientFirst(clientFirst);
        require(serverFirst.startsWith("r=") && serverFirst.length() <= 2 * LIMITS.maxMessageBytes(),
                "server-first-message " + serverFirst.length() + " chars");
        String clientFinal = new String(data, cut, data.length - cut, StandardCharsets.UTF_8);
        ScramServer.Result result = server.handleClientFinal(clientFinal);
        if (result instanceof ScramServer.Success success) {
            require(sameProof(clientFinal), "a proof other than RFC 7677's was accepted");
            require(success.serverFinalMessage().equals(ScramVectors.RFC_SERVER_FINAL), "wrong server signature");
        }
    }

    /**
     * Whether {@code clientFinal} is RFC 7677's client-final-message up to the spelling of its
     * proof: base64 whose unused low bits are not zero decodes to the same 32 bytes, as in
     * PostgreSQL, and the proof is what is verified.
     */
    private static boolean sameProof(String clientFinal) {
        String rfc = ScramVectors.RFC_CLIENT_FINAL;
        int at = clientFinal.lastIndexOf(",p=");
        int rfcAt = rfc.lastIndexOf(",p=");
        if (at < 0 || !clientFinal.substring(0, at).equals(rfc.substring(0, rfcAt))) {
            return false;
        }
        try {
            return java.util.Arrays.equals(java.util.Base64.getDecoder().decode(clientFinal.substring(at + 3)),
                    java.util.Base64.getDecoder().decode(rfc.substring(rfcAt + 3)));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static int initialResponseEnd(byte[] data) {
        int nul = 0;
        while (nul < data.length && data[nul] != 0) {
            nul++;
        }
        if (nul + 5 > data.length) {
            return data.length;
        }
        int len = (data[nul + 1] & 0xff) << 24 | (data[nul + 2] & 0xff) << 16 | (data[nul + 3] & 0xff) << 8 | (data[nul + 4] & 0xff);
        long end = nul + 5L + Math.max(len, 0);
        return end <= data.length ? (int) end : data.length;
    }

    private static void client(byte[] data) throws AuthenticationFailedException {
        BodyReader r = new BodyReader(data, "authentication request");
        if (!ScramClient.offersScramSha256(r)) {
            return; // ServerLogin: "no supported SASL mechanism offered"
        }
        ScramClient client = new ScramClient(null, KEYS, "user", ScramVectors.RFC_CLIENT_NONCE, LIMITS);
        String serverFirst = new String(r.bytes(r.int32()), StandardCharsets.UTF_8);
        String clientFinal = client.handleServerFirst(serverFirst);
        require(clientFinal.startsWith("c=biws,r=" + ScramVectors.RFC_CLIENT_NONCE), "client-final-message");
        client.verifyServerFinal(new String(r.bytes(r.remaining()), StandardCharsets.UTF_8));
        require(client.isVerified(), "returned normally without verifying");
        require(serverFirst.equals(ScramVectors.RFC_SERVER_FIRST), "verified a signature over another exchange");
    }
}
