package io.pgloom.auth;

/**
 * Immutable. An auth_file (userlist.txt) that cannot be read or parsed. The message has the form
 * {@code <file>:<line>: <problem>} (or {@code <file>: <problem>} for whole-file problems) and never
 * contains a password or secret. Checked, so config loading and RELOAD must handle it (keep the old
 * user list and log the message).
 */
public final class UserListException extends Exception {
    public UserListException(String message) {
        super(message, null, false, false);
    }
}
