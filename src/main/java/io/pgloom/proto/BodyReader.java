package io.pgloom.proto;

import java.nio.charset.StandardCharsets;

/**
 * Reads the fields of one message body, bounded to that body: reading past its end or a string
 * without a terminator is a {@link ProtocolViolationException}, never an index error.
 * Confined to one thread.
 */
public final class BodyReader {
    private final byte[] buf;
    private final String what;
    private int pos;
    private final int end;

    /** @param what the message's name, for error texts ("StartupMessage") */
    public BodyReader(byte[] buf, int offset, int length, String what) {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
        this.what = what;
    }

    public BodyReader(byte[] body, String what) {
        this(body, 0, body.length, what);
    }

    public int remaining() {
        return end - pos;
    }

    public int int8() {
        need(1);
        return buf[pos++] & 0xff;
    }

    public int int16() {
        need(2);
        int v = (buf[pos] & 0xff) << 8 | (buf[pos + 1] & 0xff);
        pos += 2;
        return v;
    }

    public int int32() {
        need(4);
        int v = MessageBuilder.getInt(buf, pos);
        pos += 4;
        return v;
    }

    public byte[] bytes(int n) {
        if (n < 0) {
            throw new ProtocolViolationException("invalid length in " + what);
        }
        need(n);
        byte[] out = new byte[n];
        System.arraycopy(buf, pos, out, 0, n);
        pos += n;
        return out;
    }

    /** The next {@code n} bytes as UTF-8 text. */
    public String utf8(int n) {
        if (n < 0) {
            throw new ProtocolViolationException("invalid length in " + what);
        }
        need(n);
        String s = new String(buf, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    /** Passes over {@code n} bytes. */
    public void skip(int n) {
        if (n < 0) {
            throw new ProtocolViolationException("invalid length in " + what);
        }
        need(n);
        pos += n;
    }

    /** A NUL-terminated string, decoded as UTF-8. */
    public String cstring() {
        int i = pos;
        while (i < end && buf[i] != 0) {
            i++;
        }
        if (i >= end) {
            throw new ProtocolViolationException("unterminated string in " + what);
        }
        String s = new String(buf, pos, i - pos, StandardCharsets.UTF_8);
        pos = i + 1;
        return s;
    }

    private void need(int n) {
        if (end - pos < n) {
            throw new ProtocolViolationException("truncated " + what);
        }
    }
}
