package io.pgloom.auth;

/**
 * Immutable. The other side of an authentication exchange was not who it claimed to be: PostgreSQL
 * reported a SCRAM error ({@code e=}) or proved a wrong ServerSignature to the pooler. Checked, so
 * the server login code must decide what to tell waiting clients; it is neither a protocol
 * violation nor a bug. The message is safe to log: it never contains a password, key or proof.
 */
public final class AuthenticationFailedException extends Exception {
    public AuthenticationFailedException(String message) {
        super(message, null, false, false);
    }
}
