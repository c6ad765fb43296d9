package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.ProtocolViolationException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ScramServerTest {
    private static final String NONCE = ScramVectors.RFC_CLIENT_NONCE + ScramVectors.RFC_SERVER_NONCE;
    private static final String PROOF = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

    @Test
    void rfc7677ExampleSucceeds() {
        ScramServer server = ScramVectors.rfcServer();
        assertThat(server.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST)).isEqualTo(ScramVectors.RFC_SERVER_FIRST);
        ScramServer.Result result = server.handleClientFinal(ScramVectors.RFC_CLIENT_FINAL);
        assertThat(result).isInstanceOf(ScramServer.Success.class);
        ScramServer.Success success = (ScramServer.Success) result;
        assertThat(success.serverFinalMessage()).isEqualTo(ScramVectors.RFC_SERVER_FINAL);
        assertThat(success.passThroughUsable()).isTrue();
        ScramKeys expected = ScramKeys.derive(ScramVectors.RFC_PASSWORD, ScramVectors.RFC_SALT, 4096);
        assertThat(success.keys().clientKey()).isEqualTo(expected.clientKey());
        assertThat(success.keys().serverKey()).isEqualTo(expected.serverKey());
    }

    @Test
    void wrongProofFails() {
        ScramServer server = ScramVectors.rfcServer();
        server.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
        byte[] proof = Base64.getDecoder().decode(PROOF.substring(2));
        proof[0] ^= 1;
        String message = "c=biws,r=" + NONCE + ",p=" + Base64.getEncoder().encodeToString(proof);
        assertThat(server.handleClientFinal(message)).isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void acceptsYFlagEmptyUserAndOptionalExtensions() {
        ScramServer server = ScramVectors.rfcServer();
        String first = server.handleClientFirst("y,,n=,r=" + ScramVectors.RFC_CLIENT_NONCE + ",x=ext");
        assertThat(first).startsWith("r=" + NONCE + ",");
        // The proof is over a different AuthMessage, so it fails, but the syntax is accepted.
        assertThat(server.handleClientFinal("c=eSws,r=" + NONCE + ",x=1," + PROOF))
                .isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void rejectsMalformedClientFirstMessages() {
        String nonce = ScramVectors.RFC_CLIENT_NONCE;
        String[] malformed = {
            null, "", "n", "n,", "n,,", "x,,n=,r=" + nonce, "nn,,n=,r=" + nonce,
            "p=tls-server-end-point,,n=,r=" + nonce, "n,a=bob,n=,r=" + nonce, "n,,m=ext,n=,r=" + nonce,
            "n,,r=" + nonce, "n,,n=", "n,,n=,", "n,,n=,r=", "n,,n=,r=ab c", "n,,n=,r=ab\u00e9",
            "n,,n=,r=" + nonce + ",", "n,,n=,r=" + nonce + ",1=x", "n,,n=,r=" + nonce + ",x",
            "n,,n=,s=" + nonce, "n,,n=,r=" + "a".repeat(ScramLimits.DEFAULTS.maxNonceLength() + 1),
            "n,,n=,r=" + "a".repeat(100 * 1024), "n,,n=" + "\u00e9".repeat(2100) + ",r=" + nonce,
        };
        for (String message : malformed) {
            assertThatThrownBy(() -> new ScramServer(ScramVectors.rfcSecret(), false, null, "x", ScramLimits.DEFAULTS)
                    .handleClientFirst(message))
                    .as(String.valueOf(message)).isExactlyInstanceOf(ProtocolViolationException.class);
        }
    }

    @Test
    void configuredLimitsBoundMessageAndNonce() {
        ScramLimits small = new ScramLimits(200, 40);
        ScramServer ok = ScramServer.forUnknownUser("ghost", 4096, small);
        assertThat(ok.handleClientFirst("n,,n=,r=" + "a".repeat(40))).startsWith("r=" + "a".repeat(40));
        assertThatThrownBy(() -> ScramServer.forUnknownUser("ghost", 4096, small).handleClientFirst("n,,n=,r=" + "a".repeat(41)))
                .isExactlyInstanceOf(ProtocolViolationException.class)
                .hasMessage("malformed SCRAM client-first-message: nonce must be 1 to 40 characters (scram_max_nonce_length)");
        assertThatThrownBy(() -> ScramServer.forUnknownUser("ghost", 4096, small).handleClientFirst("n,,n=" + "u".repeat(200) + ",r=a"))
                .isExactlyInstanceOf(ProtocolViolationException.class)
                .hasMessage("SCRAM client-first-message longer than 200 bytes (scram_max_message_size)");
    }

    @Test
    void acceptsNonceAtTheLimit() {
        ScramServer server = ScramVectors.rfcServer();
        String nonce = "a".repeat(ScramLimits.DEFAULTS.maxNonceLength());
        assertThat(server.handleClientFirst("n,,n=someone,r=" + nonce)).startsWith("r=" + nonce);
    }

    @Test
    void rejectsMalformedClientFinalMessages() {
        String bindingP = Base64.getEncoder().encodeToString("p=tls-server-end-point,,".getBytes());
        String[] malformed = {
            null, "", "c=biws", "c=biws,r=" + NONCE, "c=biws,r=" + NONCE + ",", "r=" + NONCE + "," + PROOF,
            "c=biws," + PROOF, "c=bi!s,r=" + NONCE + "," + PROOF, "c=biw,r=" + NONCE + "," + PROOF,
            "c=eSws,r=" + NONCE + "," + PROOF, "c=" + bindingP + ",r=" + NONCE + "," + PROOF,
            "c=biws,r=" + ScramVectors.RFC_CLIENT_NONCE + "," + PROOF,
            "c=biws,r=" + NONCE + "x," + PROOF, "c=biws,r=" + NONCE + ",p=not base64",
            "c=biws,r=" + NONCE + ",p=" + Base64.getEncoder().encodeToString(new byte[31]),
            "c=biws,r=" + NONCE + ",p=" + Base64.getEncoder().encodeToString(new byte[33]),
            "c=biws,r=" + NONCE + "," + PROOF + ",x=y", "c=biws,r=" + NONCE + "," + PROOF + ",",
            "c=biws,r=" + NONCE + ",1=2," + PROOF, "c=biws,r=" + NONCE + ",x=" + "y".repeat(5000) + "," + PROOF,
        };
        for (String message : malformed) {
            ScramServer server = ScramVectors.rfcServer();
            server.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
            assertThatThrownBy(() -> server.handleClientFinal(message))
                    .as(String.valueOf(message)).isExactlyInstanceOf(ProtocolViolationException.class);
        }
    }

    @Test
    void rejectsMessagesOutOfOrder() {
        ScramServer server = ScramVectors.rfcServer();
        assertThatThrownBy(() -> server.handleClientFinal(ScramVectors.RFC_CLIENT_FINAL))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        ScramServer twice = ScramVectors.rfcServer();
        twice.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
        assertThatThrownBy(() -> twice.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        ScramServer done = ScramVectors.rfcServer();
        done.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
        done.handleClientFinal(ScramVectors.RFC_CLIENT_FINAL);
        assertThatThrownBy(() -> done.handleClientFinal(ScramVectors.RFC_CLIENT_FINAL))
                .isExactlyInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void aMalformedMessageEndsTheExchange() {
        ScramServer server = ScramVectors.rfcServer();
        server.handleClientFirst(ScramVectors.RFC_CLIENT_FIRST);
        assertThatThrownBy(() -> server.handleClientFinal("garbage"))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> server.handleClientFinal(ScramVectors.RFC_CLIENT_FINAL))
                .isExactlyInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void mockModeHasAStableSaltPerUserAndLooksLikeAPlainTextUser() {
        String ghost = salt(ScramServer.forUnknownUser("ghost", 4096, ScramLimits.DEFAULTS));
        assertThat(salt(ScramServer.forUnknownUser("ghost", 4096, ScramLimits.DEFAULTS))).isEqualTo(ghost);
        assertThat(salt(ScramServer.forUnknownUser("ghost2", 4096, ScramLimits.DEFAULTS))).isNotEqualTo(ghost);
        assertThat(Base64.getDecoder().decode(ghost)).hasSize(ScramKeys.SALT_LENGTH);
        assertThat(salt(ScramServer.forUser("ghost", new Secret.Plain("pw"), 4096, ScramLimits.DEFAULTS))).isEqualTo(ghost);
    }

    @Test
    void mechanismListIsScramSha256Only() {
        assertThat(ScramServer.mechanisms()).containsExactly("SCRAM-SHA-256");
    }

    @Test
    void serverNoncesAreRandom() {
        String first = ScramServer.forUnknownUser("a", 4096, ScramLimits.DEFAULTS).handleClientFirst("n,,n=,r=abc");
        String second = ScramServer.forUnknownUser("a", 4096, ScramLimits.DEFAULTS).handleClientFirst("n,,n=,r=abc");
        assertThat(first).isNotEqualTo(second).matches("r=abc[A-Za-z0-9+/]{24},s=[^,]+,i=4096");
    }

    private static String salt(ScramServer server) {
        String serverFirst = server.handleClientFirst("n,,n=,r=fixednonce");
        return serverFirst.split(",")[1].substring(2);
    }
}
