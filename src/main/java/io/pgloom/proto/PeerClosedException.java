package io.pgloom.proto;

import java.io.IOException;

/** The peer closed its end: a normal end of a connection, logged at most at DEBUG level. */
public final class PeerClosedException extends IOException {
    public PeerClosedException(String message) {
        super(message, null);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
