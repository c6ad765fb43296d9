package io.pgloom.pool;

/**
 * A client could not get a server: timeout, a failing server login, or shutdown. The message is
 * what the client is told (and the close reason); never carries a stack trace.
 */
public final class AcquireException extends Exception {
    private final String sqlState;

    public AcquireException(String message, String sqlState) {
        super(message, null, false, false);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
