package io.pgloom.proto;

/**
 * Bad bytes from a peer: a malformed, truncated or oversized message, or a message that is not
 * allowed in the current state. It closes only the connection it came from (SQLSTATE 08P01)
 * and is logged at LOG level with its message as the close reason; it never carries a stack
 * trace to the user.
 */
public final class ProtocolViolationException extends RuntimeException {
    public ProtocolViolationException(String message) {
        super(message, null, false, false);
    }
}
