package io.pgloom.auth;

import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Stateless and thread-safe. PostgreSQL's MD5 password scheme. The stored hash is {@code "md5" +
 * hex(md5(password ‖ user))}; the answer to AuthenticationMD5Password with a 4-byte salt is {@code
 * "md5" + hex(md5(hex(md5(password ‖ user)) ‖ salt))}. Strings are hashed as UTF-8.
 *
 * <p>A wrong password is reported by {@link #verify} returning false. A salt that is not 4 bytes
 * (it comes from the server when the pooler logs in) is a {@link ProtocolViolationException}.
 */
public final class Md5 {
    /** Length of the salt in AuthenticationMD5Password. */
    public static final int SALT_LENGTH = 4;

    private static final String PREFIX = "md5";
    private static final int HASH_LENGTH = 35;
    private static final HexFormat HEX = HexFormat.of();

    private Md5() {
    }

    /** {@code "md5" + hex(md5(password ‖ user))}, the form stored by PostgreSQL and in auth_file. */
    public static String storedHash(String password, String user) {
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(user, "user");
        return PREFIX + hex((password + user).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The PasswordMessage answering AuthenticationMD5Password. {@code storedHashOrPlain} is either a
     * stored hash (used as is, as PgBouncer does with an md5 auth_file entry) or a plain password.
     */
    public static String saltedResponse(String storedHashOrPlain, String user, byte[] salt) {
        Objects.requireNonNull(storedHashOrPlain, "storedHashOrPlain");
        if (salt == null || salt.length != SALT_LENGTH) {
            throw new ProtocolViolationException("MD5 salt must be " + SALT_LENGTH + " bytes");
        }
        String inner = isStoredHash(storedHashOrPlain)
                ? storedHashOrPlain
                : storedHash(storedHashOrPlain, user);
        byte[] innerHex = inner.substring(PREFIX.length()).getBytes(StandardCharsets.US_ASCII);
        byte[] input = new byte[innerHex.length + SALT_LENGTH];
        System.arraycopy(innerHex, 0, input, 0, innerHex.length);
        System.arraycopy(salt, 0, input, innerHex.length, SALT_LENGTH);
        return PREFIX + hex(input);
    }

    /**
     * Checks a client's MD5 response, in constant time, against a plain or MD5 secret. Returns false
     * for a wrong or malformed response, an empty plain password, and any SCRAM secret (an MD5
     * response cannot be checked against one; PgBouncer switches such users to SCRAM instead).
     */
    public static boolean verify(Secret secret, String user, byte[] salt, String clientResponse) {
        Objects.requireNonNull(secret, "secret");
        String stored = switch (secret) {
            case Secret.Plain plain -> plain.password().isEmpty() ? null : plain.password();
            case Secret.Md5Hash md5 -> md5.hash();
            case Secret.Scram scram -> null;
        };
        if (stored == null || clientResponse == null) {
            return false;
        }
        byte[] expected = saltedResponse(stored, user, salt).getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(expected, clientResponse.getBytes(StandardCharsets.UTF_8));
    }

    /** True for {@code "md5"} followed by exactly 32 lowercase hex digits (PostgreSQL's test). */
    public static boolean isStoredHash(String text) {
        if (text == null || text.length() != HASH_LENGTH || !text.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < HASH_LENGTH; i++) {
            char c = text.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    private static String hex(byte[] input) {
        return HEX.formatHex(ScramCrypto.md5(input));
    }
}
