package io.pgloom.proto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Golden bytes written by hand: hex groups ("5a 00 00 00 05") and text in quotes. */
final class Hex {
    private Hex() {
    }

    /**
     * Concatenates parts: a String is hex digits (blanks ignored) unless it starts with a single
     * quote, in which case the rest is ASCII text; a byte[] is copied.
     */
    static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof byte[] b) {
                out.writeBytes(b);
            } else if (p instanceof String s && s.startsWith("'")) {
                out.writeBytes(s.substring(1).getBytes(StandardCharsets.UTF_8));
            } else if (p instanceof String s) {
                out.writeBytes(HexFormat.of().parseHex(s.replaceAll("\\s+", "")));
            } else {
                throw new IllegalArgumentException("part " + p);
            }
        }
        return out.toByteArray();
    }

    static String show(byte[] b) {
        return HexFormat.ofDelimiter(" ").formatHex(b);
    }
}
