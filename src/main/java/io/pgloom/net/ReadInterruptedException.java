package io.pgloom.net;

import java.io.IOException;

/**
 * A blocked read was woken on purpose ({@link Wire#interruptRead}) without consuming any byte:
 * the owner checks why (SUSPEND) and reads again later. Not an error.
 */
public final class ReadInterruptedException extends IOException {
    public ReadInterruptedException() {
        super("read interrupted", null);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
