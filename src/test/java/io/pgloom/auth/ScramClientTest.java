package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.ProtocolViolationException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ScramClientTest {
    private static final String CLIENT_NONCE = ScramVectors.RFC_CLIENT_NONCE;
    private static final String NONCE = CLIENT_NONCE + ScramVectors.RFC_SERVER_NONCE;

    private static ScramClient rfcClient() {
        return new ScramClient(ScramVectors.RFC_PASSWORD, null, "user", CLIENT_NONCE, ScramLimits.DEFAULTS);
    }

    @Test
    void rfc7677ExampleProducesTheExpectedProofAndAcceptsTheSignature() throws Exception {
        ScramClient client = rfcClient();
        assertThat(client.clientFirstMessage()).isEqualTo(ScramVectors.RFC_CLIENT_FIRST);
        assertThat(client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST)).isEqualTo(ScramVectors.RFC_CLIENT_FINAL);
        assertThat(client.isVerified()).isFalse();
        client.verifyServerFinal(ScramVectors.RFC_SERVER_FINAL);
        assertThat(client.isVerified()).isTrue();
    }

    @Test
    void passThroughKeysProduceTheSameProof() {
        ScramKeys keys = ScramKeys.derive(ScramVectors.RFC_PASSWORD, ScramVectors.RFC_SALT, 4096);
        ScramClient client = new ScramClient(null, keys, "user", CLIENT_NONCE, ScramLimits.DEFAULTS);
        assertThat(client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST)).isEqualTo(ScramVectors.RFC_CLIENT_FINAL);
    }

    @Test
    void firstMessageIsLikeLibpq() {
        String first = ScramClient.forPassword("pw", ScramLimits.DEFAULTS).clientFirstMessage();
        assertThat(first).matches("n,,n=,r=[A-Za-z0-9+/]{24}");
        assertThat(ScramClient.forPassword("pw", ScramLimits.DEFAULTS).clientFirstMessage()).isNotEqualTo(first);
    }

    @Test
    void userNameIsEscapedAsSaslname() {
        assertThat(new ScramClient("pw", null, "a,b=c", "n", ScramLimits.DEFAULTS).clientFirstMessage()).isEqualTo("n,,n=a=2Cb=3Dc,r=n");
    }

    @Test
    void wrongServerSignatureIsAnAuthenticationFailure() {
        ScramClient client = rfcClient();
        client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST);
        byte[] signature = Base64.getDecoder().decode(ScramVectors.RFC_SERVER_FINAL.substring(2));
        signature[31] ^= 1;
        assertThatThrownBy(() -> client.verifyServerFinal("v=" + Base64.getEncoder().encodeToString(signature)))
                .isExactlyInstanceOf(AuthenticationFailedException.class);
        assertThat(client.isVerified()).isFalse();
    }

    @Test
    void serverErrorIsAnAuthenticationFailureWithItsText() {
        ScramClient client = rfcClient();
        client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST);
        assertThatThrownBy(() -> client.verifyServerFinal("e=invalid-proof\n"))
                .isExactlyInstanceOf(AuthenticationFailedException.class)
                .hasMessage("server reported SCRAM error: invalid-proof?");
    }

    @Test
    void rejectsMalformedServerFirstMessages() {
        String salt = ",s=W22ZaJ0SNY7soEsUEjb6gQ==";
        String[] malformed = {
            null, "", "r=" + NONCE, "r=" + NONCE + salt, "r=" + NONCE + salt + ",i=",
            "r=" + NONCE + salt + ",i=0", "r=" + NONCE + salt + ",i=2147483647", "r=" + NONCE + salt + ",i=-1",
            "r=" + NONCE + salt + ",i=10000001", "r=" + NONCE + salt + ",i=99999999999999999999",
            "r=" + NONCE + salt + ",i=4k", "r=" + NONCE + salt + ",i=+4096", "r=" + NONCE + salt + ",i=4096,",
            "r=" + NONCE + salt + ",i=4096,x=y", "m=x,r=" + NONCE + salt + ",i=4096",
            "r=" + NONCE + ",s=,i=4096", "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",
            "r=" + NONCE + ",s=W22Z aJ0SNY7soEsUEjb6gQ==,i=4096", "r=" + NONCE + ",i=4096" + salt,
            "r=" + CLIENT_NONCE + salt + ",i=4096", "r=other" + NONCE + salt + ",i=4096",
            "r=" + NONCE.substring(1) + salt + ",i=4096", "r=" + NONCE + "\u0001" + salt + ",i=4096",
            "r=" + CLIENT_NONCE + "x".repeat(100 * 1024) + salt + ",i=4096",
            "r=" + CLIENT_NONCE + "x".repeat(ScramLimits.DEFAULTS.maxNonceLength()) + salt + ",i=4096",
        };
        for (String message : malformed) {
            ScramClient client = rfcClient();
            assertThatThrownBy(() -> client.handleServerFirst(message))
                    .as(String.valueOf(message)).isExactlyInstanceOf(ProtocolViolationException.class);
        }
    }

    @Test
    void rejectsMalformedServerFinalMessages() {
        String[] malformed = {
            null, "", "v=", "v=!!!!", "x=y", "v", ScramVectors.RFC_SERVER_FINAL + ",x=y",
            ScramVectors.RFC_SERVER_FINAL + ",", "v=" + Base64.getEncoder().encodeToString(new byte[31]),
            "e=" + "x".repeat(5000),
        };
        for (String message : malformed) {
            ScramClient client = rfcClient();
            client.handleServerFirst(ScramVectors.RFC_SERVER_FIRST);
            assertThatThrownBy(() -> client.verifyServerFinal(message))
                    .as(String.valueOf(message)).isExactlyInstanceOf(ProtocolViolationException.class);
        }
    }

    @Test
    void rejectsMessagesOutOfOrder() {
        ScramClient early = rfcClient();
        assertThatThrownBy(() -> early.verifyServerFinal(ScramVectors.RFC_SERVER_FINAL))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        ScramClient twice = rfcClient();
        twice.handleServerFirst(ScramVectors.RFC_SERVER_FIRST);
        assertThatThrownBy(() -> twice.handleServerFirst(ScramVectors.RFC_SERVER_FIRST))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        ScramClient failed = rfcClient();
        assertThatThrownBy(() -> failed.handleServerFirst("r=x"))
                .isExactlyInstanceOf(ProtocolViolationException.class);
        assertThatThrownBy(() -> failed.handleServerFirst(ScramVectors.RFC_SERVER_FIRST))
                .isExactlyInstanceOf(ProtocolViolationException.class);
    }
}
