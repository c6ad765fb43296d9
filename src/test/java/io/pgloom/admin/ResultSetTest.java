package io.pgloom.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.MessageBuilder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for admin console results, written by hand from PgBouncer's
 * {@code pktbuf_write_RowDescription} / {@code pktbuf_write_DataRow}: every column has table OID
 * 0, column number 0, its type OID and length, typmod -1 and text format; values are text, NULL
 * is length -1.
 */
class ResultSetTest {

    /** Hex groups, or text when a part starts with a single quote. */
    private static byte[] bytes(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String p : parts) {
            if (p.startsWith("'")) {
                out.writeBytes(p.substring(1).getBytes(StandardCharsets.UTF_8));
            } else {
                out.writeBytes(HexFormat.of().parseHex(p.replaceAll("\\s+", "")));
            }
        }
        return out.toByteArray();
    }

    private static byte[] encode(ResultSet rs) {
        MessageBuilder b = new MessageBuilder(16);
        rs.writeTo(b);
        return b.toArray();
    }

    private static final byte[] COMMAND_COMPLETE_SHOW = bytes("43 00000009", "'SHOW", "00");

    @Test
    void textAndInt4ColumnsWithOneRow() {
        byte[] got = encode(new ResultSet("si", "list", "items").row("pools", 3));
        byte[] expected = bytes(
                // RowDescription: length 4 + 2 + ("list\0" 5 + 18) + ("items\0" 6 + 18) = 53
                "54 00000035 0002",
                "'list", "00", "00000000 0000 00000019 ffff ffffffff 0000",
                "'items", "00", "00000000 0000 00000017 0004 ffffffff 0000",
                // DataRow: length 4 + 2 + (4 + 5) + (4 + 1) = 20
                "44 00000014 0002", "00000005", "'pools", "00000001", "'3");
        assertThat(got).isEqualTo(concat(expected, COMMAND_COMPLETE_SHOW));
    }

    @Test
    void nullIsLengthMinusOneAndNoRowsIsJustTheHeader() {
        byte[] got = encode(new ResultSet("s", "host").row((Object) null));
        assertThat(got).isEqualTo(concat(bytes("54 0000001d 0001", "'host", "00",
                "00000000 0000 00000019 ffff ffffffff 0000", "44 0000000a 0001 ffffffff"), COMMAND_COMPLETE_SHOW));

        byte[] empty = encode(new ResultSet("s", "host"));
        assertThat(empty).isEqualTo(concat(bytes("54 0000001d 0001", "'host", "00",
                "00000000 0000 00000019 ffff ffffffff 0000"), COMMAND_COMPLETE_SHOW));
    }

    @Test
    void byteaIsBackslashXLowerHexAndNumericAndInt8AreUnsignedDecimal() {
        byte[] got = encode(new ResultSet("bNq", "k", "n", "c")
                .row(new byte[] {0x00, (byte) 0xAB, 0x7f}, 12345678901L, -1L));
        byte[] expected = bytes(
                "54 00000042 0003",
                "'k", "00", "00000000 0000 00000011 ffff ffffffff 0000",
                "'n", "00", "00000000 0000 000006a4 ffff ffffffff 0000",
                "'c", "00", "00000000 0000 00000014 0008 ffffffff 0000",
                // DataRow: 4 + 2 + (4 + 8) + (4 + 11) + (4 + 20) = 57
                "44 00000039 0003", "00000008", "'\\x00ab7f", "0000000b", "'12345678901", "00000014",
                "'18446744073709551615");
        assertThat(got).isEqualTo(concat(expected, COMMAND_COMPLETE_SHOW));
    }

    @Test
    void timestampsAreTextInLocalTimeAndZeroIsNull() {
        long millis = 1_795_000_000_123L;
        String text = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z").withZone(ZoneId.systemDefault())
                .format(Instant.ofEpochMilli(millis));
        assertThat(text).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+");
        byte[] got = encode(new ResultSet("TT", "a", "b").row(millis, 0L));
        byte[] value = text.getBytes(StandardCharsets.UTF_8);
        byte[] header = bytes("54 0000002e 0002", "'a", "00", "00000000 0000 00000019 ffff ffffffff 0000",
                "'b", "00", "00000000 0000 00000019 ffff ffffffff 0000");
        MessageBuilder row = new MessageBuilder(64);
        row.begin((byte) 'D').int16(2).int32(value.length).bytes(value).int32(-1).end();
        assertThat(got).isEqualTo(concat(concat(header, row.toArray()), COMMAND_COMPLETE_SHOW));
    }

    @Test
    void rowsMustMatchTheColumns() {
        assertThatThrownBy(() -> new ResultSet("ss", "one")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ResultSet("ss", "a", "b").row("x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encode(new ResultSet("x", "a"))).isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
