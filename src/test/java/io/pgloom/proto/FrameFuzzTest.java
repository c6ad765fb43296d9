package io.pgloom.proto;

import static io.pgloom.Fuzzing.require;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pgloom.Fuzzing;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the protocol v3 framer, {@link MessageStream}, as its two users drive it: the data path
 * (scan whole messages in place with {@link MessageStream#peekSizeAt}, stream one larger than the
 * buffer, grow only for a message that must be decoded whole) and the login/console path
 * ({@link MessageStream#nextMessage} plus {@link BodyReader} fields). The first input byte picks
 * the chunk size of the reads, the path and whether the buffer comes from a {@link BufferPool};
 * the rest is the byte stream. Only {@link ProtocolViolationException} and the end of the stream
 * may come out, and with {@code max_packet_size} at 64 KiB nothing may allocate more than a few
 * times that, whatever length a header claims.
 */
@Tag("fuzz")
@Timeout(30)
class FrameFuzzTest {
    private static final int MAX_PACKET = 64 * 1024;
    private static final int BUFFER = 64;

    @FuzzTest(maxDuration = "5m")
    void stream(byte[] data) {
        Fuzzing.check(data, 8L * MAX_PACKET + 64L * data.length + (256 << 10), () -> run(data),
                ProtocolViolationException.class, PeerClosedException.class);
    }

    @Test
    void mutatedCorpus() {
        Fuzzing.mutateCorpus(getClass(), "stream", List.of("Q", "P", "B", "\0\0\0\4", "\0\0\0\5", "\u007f\u00ff\u00ff\u00ff"),
                this::stream);
    }

    private static void run(byte[] data) throws IOException {
        if (data.length == 0) {
            return;
        }
        int control = data[0] & 0xff;
        int chunk = 1 + (control & 0x0f) * (control & 0x0f);
        int path = (control >>> 4) & 3;
        boolean pooled = (control & 0x40) != 0;
        byte[] rest = Arrays.copyOfRange(data, 1, data.length);
        Source source = new Source(rest, chunk);
        MessageStream in = pooled
                ? new MessageStream(source, new BufferPool(BUFFER, 2), MAX_PACKET)
                : new MessageStream(source, BUFFER, MAX_PACKET);
        long consumed = 0;
        for (int round = 0; ; round++) {
            boolean dataPath = path == 0 || (path == 2 && (round & 1) == 0);
            consumed += dataPath ? dataPathStep(in) : loginStep(in);
            require(0 <= in.start() && in.start() <= in.end() && in.end() <= in.capacity(), "buffer bounds");
            require(in.capacity() <= Math.max(2 * BUFFER, MAX_PACKET), "buffer grew to " + in.capacity());
            require(consumed + in.available() == in.bytesRead(), "bytes lost or duplicated");
        }
    }

    /** What ClientConnection.processBuffer does, without a server: returns the bytes consumed. */
    private static long dataPathStep(MessageStream in) throws IOException {
        in.fill();
        byte[] b = in.array();
        int pos = in.start();
        int end = in.end();
        int wantRoom = 0;
        while (end - pos >= 5) {
            byte tag = b[pos];
            int size = in.peekSizeAt(pos);
            require(size >= 5 && size <= MAX_PACKET, "size " + size + " passed the limit check");
            if (end - pos < size) {
                boolean needWhole = tag == FrontendTag.PARSE || tag == FrontendTag.BIND;
                if (size > in.capacity() && !needWhole) {
                    int have = end - pos;
                    long buffered = end - in.start();
                    in.advance(end - in.start());
                    return buffered + skip(in, size - have);
                }
                wantRoom = size;
                break;
            }
            pos += size;
        }
        long n = pos - in.start();
        in.advance(pos - in.start());
        if (wantRoom > 0) {
            in.ensureRoom(wantRoom);
            require(in.capacity() - in.start() >= wantRoom, "no room made for " + wantRoom);
        }
        return n;
    }

    /** ClientConnection.streamRest: the rest of a large message goes through without buffering. */
    private static long skip(MessageStream in, int remaining) throws IOException {
        long skipped = 0;
        while (remaining > 0) {
            in.fill();
            int n = Math.min(remaining, in.available());
            in.advance(n);
            remaining -= n;
            skipped += n;
        }
        return skipped;
    }

    /** One message as login, auth and the console read it. */
    private static long loginStep(MessageStream in) throws IOException {
        in.nextMessage(MAX_PACKET);
        require(in.bodyLength() >= 0 && in.bodyLength() <= MAX_PACKET - 5, "body length " + in.bodyLength());
        require(in.bodyOffset() + in.bodyLength() <= in.end(), "body past the buffered bytes");
        BodyReader r = in.body("fuzzed message");
        switch (in.tag()) {
            case FrontendTag.QUERY, FrontendTag.PASSWORD -> r.cstring();
            case FrontendTag.PARSE -> {
                r.cstring();
                r.cstring();
                for (int i = r.int16(); i > 0; i--) {
                    r.int32();
                }
            }
            default -> {
                while (r.remaining() > 0) {
                    int len = r.int32();
                    r.bytes(Math.min(len, r.remaining()));
                }
            }
        }
        long n = 5L + in.bodyLength();
        in.consume();
        return n;
    }

    /** The stream in reads of at most {@code chunk} bytes; every other time "would wait". */
    private static final class Source implements ByteSource {
        private final byte[] data;
        private final int chunk;
        private int pos;
        private int asked;

        Source(byte[] data, int chunk) {
            this.data = data;
            this.chunk = chunk;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            require(len > 0 && off >= 0 && off + len <= b.length, "read into a bad range");
            if (pos == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(chunk, data.length - pos), len);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public boolean wouldWait() {
            return (++asked & 1) == 0;
        }
    }
}
