package io.pgloom.auth;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * Stateless and thread-safe. SASLprep (RFC 4013) of a password before SCRAM key derivation,
 * following PostgreSQL's {@code pg_saslprep()}: a pure-ASCII password is used as is; otherwise
 * non-ASCII spaces (RFC 3454 table C.1.2) become U+0020, "commonly mapped to nothing" characters
 * (B.1) are dropped, the result is NFKC-normalized with {@link Normalizer}, and it is checked for
 * prohibited characters (C.1.2, C.2 to C.9), unassigned code points (A.1) and the bidirectional
 * rule (RFC 3454 section 6).
 *
 * <p>Whenever preparation fails (prohibited character, empty result, bidi violation) the password's
 * own UTF-8 bytes are used instead, exactly as PostgreSQL and libpq fall back, so such passwords
 * still work and hash the same on both sides. Differences from PostgreSQL, both only for exotic
 * passwords: "unassigned" and the bidi categories come from the JDK's Unicode tables (a newer
 * Unicode version than the 3.2 tables of RFC 3454), and a Java string cannot hold invalid UTF-8, so
 * PostgreSQL's "not UTF-8, use the raw bytes" case cannot arise here (unpaired surrogates are
 * encoded by {@link String#getBytes} as '?').
 */
final class SaslPrep {
    private SaslPrep() {
    }

    /** Returns the bytes that key the PBKDF2 derivation for {@code password}. */
    static byte[] prepare(String password) {
        if (isAscii(password)) {
            return password.getBytes(StandardCharsets.US_ASCII);
        }
        String prepared = prepareOrNull(password);
        return (prepared != null ? prepared : password).getBytes(StandardCharsets.UTF_8);
    }

    private static String prepareOrNull(String password) {
        String mapped = Normalizer.normalize(map(password), Normalizer.Form.NFKC);
        if (mapped.isEmpty() || !mapped.codePoints().allMatch(SaslPrep::isAllowed)) {
            return null;
        }
        return passesBidiRule(mapped) ? mapped : null;
    }

    private static String map(String password) {
        StringBuilder out = new StringBuilder(password.length());
        password.codePoints().forEach(cp -> {
            if (isNonAsciiSpace(cp)) {
                out.append(' ');
            } else if (!isMappedToNothing(cp)) {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /** RFC 3454 table C.1.2. */
    private static boolean isNonAsciiSpace(int cp) {
        return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** RFC 3454 table B.1. */
    private static boolean isMappedToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806 || (cp >= 0x180B && cp <= 0x180D)
                || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || (cp >= 0xFE00 && cp <= 0xFE0F)
                || cp == 0xFEFF;
    }

    private static boolean isAllowed(int cp) {
        return Character.isDefined(cp) && !isNonAsciiSpace(cp) && !isControl(cp)
                && !isPrivateUseOrNonCharacter(cp) && !isInappropriate(cp);
    }

    /** RFC 3454 tables C.2.1 and C.2.2. */
    private static boolean isControl(int cp) {
        return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x06DD || cp == 0x070F
                || cp == 0x180E || cp == 0x200C || cp == 0x200D || cp == 0x2028 || cp == 0x2029
                || (cp >= 0x2060 && cp <= 0x2063) || (cp >= 0x206A && cp <= 0x206F) || cp == 0xFEFF
                || (cp >= 0xFFF9 && cp <= 0xFFFC) || (cp >= 0x1D173 && cp <= 0x1D17A);
    }

    /** RFC 3454 tables C.3, C.4 and C.5. */
    private static boolean isPrivateUseOrNonCharacter(int cp) {
        return (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xF0000 && cp <= 0xFFFFD)
                || (cp >= 0x100000 && cp <= 0x10FFFD) || (cp >= 0xFDD0 && cp <= 0xFDEF)
                || (cp & 0xFFFE) == 0xFFFE || (cp >= 0xD800 && cp <= 0xDFFF);
    }

    /** RFC 3454 tables C.6, C.7, C.8 and C.9. */
    private static boolean isInappropriate(int cp) {
        return (cp >= 0xFFF9 && cp <= 0xFFFD) || (cp >= 0x2FF0 && cp <= 0x2FFB) || cp == 0x0340
                || cp == 0x0341 || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E)
                || (cp >= 0x206A && cp <= 0x206F) || cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F);
    }

    /** RFC 3454 section 6: RandALCat text may hold no LCat and must start and end with RandALCat. */
    private static boolean passesBidiRule(String text) {
        int[] codePoints = text.codePoints().toArray();
        boolean anyRandAl = false;
        boolean anyL = false;
        for (int cp : codePoints) {
            anyRandAl |= isRandAl(cp);
            anyL |= Character.getDirectionality(cp) == Character.DIRECTIONALITY_LEFT_TO_RIGHT;
        }
        if (!anyRandAl) {
            return true;
        }
        return !anyL && isRandAl(codePoints[0]) && isRandAl(codePoints[codePoints.length - 1]);
    }

    private static boolean isRandAl(int cp) {
        byte direction = Character.getDirectionality(cp);
        return direction == Character.DIRECTIONALITY_RIGHT_TO_LEFT
                || direction == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC;
    }
}
