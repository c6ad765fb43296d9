package io.pgloom.proto;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where a {@link MessageStream} reads from: a socket, or bytes in a unit test. */
@FunctionalInterface
public interface ByteSource {
    /** Blocks until at least one byte is read into {@code dst}; -1 at end of stream. */
    int read(ByteBuffer dst) throws IOException;
}
