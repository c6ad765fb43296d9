package io.pgloom.server;

import java.io.IOException;

/**
 * What a server connection needs from the client it is lent to. Implemented by the client
 * connection; called on the server's thread.
 */
public interface LinkedClient {
    /**
     * Forwards server bytes (whole messages, or a slice of one large message) to the client,
     * waiting while it does not read, unless, woken while blocked, {@code giveUp} says to stop
     * (SUSPEND); returns how many bytes went.
     */
    int sendFromServer(byte[] bytes, int offset, int length, java.util.function.BooleanSupplier giveUp)
            throws IOException;

    /** Writes what the client's socket takes without waiting (a server's inline pass); returns how much. */
    int trySendFromServer(byte[] bytes, int offset, int length) throws IOException;

    /** The server reported a tracked parameter while linked: it is now the client's value too. */
    void parameterChanged(String name, String value);

    /** The server unlinked itself at the end of a transaction. */
    void unlinked(ServerConnection server);

    /** The client's Parse of {@code name} failed on the server: the name does not exist after all. */
    void forgetStatement(String name, io.pgloom.prepared.Statement statement);

    /** The client's SQL DEALLOCATE of {@code name} failed: the name stands again (the reference passes back). */
    void restoreStatement(String name, io.pgloom.prepared.Statement statement);

    /** The client's DEALLOCATE ALL or DISCARD ALL completed: its statement names are gone. */
    void statementsDeallocated();

    /** The server connection failed while linked: the client must be told and closed. */
    void serverFailed(String reason, String sqlState);

    /** The client's id (SHOW CLIENTS id, and the hex in its ptr). */
    long id();

    /** The client's log prefix ({@code C-0x1f: db/user@addr:port }). */
    String logPrefix();
}
