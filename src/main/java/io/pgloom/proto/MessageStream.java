package io.pgloom.proto;

import java.io.IOException;

/**
 * The read side of one connection: a buffer of bytes received and not yet consumed, with the
 * framing rules of protocol v3 (1-byte type, 4-byte length that includes itself). The data path
 * scans {@link #array()} between {@link #start()} and {@link #end()} and forwards whole runs of
 * messages; login code uses {@link #nextMessage()}. Lengths are checked against
 * {@code max_packet_size} before anything is allocated. The buffer has its normal size
 * ({@code pkt_buf}) and grows only while a message that must be decoded is larger, shrinking back
 * when it empties. Confined to the owning connection's thread.
 */
public final class MessageStream {
    private static final byte[] NONE = new byte[0];

    private final ByteSource source;
    private final int normalCapacity;
    private final int maxPacketSize;
    private final BufferPool pool;
    private byte[] buf;
    private int start;
    private int end;
    private long bytesRead;
    private boolean interruptible;

    private byte tag;
    private int bodyOffset;
    private int bodyLength;

    public MessageStream(ByteSource source, int capacity, int maxPacketSize) {
        this.source = source;
        this.normalCapacity = capacity;
        this.maxPacketSize = maxPacketSize;
        this.pool = null;
        this.buf = new byte[capacity];
    }

    /**
     * A stream that borrows its buffer from {@code pool} and gives it back whenever it has nothing
     * buffered and must wait for the peer.
     */
    public MessageStream(ByteSource source, BufferPool pool, int maxPacketSize) {
        this.source = source;
        this.normalCapacity = pool.bufferSize();
        this.maxPacketSize = maxPacketSize;
        this.pool = pool;
        this.buf = NONE;
    }

    public byte[] array() {
        return buf;
    }

    public int start() {
        return start;
    }

    public int end() {
        return end;
    }

    public int available() {
        return end - start;
    }

    public int capacity() {
        return buf.length;
    }

    /** The largest message accepted (max_packet_size). */
    public int maxPacketSize() {
        return maxPacketSize;
    }

    public long bytesRead() {
        return bytesRead;
    }

    /**
     * Whether a deliberately interrupted read ({@code Wire.interruptRead}) surfaces from
     * {@link #fill}; otherwise it is retried. Only the work loops, which can suspend, allow it.
     */
    public void setInterruptible(boolean on) {
        interruptible = on;
    }

    /** Marks {@code n} bytes from {@link #start()} as consumed. */
    public void advance(int n) {
        start += n;
        if (start == end) {
            start = 0;
            end = 0;
            if (buf.length > normalCapacity) {
                buf = pool != null ? NONE : new byte[normalCapacity];
            }
        }
    }

    /**
     * Reads more bytes, blocking until at least one arrives; first moves unconsumed bytes to the
     * front when there is no room after them.
     *
     * @throws PeerClosedException at end of stream
     */
    public void fill() throws IOException {
        fill(false);
    }

    /**
     * {@link #fill()} at a message boundary between requests, where the wait may let the
     * transport work on the connection's behalf ({@link ByteSource#awaitIdle}).
     *
     * @return false when nothing was read because that work was handed to the caller (which
     *     looks at its buffer and deferred work first)
     */
    public boolean fillIdle() throws IOException {
        return fill(true);
    }

    private boolean fill(boolean idle) throws IOException {
        if (start == end && (buf == NONE || source.wouldWait())) {
            // nothing buffered and nothing to read: wait without a (pooled) buffer
            if (pool != null && buf != NONE) {
                pool.give(buf);
                buf = NONE;
            }
            if (idle) {
                if (source.awaitIdle()) {
                    return false;
                }
            } else {
                source.awaitReadable();
            }
            if (buf == NONE) {
                buf = pool.take();
            }
        }
        if (end == buf.length) {
            compact();
        }
        int n;
        while (true) {
            try {
                n = source.read(buf, end, buf.length - end);
                break;
            } catch (io.pgloom.net.ReadInterruptedException e) {
                if (interruptible) {
                    throw e;
                }
            }
        }
        if (n < 0) {
            throw new PeerClosedException(available() > 0 ? "unexpected eof mid-message" : "eof");
        }
        end += n;
        bytesRead += n;
        return true;
    }

    /**
     * One read that never waits, for an inline pass: bytes read, 0 when none were there, -1 at
     * end of stream (nothing is thrown for it: the owner's thread reports it).
     */
    public int fillNow() throws IOException {
        if (end == buf.length) {
            compact();
        }
        int n = source.readNow(buf, end, buf.length - end);
        if (n > 0) {
            end += n;
            bytesRead += n;
        }
        return n;
    }

