package io.pgloom.admin;

import io.pgloom.proto.SqlState;

/** A console command failed: the client gets ErrorResponse with this text (and RFQ). */
public final class AdminError extends Exception {
    private final String sqlState;

    public AdminError(String message) {
        this(message, SqlState.PROTOCOL_VIOLATION);
    }

    public AdminError(String message, String sqlState) {
        super(message, null, false, false);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
