package io.pgloom.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Thread-safe: stateless apart from the one shared {@link SecureRandom}, which is itself
 * thread-safe. The cryptographic primitives of the auth package: HMAC-SHA-256, SHA-256, MD5,
 * PBKDF2 and random bytes for nonces and salts.
 *
 * <p>PBKDF2 is written out over {@link Mac} rather than taken from {@code SecretKeyFactory} because
 * PostgreSQL keys it with raw bytes (the SASLprep result, or the unprepared bytes when SASLprep
 * fails), while {@code PBEKeySpec} only accepts a {@code char[]}.
 */
final class ScramCrypto {
    /** Length of every SCRAM-SHA-256 key, signature and proof. */
    static final int KEY_LENGTH = 32;

    private static final String HMAC = "HmacSHA256";
    private static final SecureRandom RANDOM = new SecureRandom();

    private ScramCrypto() {
    }

    static byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    static byte[] hmac(byte[] key, byte[] data) {
        return newMac(key).doFinal(data);
    }

    static byte[] hmac(byte[] key, String text) {
        return hmac(key, text.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] sha256(byte[] data) {
        return digest("SHA-256", data);
    }

    static byte[] md5(byte[] data) {
        return digest("MD5", data);
    }

    /** PBKDF2-HMAC-SHA-256 with a 32-byte output (one block), as SCRAM's Hi() function. */
    static byte[] pbkdf2(byte[] password, byte[] salt, int iterations) {
        Mac mac = newMac(password);
        mac.update(salt);
        mac.update(new byte[] {0, 0, 0, 1});
        byte[] block = mac.doFinal();
        byte[] result = block.clone();
        for (int i = 1; i < iterations; i++) {
            block = mac.doFinal(block);
            for (int j = 0; j < result.length; j++) {
                result[j] ^= block[j];
            }
        }
        return result;
    }

    static byte[] xor(byte[] left, byte[] right) {
        assert left.length == right.length;
        byte[] result = new byte[left.length];
        for (int i = 0; i < result.length; i++) {
            result[i] = (byte) (left[i] ^ right[i]);
        }
        return result;
    }

    private static Mac newMac(byte[] key) {
        // HMAC pads its key with zero bytes to the block size, so an empty key is the same key as
        // one zero byte; SecretKeySpec refuses empty keys, hence the substitution.
        byte[] usableKey = key.length == 0 ? new byte[1] : key;
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(usableKey, HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK must provide " + HMAC, e);
        }
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK must provide " + algorithm, e);
        }
    }
}
