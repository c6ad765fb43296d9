package io.pgloom.proto;

import java.nio.ByteBuffer;

/**
 * A {@link ByteSource} over fixed bytes, handed out at most {@code chunk} bytes per read (1 for
 * the worst case). At the end it reports EOF, or fails the test if the reader was not supposed to
 * read that far.
 */
final class ChunkSource implements ByteSource {
    private final byte[] data;
    private final int chunk;
    private final boolean readPastEndIsABug;
    private int pos;
    private int reads;

    ChunkSource(byte[] data, int chunk, boolean readPastEndIsABug) {
        this.data = data;
        this.chunk = chunk;
        this.readPastEndIsABug = readPastEndIsABug;
    }

    /** EOF after the data. */
    static ChunkSource of(byte[] data, int chunk) {
        return new ChunkSource(data, chunk, false);
    }

    /** The reader must not ask for more than the data. */
    static ChunkSource exactly(byte[] data, int chunk) {
        return new ChunkSource(data, chunk, true);
    }

    @Override
    public int read(ByteBuffer dst) {
        reads++;
        if (pos == data.length) {
            if (readPastEndIsABug) {
                throw new AssertionError("read past the " + data.length + " bytes the test provided");
            }
            return -1;
        }
        int n = Math.min(Math.min(chunk, data.length - pos), dst.remaining());
        if (n == 0) {
            throw new AssertionError("read with no room in the buffer");
        }
        dst.put(data, pos, n);
        pos += n;
        return n;
    }

    int delivered() {
        return pos;
    }

    int reads() {
        return reads;
    }
}
