package io.pgloom.auth;

import java.util.Objects;

/**
 * Immutable and thread-safe (arrays are copied in and out). The SCRAM-SHA-256 keys of one password
 * (RFC 5802 section 3): ClientKey and ServerKey, with StoredKey = SHA-256(ClientKey). They are what
 * a SCRAM client needs to log in, whether derived from a plain password ({@link #derive}) or
 * recovered from a client's proof by {@link ScramServer} for SCRAM pass-through ({@link #of}). Also
 * builds new SCRAM secrets.
 *
 * <p>{@link #toString()} never shows key material; ClientKey is password-equivalent for SCRAM and
 * must never be logged.
 *
 * <p>Arguments are trusted (config or already-validated peer data): null arguments throw {@link
 * NullPointerException} and out-of-range ones {@link IllegalArgumentException}, both bugs.
 */
public final class ScramKeys {
    /** PgBouncer's and PostgreSQL's default iteration count for new secrets. */
    public static final int DEFAULT_ITERATIONS = 4096;
    /** Upper bound on iterations we are willing to compute (about ten seconds of PBKDF2). */
    public static final int MAX_ITERATIONS = 10_000_000;
    /** Salt length of new secrets, as PostgreSQL's {@code SCRAM_DEFAULT_SALT_LEN}. */
    public static final int SALT_LENGTH = 16;

    private final byte[] clientKey;
    private final byte[] storedKey;
    private final byte[] serverKey;

    private ScramKeys(byte[] clientKey, byte[] serverKey) {
        if (clientKey.length != ScramCrypto.KEY_LENGTH || serverKey.length != ScramCrypto.KEY_LENGTH) {
            throw new IllegalArgumentException("SCRAM keys must be " + ScramCrypto.KEY_LENGTH + " bytes");
        }
        this.clientKey = clientKey.clone();
        this.serverKey = serverKey.clone();
        this.storedKey = ScramCrypto.sha256(this.clientKey);
    }

    /** Wraps a (ClientKey, ServerKey) pair, e.g. one recovered by {@link ScramServer}. */
    public static ScramKeys of(byte[] clientKey, byte[] serverKey) {
        return new ScramKeys(Objects.requireNonNull(clientKey), Objects.requireNonNull(serverKey));
    }

    /**
     * Derives the keys of {@code password} (after {@link SaslPrep}) for a salt and iteration count.
     * Served from a bounded process-wide cache, so only the first call for a triple pays for PBKDF2.
     */
    public static ScramKeys derive(String password, byte[] salt, int iterations) {
        checkParameters(password, salt, iterations);
        byte[] prepared = SaslPrep.prepare(password);
        return ScramKeyCache.SHARED.get(prepared, salt, iterations,
                () -> fromSaltedPassword(ScramCrypto.pbkdf2(prepared, salt, iterations)));
    }

    /** As {@link #derive} but bypassing the cache, for guesses that should not evict real entries. */
    static ScramKeys deriveUncached(String password, byte[] salt, int iterations) {
        checkParameters(password, salt, iterations);
        return fromSaltedPassword(ScramCrypto.pbkdf2(SaslPrep.prepare(password), salt, iterations));
    }

    /** Builds a new SCRAM secret for {@code password} with a random 16-byte salt. */
    public static Secret.Scram newSecret(String password, int iterations) {
        byte[] salt = ScramCrypto.randomBytes(SALT_LENGTH);
        return deriveUncached(password, salt, iterations).toSecret(salt, iterations);
    }

    /** The stored secret (salt, iterations, StoredKey, ServerKey) matching these keys. */
    public Secret.Scram toSecret(byte[] salt, int iterations) {
        return new Secret.Scram(iterations, salt, storedKey, serverKey);
    }

    public byte[] clientKey() {
        return clientKey.clone();
    }

    public byte[] storedKey() {
        return storedKey.clone();
    }

    public byte[] serverKey() {
        return serverKey.clone();
    }

    @Override
    public String toString() {
        return "ScramKeys[redacted]";
    }

    private static ScramKeys fromSaltedPassword(byte[] saltedPassword) {
        return new ScramKeys(ScramCrypto.hmac(saltedPassword, "Client Key"),
                ScramCrypto.hmac(saltedPassword, "Server Key"));
    }

    private static void checkParameters(String password, byte[] salt, int iterations) {
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(salt, "salt");
        if (salt.length == 0 || iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException(
                    "need a non-empty salt and 1.." + MAX_ITERATIONS + " iterations");
        }
    }
}
