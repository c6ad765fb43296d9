package io.pgloom.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * Stateless and thread-safe. Checks a cleartext password (auth_type {@code plain},
 * AuthenticationCleartextPassword) against any kind of stored secret: plain (compared), MD5 (hashed
 * with the user name) or SCRAM (keys derived with the secret's salt and iterations, then StoredKey
 * and ServerKey compared, as PostgreSQL's {@code scram_verify_plain_password()}). A wrong password
 * is reported by returning false.
 *
 * <p>Comparisons are constant-time. Empty passwords, on either side, never match. SCRAM derivations
 * here bypass the key cache so that password guesses cannot evict real entries, and a secret with
 * more than {@link ScramKeys#MAX_ITERATIONS} iterations is refused rather than computed.
 */
public final class Cleartext {
    private Cleartext() {
    }

    /** True when {@code password} is the password behind {@code secret} for {@code user}. */
    public static boolean verify(Secret secret, String user, String password) {
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(user, "user");
        if (password == null || password.isEmpty()) {
            return false;
        }
        return switch (secret) {
            case Secret.Plain plain -> !plain.password().isEmpty() && equal(plain.password(), password);
            case Secret.Md5Hash md5 -> equal(md5.hash(), Md5.storedHash(password, user));
            case Secret.Scram scram -> verifyScram(scram, password);
        };
    }

    private static boolean verifyScram(Secret.Scram scram, String password) {
        if (scram.iterations() > ScramKeys.MAX_ITERATIONS) {
            return false;
        }
        ScramKeys keys = ScramKeys.deriveUncached(password, scram.salt(), scram.iterations());
        boolean storedMatches = MessageDigest.isEqual(keys.storedKey(), scram.storedKey());
        boolean serverMatches = MessageDigest.isEqual(keys.serverKey(), scram.serverKey());
        return storedMatches & serverMatches;
    }

    private static boolean equal(String expected, String actual) {
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                actual.getBytes(StandardCharsets.UTF_8));
    }
}
