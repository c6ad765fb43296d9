package io.pgloom.proto;

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
    public int read(byte[] b, int off, int len) {
        reads++;
        if (pos == data.length) {
            if (readPastEndIsABug) {
                throw new AssertionError("read past the " + data.length + " bytes the test provided");
            }
            return -1;
        }
        if (off < 0 || len <= 0 || off + len > b.length) {
            throw new AssertionError("read into a bad range: off " + off + ", len " + len + ", array " + b.length);
        }
        int n = Math.min(Math.min(chunk, data.length - pos), len);
        System.arraycopy(data, pos, b, off, n);
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
