package io.pgloom.auth;

import io.pgloom.proto.ProtocolViolationException;
import java.util.Base64;

/**
 * Stateless and thread-safe. Strict standard base64 (RFC 4648 alphabet, padded, no whitespace) for
 * SCRAM attributes and stored SCRAM secrets. Input is checked character by character before
 * the JDK decoder sees it, so malformed input never surfaces as {@link IllegalArgumentException}.
 */
final class StrictBase64 {
    private StrictBase64() {
    }

    static String encode(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** Decodes {@code text}, or returns null when it is not strict padded base64. */
    static byte[] decodeOrNull(String text) {
        if (text == null || text.length() % 4 != 0 || !wellFormed(text)) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null; // unreachable after wellFormed(); kept so no decoder quirk can escape
        }
    }

    /** Decodes a base64 attribute of a SCRAM message; {@code what} names it in the error. */
    static byte[] decode(String text, String what) {
        byte[] bytes = decodeOrNull(text);
        if (bytes == null) {
            throw new ProtocolViolationException("malformed SCRAM message: invalid base64 in " + what);
        }
        return bytes;
    }

    private static boolean wellFormed(String text) {
        int length = text.length();
        int padding = 0;
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (c == '=') {
                padding++;
            } else if (padding > 0 || !isAlphabet(c)) {
                return false;
            }
        }
        return padding <= 2;
    }

    private static boolean isAlphabet(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '+' || c == '/';
    }
}
