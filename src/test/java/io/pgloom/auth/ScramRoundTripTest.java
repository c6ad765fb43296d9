package io.pgloom.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.ProtocolViolationException;
import org.junit.jupiter.api.Test;

/** ScramClient against ScramServer, the way the pooler meets clients and PostgreSQL. */
class ScramRoundTripTest {
    private static final int ITERATIONS = ScramKeys.DEFAULT_ITERATIONS;

    private static ScramServer server(String user, Secret secret) {
        return ScramServer.forUser(user, secret, ITERATIONS, ScramLimits.DEFAULTS);
    }

    /** Runs one exchange; returns the server's result after the client checked a success. */
    private static ScramServer.Result exchange(ScramClient client, ScramServer server) throws Exception {
        String serverFirst = server.handleClientFirst(client.clientFirstMessage());
        ScramServer.Result result = server.handleClientFinal(client.handleServerFirst(serverFirst));
        if (result instanceof ScramServer.Success success) {
            client.verifyServerFinal(success.serverFinalMessage());
            assertThat(client.isVerified()).isTrue();
        }
        return result;
    }

    private static ScramServer.Result login(String password, ScramServer server) throws Exception {
        return exchange(ScramClient.forPassword(password, ScramLimits.DEFAULTS), server);
    }

    @Test
    void plainSecretSucceedsAndIsNotUsableForPassThrough() throws Exception {
        assertThat(login("s3cret", server("alice", Secret.parse("s3cret"))))
                .isInstanceOfSatisfying(ScramServer.Success.class,
                        success -> assertThat(success.passThroughUsable()).isFalse());
    }

    @Test
    void plainSecretKeysAreCachedButTheProofIsStillChecked() throws Exception {
        String password = "cached " + System.nanoTime();
        Secret secret = Secret.parse(password);
        long missesBefore = ScramKeyCache.SHARED.misses();
        assertThat(login(password, server("carol", secret))).isInstanceOf(ScramServer.Success.class);
        long missesAfterFirst = ScramKeyCache.SHARED.misses();
        // The server (ad-hoc verifier) and the client share the cache: one derivation in all.
        assertThat(missesAfterFirst).isEqualTo(missesBefore + 1);
        assertThat(login(password, server("carol", secret))).isInstanceOf(ScramServer.Success.class);
        assertThat(ScramKeyCache.SHARED.misses()).isEqualTo(missesAfterFirst);
        assertThat(login(password + "!", server("carol", secret))).isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void adHocVerifierUsesTheConfiguredIterations() {
        String serverFirst = ScramServer.forUser("alice", Secret.parse("pw"), 64, ScramLimits.DEFAULTS).handleClientFirst("n,,n=,r=a");
        assertThat(serverFirst).endsWith(",i=64");
        assertThat(ScramServer.forUnknownUser("nobody", 64, ScramLimits.DEFAULTS).handleClientFirst("n,,n=,r=a")).endsWith(",i=64");
        Secret.Scram stored = ScramKeys.newSecret("pw", 4096);
        assertThat(ScramServer.forUser("bob", stored, 64, ScramLimits.DEFAULTS).handleClientFirst("n,,n=,r=a")).endsWith(",i=4096");
    }

    @Test
    void scramSecretSucceedsAndYieldsPassThroughKeys() throws Exception {
        Secret.Scram secret = ScramKeys.newSecret("pa55", ITERATIONS);
        ScramServer.Result result = login("pa55", server("bob", secret));
        assertThat(result).isInstanceOf(ScramServer.Success.class);
        ScramServer.Success success = (ScramServer.Success) result;
        assertThat(success.passThroughUsable()).isTrue();
        assertThat(success.keys()).hasToString("ScramKeys[redacted]");

        // The pooler now logs in "to PostgreSQL" (which holds the same secret) with the recovered keys.
        ScramServer.Result passThrough = exchange(ScramClient.forKeys(success.keys(), ScramLimits.DEFAULTS), server("bob", secret));
        assertThat(passThrough).isInstanceOf(ScramServer.Success.class);
    }

    @Test
    void fixedPythonBuiltSecretAuthenticates() throws Exception {
        Secret secret = Secret.parse(ScramVectors.PYTHON_SECRET_FOR_SECRET);
        assertThat(login("secret", server("u", secret))).isInstanceOf(ScramServer.Success.class);
        assertThat(login("Secret", server("u", secret))).isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void wrongPasswordFails() throws Exception {
        Secret secret = ScramKeys.newSecret("right", ITERATIONS);
        assertThat(login("wrong", server("bob", secret)))
                .isEqualTo(new ScramServer.Failure("wrong password (SCRAM proof mismatch)"));
    }

    @Test
    void passThroughKeysFromAnotherSecretFail() throws Exception {
        Secret.Scram one = ScramKeys.newSecret("same password", ITERATIONS);
        Secret.Scram other = ScramKeys.newSecret("same password", ITERATIONS); // different salt
        ScramServer.Success success = (ScramServer.Success) login("same password", server("bob", one));
        assertThat(exchange(ScramClient.forKeys(success.keys(), ScramLimits.DEFAULTS), server("bob", other)))
                .isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void mockModeAlwaysFails() throws Exception {
        for (String password : new String[] {"", "x", "ghost", "secret"}) {
            assertThat(login(password, ScramServer.forUnknownUser("ghost", ITERATIONS, ScramLimits.DEFAULTS)))
                    .isEqualTo(new ScramServer.Failure("no such user"));
        }
    }

    @Test
    void usersWithoutAScramVerifierGetMockAuthentication() throws Exception {
        Secret md5 = Secret.parse(Md5.storedHash("pw", "dave"));
        assertThat(login("pw", server("dave", md5))).isInstanceOfSatisfying(ScramServer.Failure.class,
                failure -> assertThat(failure.reason()).contains("MD5"));
        assertThat(login("", server("erin", Secret.parse("")))).isInstanceOf(ScramServer.Failure.class);
    }

    @Test
    void mockModeStillValidatesTheFinalMessage() {
        ScramServer server = ScramServer.forUnknownUser("ghost", ITERATIONS, ScramLimits.DEFAULTS);
        server.handleClientFirst("n,,n=,r=abc");
        assertThatThrownBy(() -> server.handleClientFinal("c=biws,r=wrong,p=AAAA"))
                .isExactlyInstanceOf(ProtocolViolationException.class);
    }
}
