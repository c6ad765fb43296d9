package io.pgloom.admin;

import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.MessageBuilder;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Builds an admin console result as PgBouncer's {@code pktbuf_write_RowDescription} types it:
 * {@code s} text, {@code i} int4, {@code q} int8 (unsigned), {@code N} numeric, {@code b} bytea
 * ({@code \x} hex), {@code T} a timestamp sent as text. Rows are added as Java values; null is
 * SQL NULL. Confined to the console thread.
 */
public final class ResultSet {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z").withZone(ZoneId.systemDefault());

    private final String[] names;
    private final char[] types;
    private final List<String[]> rows = new ArrayList<>();

    /**
     * @param types one PgBouncer type code per column, e.g. {@code "ssiq"}
     * @param names the column names
     */
    public ResultSet(String types, String... names) {
        if (types.length() != names.length) {
            throw new IllegalArgumentException("types and names differ in length");
        }
        this.types = types.toCharArray();
        this.names = names;
    }

    /** Adds a row; values are formatted by column type (numbers, byte[] for bytea, epoch millis for T). */
    public ResultSet row(Object... values) {
        if (values.length != names.length) {
            throw new IllegalArgumentException("row has " + values.length + " values for " + names.length + " columns");
        }
        String[] out = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = format(types[i], values[i]);
        }
        rows.add(out);
        return this;
    }

    private static String format(char type, Object v) {
        if (v == null) {
            return null;
        }
        return switch (type) {
            case 'b' -> v instanceof byte[] bytes ? "\\x" + HexFormat.of().formatHex(bytes) : v.toString();
            case 'T' -> v instanceof Long millis ? (millis == 0 ? null : TIME.format(Instant.ofEpochMilli(millis))) : v.toString();
            case 'q', 'N' -> v instanceof Long l ? Long.toUnsignedString(l) : v.toString();
            default -> v.toString();
        };
    }

    public int size() {
        return rows.size();
    }

    /** RowDescription, the DataRows and CommandComplete {@code SHOW}. */
    public void writeTo(MessageBuilder out) {
        List<BackendMessages.Column> cols = new ArrayList<>(names.length);
        for (int i = 0; i < names.length; i++) {
            cols.add(column(names[i], types[i]));
        }
        BackendMessages.rowDescription(out, cols);
        for (String[] r : rows) {
            BackendMessages.dataRow(out, Arrays.asList(r));
        }
        BackendMessages.commandComplete(out, "SHOW");
    }

    static BackendMessages.Column column(String name, char type) {
        return switch (type) {
            case 'i' -> new BackendMessages.Column(name, 23, 4);
            case 'q' -> new BackendMessages.Column(name, 20, 8);
            case 'N' -> new BackendMessages.Column(name, 1700, -1);
            case 'b' -> new BackendMessages.Column(name, 17, -1);
            case 's', 'T' -> new BackendMessages.Column(name, 25, -1);
            default -> throw new IllegalArgumentException("unknown column type " + type);
        };
    }
}
