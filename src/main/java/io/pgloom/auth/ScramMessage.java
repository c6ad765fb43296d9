package io.pgloom.auth;

import io.pgloom.proto.ProtocolViolationException;

/**
 * Mutable, confined to the thread handling the one exchange it reads for. A reading cursor over one
 * SCRAM message, a comma-separated list of {@code x=value} attributes
 * (RFC 5802 section 7), shared by {@link ScramServer} and {@link ScramClient}. It enforces the size
 * limits that keep an overlong nonce or message from costing memory or time (PgBouncer's SCRAM
 * hardening), and every problem it finds is a {@link ProtocolViolationException} whose message
 * names the message and the problem but never echoes peer bytes.
 */
final class ScramMessage {
    private final String text;
    private final String what;
    private final ScramLimits limits;
    private int position;
    private int segmentStart;
    private String lastValue = "";

    private ScramMessage(String text, String what, ScramLimits limits) {
        this.text = text;
        this.what = what;
        this.limits = limits;
    }

    /** Starts reading {@code text}, the message called {@code what} in errors, after the size check. */
    static ScramMessage of(String text, String what, ScramLimits limits) {
        if (text == null) {
            throw new ProtocolViolationException("missing SCRAM " + what);
        }
        int max = limits.maxMessageBytes();
        if (text.length() > max || utf8Length(text) > max) {
            throw new ProtocolViolationException(
                    "SCRAM " + what + " longer than " + max + " bytes (scram_max_message_size)");
        }
        return new ScramMessage(text, what, limits);
    }

    boolean atEnd() {
        return position > text.length();
    }

    /** The name letter of the next attribute, or 0 at the end. */
    char peekName() {
        return position < text.length() ? text.charAt(position) : 0;
    }

    /** Reads the next attribute, which must be {@code name=value}, and returns its value. */
    String attribute(char name) {
        String segment = nextSegment();
        if (segment.length() < 2 || segment.charAt(0) != name || segment.charAt(1) != '=') {
            throw malformed("expected attribute '" + name + "='");
        }
        return segment.substring(2);
    }

    /** Reads the next attribute, which must be {@code x=value} with x a letter, and returns x. */
    char anyAttribute() {
        String segment = nextSegment();
        char name = segment.isEmpty() ? 0 : segment.charAt(0);
        boolean letter = (name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z');
        if (!letter || segment.length() < 2 || segment.charAt(1) != '=') {
            throw malformed("expected an attribute");
        }
        lastValue = segment.substring(2);
        return name;
    }

    /** The value of the attribute read last by {@link #anyAttribute()}. */
    String lastValue() {
        return lastValue;
    }

    /** Reads the next comma-separated field as is (used for the gs2 header fields). */
    String rawField() {
        return nextSegment();
    }

    /** The unread remainder of the message (empty at the end). */
    String rest() {
        return atEnd() ? "" : text.substring(position);
    }

    /** The text before the comma that precedes the attribute read last. */
    String textBeforeLastAttribute() {
        return text.substring(0, Math.max(0, segmentStart - 1));
    }

    void expectEnd() {
        if (!atEnd()) {
            throw malformed("unexpected data after the last attribute");
        }
    }

    ProtocolViolationException malformed(String problem) {
        return new ProtocolViolationException("malformed SCRAM " + what + ": " + problem);
    }

    /** Checks a nonce: 1 to {@link ScramLimits#maxNonceLength()} printable ASCII characters other than ','. */
    String checkNonce(String nonce) {
        if (nonce.isEmpty() || nonce.length() > limits.maxNonceLength()) {
            throw malformed("nonce must be 1 to " + limits.maxNonceLength() + " characters (scram_max_nonce_length)");
        }
        for (int i = 0; i < nonce.length(); i++) {
            char c = nonce.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') {
                throw malformed("nonce contains a non-printable character");
            }
        }
        return nonce;
    }

    private String nextSegment() {
        if (atEnd()) {
            throw malformed("missing attribute");
        }
        segmentStart = position;
        int comma = text.indexOf(',', position);
        if (comma < 0) {
            position = text.length() + 1;
            return text.substring(segmentStart);
        }
        position = comma + 1;
        return text.substring(segmentStart, comma);
    }

    private static int utf8Length(String text) {
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return bytes;
    }
}
