package io.pgloom.auth;

/**
 * Stateless and thread-safe. The text form of a stored SCRAM secret,
 * {@code SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>}, as
 * PostgreSQL's {@code parse_scram_secret()} reads it and {@code scram_build_secret()} writes it.
 *
 * <p>Well-formed means: the exact prefix, iterations as decimal digits in 1..2^31-1, a non-empty
 * strict-base64 salt, and StoredKey and ServerKey as strict base64 of exactly 32 bytes each.
 */
final class ScramSecretFormat {
    static final String PREFIX = "SCRAM-SHA-256$";

    private ScramSecretFormat() {
    }

    /** Parses a SCRAM secret, or returns null when {@code text} is not a well-formed one. */
    static Secret.Scram parseOrNull(String text) {
        if (!text.startsWith(PREFIX)) {
            return null;
        }
        int colon = text.indexOf(':', PREFIX.length());
        int dollar = colon < 0 ? -1 : text.indexOf('$', colon + 1);
        int keyColon = dollar < 0 ? -1 : text.indexOf(':', dollar + 1);
        if (keyColon < 0) {
            return null;
        }
        int iterations = parseIterations(text.substring(PREFIX.length(), colon));
        byte[] salt = StrictBase64.decodeOrNull(text.substring(colon + 1, dollar));
        byte[] storedKey = StrictBase64.decodeOrNull(text.substring(dollar + 1, keyColon));
        byte[] serverKey = StrictBase64.decodeOrNull(text.substring(keyColon + 1));
        if (iterations < 1 || salt == null || salt.length == 0 || !isKey(storedKey) || !isKey(serverKey)) {
            return null;
        }
        return new Secret.Scram(iterations, salt, storedKey, serverKey);
    }

    static String format(Secret.Scram secret) {
        return PREFIX + secret.iterations() + ":" + StrictBase64.encode(secret.salt()) + "$"
                + StrictBase64.encode(secret.storedKey()) + ":" + StrictBase64.encode(secret.serverKey());
    }

    /** Parses decimal digits into a positive int; -1 when not digits or out of range. */
    static int parseIterations(String digits) {
        if (digits.isEmpty()) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
            if (value > Integer.MAX_VALUE) {
                return -1;
            }
        }
        return (int) value;
    }

    private static boolean isKey(byte[] key) {
        return key != null && key.length == ScramCrypto.KEY_LENGTH;
    }
}
