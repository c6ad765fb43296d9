package io.pgloom.auth;

import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable and thread-safe. A stored user secret, as written in PgBouncer's auth_file
 * (userlist.txt), in config or returned by auth_query: a plain-text password, an MD5 hash or a
 * SCRAM-SHA-256 secret.
 *
 * <p>{@link #parse} classifies a string exactly as PostgreSQL's {@code get_password_type()}: {@code
 * "md5"} followed by 32 lowercase hex digits is MD5; a well-formed {@code
 * SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} is SCRAM; anything else, including a
 * malformed SCRAM string, is a plain password. It never throws for a non-null string.
 *
 * <p>{@code toString()} shows only the kind, never the secret.
 */
public sealed interface Secret permits Secret.Plain, Secret.Md5Hash, Secret.Scram {

    /** Classifies and parses a stored secret; never fails (unrecognised text is a plain password). */
    static Secret parse(String text) {
        Objects.requireNonNull(text, "text");
        if (Md5.isStoredHash(text)) {
            return new Md5Hash(text);
        }
        Scram scram = ScramSecretFormat.parseOrNull(text);
        return scram != null ? scram : new Plain(text);
    }

    /** The kind for log lines: {@code plain}, {@code md5} or {@code scram-sha-256}. */
    String kind();

    /** The secret in auth_file form (SCRAM re-encoded canonically). Never log it. */
    String text();

    /** A plain-text password. An empty one never authenticates anybody. */
    record Plain(String password) implements Secret {
        public Plain {
            Objects.requireNonNull(password, "password");
        }

        @Override
        public String kind() {
            return "plain";
        }

        @Override
        public String text() {
            return password;
        }

        @Override
        public String toString() {
            return "Secret[plain]";
        }
    }

    /** {@code "md5" + hex(md5(password ‖ username))}. */
    record Md5Hash(String hash) implements Secret {
        public Md5Hash {
            if (!Md5.isStoredHash(Objects.requireNonNull(hash, "hash"))) {
                throw new IllegalArgumentException("not an md5 hash");
            }
        }

        @Override
        public String kind() {
            return "md5";
        }

        @Override
        public String text() {
            return hash;
        }

        @Override
        public String toString() {
            return "Secret[md5]";
        }
    }

    /** A SCRAM-SHA-256 verifier: iterations, salt, StoredKey and ServerKey (arrays copied in and out). */
    record Scram(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) implements Secret {
        public Scram {
            if (iterations < 1 || salt.length == 0 || storedKey.length != ScramCrypto.KEY_LENGTH
                    || serverKey.length != ScramCrypto.KEY_LENGTH) {
                throw new IllegalArgumentException("invalid SCRAM secret parameters");
            }
            salt = salt.clone();
            storedKey = storedKey.clone();
            serverKey = serverKey.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }

        @Override
        public byte[] storedKey() {
            return storedKey.clone();
        }

        @Override
        public byte[] serverKey() {
            return serverKey.clone();
        }

        @Override
        public String kind() {
            return "scram-sha-256";
        }

        @Override
        public String text() {
            return ScramSecretFormat.format(this);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Scram that && iterations == that.iterations
                    && Arrays.equals(salt, that.salt) && Arrays.equals(storedKey, that.storedKey)
                    && Arrays.equals(serverKey, that.serverKey);
        }

        @Override
        public int hashCode() {
            return Objects.hash(iterations, Arrays.hashCode(salt), Arrays.hashCode(storedKey),
                    Arrays.hashCode(serverKey));
        }

        @Override
        public String toString() {
            return "Secret[scram-sha-256]";
        }
    }
}
