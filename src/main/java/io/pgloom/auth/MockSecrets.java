package io.pgloom.auth;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Stateless apart from a per-process random key; thread-safe. Stand-in secrets for users that do
 * not exist, so that the md5 and plain checks of an unknown user do the same work as those of a
 * known one (hash the answer, compare in constant time) and fail only at the end, like a wrong
 * password. The secrets are derived from the user name, the same for the same name within a
 * process, and nobody can know a password behind them. SCRAM has its own mock exchange in
 * {@link ScramServer}.
 */
public final class MockSecrets {
    private static final byte[] PROCESS_KEY = ScramCrypto.randomBytes(ScramCrypto.KEY_LENGTH);

    private MockSecrets() {
    }

    /** An MD5 secret ({@code md5} + 32 hex digits) for an unknown user. */
    public static Secret md5(String user) {
        byte[] h = Arrays.copyOf(ScramCrypto.hmac(PROCESS_KEY, "mock md5\0" + Objects.requireNonNull(user)), 16);
        return new Secret.Md5Hash("md5" + HexFormat.of().formatHex(h));
    }

    /**
     * A SCRAM secret for an unknown user: a cleartext password checked against it costs the same
     * key derivation ({@code iterations} rounds) as one checked against a real SCRAM secret.
     */
    public static Secret scram(String user, int iterations) {
        Objects.requireNonNull(user);
        byte[] salt = Arrays.copyOf(ScramCrypto.hmac(PROCESS_KEY, "mock salt\0" + user), ScramKeys.SALT_LENGTH);
        return new Secret.Scram(iterations, salt, ScramCrypto.hmac(PROCESS_KEY, "mock stored key\0" + user),
                ScramCrypto.hmac(PROCESS_KEY, "mock server key\0" + user));
    }
}
