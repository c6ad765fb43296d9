package io.pgloom.net.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The little DER needed to turn PKCS#1 and SEC1 private keys into PKCS#8: reading a TLV, its
 * children and an OBJECT IDENTIFIER, and writing a TLV. Pure functions over byte arrays; no
 * indefinite lengths (DER has none), lengths beyond the input are errors.
 */
final class Der {
    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int OCTET_STRING = 0x04;
    static final int NULL = 0x05;
    static final int OID = 0x06;
    static final int SEQUENCE = 0x30;
    /** The context-specific constructed tag [0], as SEC1 uses for the curve parameters. */
    static final int CONTEXT_0 = 0xa0;

    private Der() {
    }

    /** One element: its tag and where its value lies in {@code data}. */
    record Tlv(int tag, byte[] data, int start, int end) {
        byte[] value() {
            byte[] v = new byte[end - start];
            System.arraycopy(data, start, v, 0, v.length);
            return v;
        }

        /** The elements inside a constructed value. */
        List<Tlv> children() throws IOException {
            List<Tlv> out = new ArrayList<>();
            int pos = start;
            while (pos < end) {
                Tlv t = read(data, pos, end);
                out.add(t);
                pos = t.end;
            }
            return out;
        }
    }

    /** Reads the whole of {@code data} as one element (trailing bytes are an error). */
    static Tlv parse(byte[] data) throws IOException {
        Tlv t = read(data, 0, data.length);
        if (t.end != data.length) {
            throw new IOException("trailing bytes after the DER structure");
        }
        return t;
    }

    /** Reads the element starting at {@code pos}; its {@link Tlv#end} is where the next one starts. */
    static Tlv read(byte[] data, int pos, int limit) throws IOException {
        if (limit - pos < 2) {
            throw new IOException("truncated DER structure");
        }
        int tag = data[pos] & 0xff;
        if ((tag & 0x1f) == 0x1f) {
            throw new IOException("unsupported multi-byte DER tag");
        }
        int first = data[pos + 1] & 0xff;
        int p = pos + 2;
        long length;
        if (first < 0x80) {
            length = first;
        } else {
            int n = first & 0x7f;
            if (n == 0 || n > 4 || limit - p < n) {
                throw new IOException("bad DER length");
            }
            length = 0;
            for (int i = 0; i < n; i++) {
                length = (length << 8) | (data[p++] & 0xff);
            }
        }
        if (length > limit - p) {
            throw new IOException("DER length beyond the end of the data");
        }
        return new Tlv(tag, data, p, p + (int) length);
    }

    /** Encodes one element. */
    static byte[] encode(int tag, byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else if (length < 0x100) {
            out.write(0x81);
            out.write(length);
        } else if (length < 0x10000) {
            out.write(0x82);
            out.write(length >>> 8);
            out.write(length);
        } else {
            out.write(0x84);
            out.write(length >>> 24);
            out.write(length >>> 16);
            out.write(length >>> 8);
            out.write(length);
        }
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** The element re-encoded, tag and length included (DER has one encoding per value). */
    static byte[] reencode(Tlv t) {
        return encode(t.tag(), t.value());
    }

    /** Dotted text of an OBJECT IDENTIFIER element. */
    static String oidText(Tlv t) throws IOException {
        if (t.tag != OID || t.end == t.start) {
            throw new IOException("expected an OBJECT IDENTIFIER");
        }
        StringBuilder sb = new StringBuilder();
        long value = 0;
        boolean first = true;
        for (int i = t.start; i < t.end; i++) {
            int b = t.data[i] & 0xff;
            if (value > (Long.MAX_VALUE >>> 7)) {
                throw new IOException("OBJECT IDENTIFIER component too large");
            }
            value = (value << 7) | (b & 0x7f);
            if ((b & 0x80) == 0) {
                if (first) {
                    long a = Math.min(value / 40, 2);
                    sb.append(a).append('.').append(value - 40 * a);
                    first = false;
                } else {
                    sb.append('.').append(value);
                }
                value = 0;
            }
        }
        if ((t.data[t.end - 1] & 0x80) != 0) {
            throw new IOException("truncated OBJECT IDENTIFIER");
        }
        return sb.toString();
    }

    /** Encodes a dotted OBJECT IDENTIFIER. */
    static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        base128(body, Long.parseLong(parts[0]) * 40 + Long.parseLong(parts[1]));
        for (int i = 2; i < parts.length; i++) {
            base128(body, Long.parseLong(parts[i]));
        }
        return encode(OID, body.toByteArray());
    }

    private static void base128(ByteArrayOutputStream out, long v) {
        int groups = 1;
        for (long x = v >>> 7; x != 0; x >>>= 7) {
            groups++;
        }
        for (int g = groups - 1; g >= 0; g--) {
            int b = (int) ((v >>> (7 * g)) & 0x7f);
            out.write(g == 0 ? b : b | 0x80);
        }
    }
}
