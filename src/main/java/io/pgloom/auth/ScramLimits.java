package io.pgloom.auth;

import io.pgloom.config.General;
import io.pgloom.config.Values;

/**
 * Immutable. The size limits of one SCRAM exchange, from the config keys
 * {@code scram_max_message_size} and {@code scram_max_nonce_length}: the longest SCRAM message
 * (client-first, client-final, server-first or server-final) and the longest nonce accepted from
 * the peer, a client or a server alike. Anything longer is a protocol violation, checked before any
 * other parsing, so an overlong message costs neither memory nor time.
 *
 * @param maxMessageBytes the longest SCRAM message, in UTF-8 bytes
 * @param maxNonceLength the longest nonce (the client's, or the client's plus the server's), in characters
 */
public record ScramLimits(int maxMessageBytes, int maxNonceLength) {
    /** The keys' defaults. */
    public static final ScramLimits DEFAULTS = new ScramLimits(General.SCRAM_MAX_MESSAGE_SIZE.defaultValue(),
            General.SCRAM_MAX_NONCE_LENGTH.defaultValue());

    /** The limits configured in {@code general}. */
    public static ScramLimits of(Values general) {
        return new ScramLimits(general.get(General.SCRAM_MAX_MESSAGE_SIZE), general.get(General.SCRAM_MAX_NONCE_LENGTH));
    }

    public ScramLimits {
        if (maxMessageBytes < 1 || maxNonceLength < 1) {
            throw new IllegalArgumentException("SCRAM limits must be positive");
        }
    }
}