    private void compact() {
        if (buf.length == 0) {
            buf = pool != null ? pool.take() : new byte[normalCapacity];
            return;
        }
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        } else {
            grow(buf.length * 2);
        }
    }

    /** Puts bytes received elsewhere (the process handed over from) in front of what comes next. */
    public void prefill(byte[] bytes) {
        if (buf.length - end < bytes.length) {
            byte[] bigger = new byte[Math.max(normalCapacity, end - start + bytes.length)];
            System.arraycopy(buf, start, bigger, 0, end - start);
            end -= start;
            start = 0;
            buf = bigger;
        }
        System.arraycopy(bytes, 0, buf, end, bytes.length);
        end += bytes.length;
    }

    /** Gives the buffer back when nothing is buffered (the connection is going away or idle). */
    public void release() {
        if (pool != null && start == end && buf != NONE) {
            pool.give(buf);
            buf = NONE;
        }
    }

    /** Makes room for a whole message of {@code size} bytes starting at {@link #start()}. */
    public void ensureRoom(int size) {
        if (size > buf.length - start) {
            if (size > buf.length) {
                grow(size);
            } else {
                compact();
            }
        }
    }

    private void grow(int capacity) {
        byte[] bigger = new byte[capacity];
        System.arraycopy(buf, start, bigger, 0, end - start);
        end -= start;
        start = 0;
        buf = bigger;
    }

    /** The type byte of the message at {@link #start()}; needs {@code available() >= 5}. */
    public byte peekTag() {
        return buf[start];
    }

    /** Blocks until at least one byte is buffered and returns it (a message's type byte). */
    public byte awaitFirstByte() throws IOException {
        while (available() < 1) {
            fill();
        }
        return buf[start];
    }

    /**
     * The total size (type byte + length) of the message at {@link #start()}; needs
     * {@code available() >= 5}.
     *
     * @throws ProtocolViolationException for a length below 4 or above max_packet_size
     */
    public int peekSize() {
        return peekSizeAt(start);
    }

    /** As {@link #peekSize()}, for the message at {@code pos} (a position in {@link #array()}). */
    public int peekSizeAt(int pos) {
        int len = MessageBuilder.getInt(buf, pos + 1);
        if (len < 4 || len > maxPacketSize - 1) {
            throw new ProtocolViolationException(len < 4
                    ? "invalid message length " + len
                    : "message too large (" + ((len & 0xffffffffL) + 1) + " bytes, max_packet_size " + maxPacketSize + ")");
        }
        return len + 1;
    }

    /**
     * Blocks until a whole typed message of at most {@code limit} bytes is buffered, then exposes
     * it through {@link #tag()}, {@link #bodyOffset()} and {@link #bodyLength()}; the caller
     * calls {@link #consume()} when done with it.
     */
    public void nextMessage(int limit) throws IOException {
        nextMessage(limit, null);
    }

    /** As {@link #nextMessage(int)}; a message over {@code limit} is refused naming {@code limitKey}, its config key. */
    public void nextMessage(int limit, String limitKey) throws IOException {
        while (available() < 5) {
            fill();
        }
        int size = peekSize();
        if (size > limit) {
            throw new ProtocolViolationException("message too large (" + size + " bytes) during login"
                    + (limitKey == null ? "" : " (" + limitKey + " " + limit + ")"));
        }
        ensureRoom(size);
        while (available() < size) {
            fill();
        }
        tag = buf[start];
        bodyOffset = start + 5;
        bodyLength = size - 5;
    }

    public byte tag() {
        return tag;
    }

    public int bodyOffset() {
        return bodyOffset;
    }

    public int bodyLength() {
        return bodyLength;
    }

    public BodyReader body(String what) {
        return new BodyReader(buf, bodyOffset, bodyLength, what);
    }

    /** Consumes the message exposed by {@link #nextMessage}. */
    public void consume() {
        advance(bodyOffset + bodyLength - start);
    }

    /**
     * Reads an untyped packet (StartupMessage and friends): a 4-byte length, then the body, which
     * is returned as a copy.
     */
    public byte[] readUntyped(int maxLength) throws IOException {
        while (available() < 4) {
            fill();
        }
        int len = MessageBuilder.getInt(buf, start);
        if (len < 8 || len > maxLength) {
            throw new ProtocolViolationException(len < 8 ? "invalid startup packet length " + len : "startup packet too large");
        }
        ensureRoom(len);
        while (available() < len) {
            fill();
        }
        byte[] body = new byte[len - 4];
        System.arraycopy(buf, start + 4, body, 0, len - 4);
        advance(len);
        return body;
    }
}
