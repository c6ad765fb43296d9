package io.pgloom.takeover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.ProtocolViolationException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SHOW FDS rows: what a pgloom or a PgBouncer sends is read back column by column name. */
class FdRowTest {

    private static FdRow sample() {
        return new FdRow(17, "server", "app", "db1", "127.0.0.1", 5432, 0xfedcba9876543210L, 12, "UTF8", "on", "ISO, MDY",
                "Etc/UTC", null, new byte[] {1, 2, 3}, null, 42, 1_700_000_000_000L, "T", "QS", "extended,copy_in",
                "a=b%20c", "1,2,3", "7,8", "aGVsbG8=", "d29ybGQ=", 123_456);
    }

    /** The RowDescription body as the reader sees it. */
    private static byte[] description(boolean extended) {
        MessageBuilder b = new MessageBuilder();
        FdRow.describe(b, extended);
        byte[] m = b.toArray();
        return Arrays.copyOfRange(m, 5, m.length);
    }

    private static FdRow roundTrip(FdRow row, boolean extended) {
        byte[] m = row.encode(extended);
        return FdRow.decode(m, 5, m.length - 5, FdRow.columns(description(extended)));
    }

    @Test
    void pgloomColumnsRoundTrip() {
        FdRow row = sample();
        FdRow back = roundTrip(row, true);
        assertThat(back).usingRecursiveComparison().isEqualTo(row);
    }

    @Test
    void pgbouncerColumnsLeavePgloomsEmpty() {
        FdRow back = roundTrip(sample(), false);
        assertThat(back.fd()).isEqualTo(17);
        assertThat(back.cancel()).isEqualTo(0xfedcba9876543210L);
        assertThat(back.datestyle()).isEqualTo("ISO, MDY");
        assertThat(back.scramClientKey()).containsExactly(1, 2, 3);
        assertThat(back.id()).isZero();
        assertThat(back.txStatus()).isNull();
        assertThat(back.buffered()).isNull();
        assertThat(back.unsent()).isNull();
        assertThat(back.passThrough()).isZero();
    }

    @Test
    void unknownAndMissingColumnsAreTolerated() {
        List<BackendMessages.Column> cols = new ArrayList<>();
        cols.add(new BackendMessages.Column("task", 25, -1));
        cols.add(new BackendMessages.Column("some_future_column", 25, -1));
        cols.add(new BackendMessages.Column("fd", 23, 4));
        MessageBuilder d = new MessageBuilder();
        BackendMessages.rowDescription(d, cols);
        byte[] desc = d.toArray();
        MessageBuilder r = new MessageBuilder();
        BackendMessages.dataRow(r, Arrays.asList("client", "whatever", "9"));
        byte[] m = r.toArray();
        FdRow row = FdRow.decode(m, 5, m.length - 5, FdRow.columns(Arrays.copyOfRange(desc, 5, desc.length)));
        assertThat(row.task()).isEqualTo("client");
        assertThat(row.fd()).isEqualTo(9);
        assertThat(row.user()).isNull();
    }

    @Test
    void aRowWithoutTaskIsRefused() {
        FdRow row = new FdRow(1, null, null, null, null, 0, 0, 0, null, null, null, null, null, null, null, 0, 0, null, null,
                null, null, null, null, null, null, 0);
        assertThatThrownBy(() -> roundTrip(row, true)).isInstanceOf(ProtocolViolationException.class);
    }

    @Test
    void parametersSurviveEscaping() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("DateStyle", "ISO, MDY");
        p.put("application_name", "a&b=c%d ü");
        p.put("TimeZone", "Europe/Berlin");
        String text = FdRow.encodeParams(p);
        assertThat(text).doesNotContain(" ").contains("TimeZone=Europe/Berlin");
        assertThat(FdRow.decodeParams(text)).containsExactlyEntriesOf(p);
    }
}
