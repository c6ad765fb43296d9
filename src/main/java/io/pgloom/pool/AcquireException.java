package io.pgloom.pool;

/**
 * A client could not get a server: timeout, a failing server login, or shutdown. The message is
 * what the client is told (and the close reason); never carries a stack trace.
 */
public final class AcquireException extends Exception {
    private final String sqlState;
    private final boolean suspended;

    public AcquireException(String message, String sqlState) {
        this(message, sqlState, false);
    }

    public AcquireException(String message, String sqlState, boolean suspended) {
        super(message, null, false, false);
        this.sqlState = sqlState;
        this.suspended = suspended;
    }

    /** The wait was given up for a takeover (the client keeps its request for the new process). */
    public boolean suspended() {
        return suspended;
    }

    public String sqlState() {
        return sqlState;
    }
}
