package io.pgloom.proto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds protocol messages into a growable byte array: {@code begin(tag)}, fields, {@code end()}
 * back-patches the length. Several messages may be built one after another and sent with one
 * write. Confined to one thread.
 */
public final class MessageBuilder {
    private byte[] buf;
    private int pos;
    private int start = -1;

    public MessageBuilder() {
        this(256);
    }

    public MessageBuilder(int capacity) {
        this(new byte[capacity]);
    }

    /** A builder writing into {@code buf} (a pooled buffer, say) until it outgrows it. */
    public MessageBuilder(byte[] buf) {
        this.buf = buf;
    }

    /** Starts a typed message. */
    public MessageBuilder begin(byte tag) {
        ensure(5);
        buf[pos++] = tag;
        start = pos;
        pos += 4;
        return this;
    }

    /** Starts an untyped message (startup packet, SSLRequest, CancelRequest). */
    public MessageBuilder beginUntyped() {
        ensure(4);
        start = pos;
        pos += 4;
        return this;
    }

    public MessageBuilder int8(int v) {
        ensure(1);
        buf[pos++] = (byte) v;
        return this;
    }

    public MessageBuilder int16(int v) {
        ensure(2);
        buf[pos++] = (byte) (v >>> 8);
        buf[pos++] = (byte) v;
        return this;
    }

    public MessageBuilder int32(int v) {
        ensure(4);
        putInt(buf, pos, v);
        pos += 4;
        return this;
    }

    /** A NUL-terminated UTF-8 string (ASCII is copied without an intermediate array). */
    public MessageBuilder cstring(String s) {
        int n = s.length();
        ensure(n + 1);
        byte[] b = buf;
        int p = pos;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                return bytes(s.getBytes(StandardCharsets.UTF_8)).int8(0);
            }
            b[p + i] = (byte) c;
        }
        b[p + n] = 0;
        pos = p + n + 1;
        return this;
    }

    public MessageBuilder bytes(byte[] b) {
        return bytes(b, 0, b.length);
    }

    public MessageBuilder bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, pos, len);
        pos += len;
        return this;
    }

    public MessageBuilder end() {
        putInt(buf, start, pos - start);
        start = -1;
        return this;
    }

    public int size() {
        return pos;
    }

    public MessageBuilder clear() {
        pos = 0;
        start = -1;
        return this;
    }

    /** The internal array (the built bytes are at [0, size)); valid until the builder is reused. */
    public byte[] array() {
        return buf;
    }

    public byte[] toArray() {
        return Arrays.copyOf(buf, pos);
    }

    /** A buffer over the built bytes (not a copy; valid until the builder is reused). */
    public ByteBuffer buffer() {
        return ByteBuffer.wrap(buf, 0, pos);
    }

    private void ensure(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }

    static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    public static int getInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }
}
