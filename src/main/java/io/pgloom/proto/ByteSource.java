package io.pgloom.proto;

import java.io.IOException;

/** Where a {@link MessageStream} reads from: a socket, or bytes in a unit test. */
@FunctionalInterface
public interface ByteSource {
    /** Blocks until at least one byte is read into {@code b[off..off+len)}; -1 at end of stream. */
    int read(byte[] b, int off, int len) throws IOException;

    /** Whether the next read would have to wait for data (so a buffer can be given back first). */
    default boolean wouldWait() {
        return false;
    }

    /** Waits until data (or end of stream) is there, holding no buffer. */
    default void awaitReadable() throws IOException {
    }

    /**
     * Like {@link #awaitReadable}, at a message boundary between requests, where work may be done
     * on the reader's behalf meanwhile (see {@code EpollWire}); returns true when that work was
     * handed to the reader rather than data having arrived.
     */
    default boolean awaitIdle() throws IOException {
        awaitReadable();
        return false;
    }

    /** One read that never waits: bytes read, 0 when none are there, -1 at end of stream. */
    default int readNow(byte[] b, int off, int len) throws IOException {
        throw new UnsupportedOperationException("this source cannot read without waiting");
    }
}
