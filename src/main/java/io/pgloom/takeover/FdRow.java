package io.pgloom.takeover;

import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.BodyReader;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.ProtocolViolationException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One row of SHOW FDS: PgBouncer's 15 columns ({@code fd task user database addr port cancel link
 * client_encoding std_strings datestyle timezone password scram_client_key scram_server_key}),
 * then, for a pgloom successor only, pgloom's own columns: the id, connect time, transaction
 * status, requests owed a ReadyForQuery, protocol flags, every tracked parameter, and pool
 * statistics (on {@code stats} rows). Columns are matched by name on reading, so rows from
 * PgBouncer (15 columns) and pgloom read the same way. Immutable.
 */
public record FdRow(int fd, String task, String user, String database, String addr, int port, long cancel, int link,
        String clientEncoding, String stdStrings, String datestyle, String timezone, String password,
        byte[] scramClientKey, byte[] scramServerKey, long id, long connectTime, String txStatus, String pending,
        String flags, String params, String stats, String prepared, String buffered) {

    static final String PGBOUNCER_TYPES = "issssiqisssssbb";
    static final List<String> PGBOUNCER_COLUMNS = List.of("fd", "task", "user", "database", "addr", "port", "cancel", "link",
            "client_encoding", "std_strings", "datestyle", "timezone", "password", "scram_client_key", "scram_server_key");
    static final String EXTRA_TYPES = "qqsssssss";
    static final List<String> EXTRA_COLUMNS =
            List.of("pgloom_id", "pgloom_connect_time", "pgloom_tx_status", "pgloom_pending", "pgloom_flags", "pgloom_params",
                    "pgloom_stats", "pgloom_prepared", "pgloom_buffered");

    /** RowDescription: PgBouncer's columns, plus pgloom's when {@code extended}. */
    static void describe(MessageBuilder out, boolean extended) {
        List<BackendMessages.Column> cols = new ArrayList<>();
        addColumns(cols, PGBOUNCER_COLUMNS, PGBOUNCER_TYPES);
        if (extended) {
            addColumns(cols, EXTRA_COLUMNS, EXTRA_TYPES);
        }
        BackendMessages.rowDescription(out, cols);
    }

    private static void addColumns(List<BackendMessages.Column> cols, List<String> names, String types) {
        for (int i = 0; i < names.size(); i++) {
            cols.add(switch (types.charAt(i)) {
                case 'i' -> new BackendMessages.Column(names.get(i), 23, 4);
                case 'q' -> new BackendMessages.Column(names.get(i), 20, 8);
                case 'b' -> new BackendMessages.Column(names.get(i), 17, -1);
                default -> new BackendMessages.Column(names.get(i), 25, -1);
            });
        }
    }

    /** This row as one DataRow message. */
    byte[] encode(boolean extended) {
        List<String> v = new ArrayList<>(Arrays.asList(Integer.toString(fd), task, user, database, addr, Integer.toString(port),
                Long.toUnsignedString(cancel), Integer.toString(link), clientEncoding, stdStrings, datestyle, timezone, password,
                hex(scramClientKey), hex(scramServerKey)));
        if (extended) {
            v.addAll(Arrays.asList(Long.toString(id), Long.toString(connectTime), txStatus, pending, flags, params, stats,
                    prepared, buffered));
        }
        MessageBuilder b = new MessageBuilder(256);
        BackendMessages.dataRow(b, v);
        return b.toArray();
    }

    private static String hex(byte[] b) {
        return b == null ? null : "\\x" + HexFormat.of().formatHex(b);
    }

    /** Reads the column names of a RowDescription body. */
    static List<String> columnNames(byte[] body) {
        BodyReader r = new BodyReader(body, "RowDescription");
        int n = r.int16();
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            names.add(r.cstring());
            r.bytes(18);
        }
        return names;
    }

    /** Reads a DataRow body against the column names. */
    static FdRow decode(byte[] body, List<String> names) {
        BodyReader r = new BodyReader(body, "DataRow");
        int n = r.int16();
        Map<String, String> v = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            int len = r.int32();
            String value = len < 0 ? null : new String(r.bytes(len), StandardCharsets.UTF_8);
            if (i < names.size()) {
                v.put(names.get(i), value);
            }
        }
        String task = v.get("task");
        if (task == null) {
            throw new ProtocolViolationException("SHOW FDS row without task");
        }
        return new FdRow(integer(v.get("fd")), task, v.get("user"), v.get("database"), v.get("addr"), integer(v.get("port")),
                unsigned(v.get("cancel")), integer(v.get("link")), v.get("client_encoding"), v.get("std_strings"),
                v.get("datestyle"), v.get("timezone"), v.get("password"), bytea(v.get("scram_client_key")),
                bytea(v.get("scram_server_key")), unsigned(v.get("pgloom_id")), unsigned(v.get("pgloom_connect_time")),
                v.get("pgloom_tx_status"), v.get("pgloom_pending"), v.get("pgloom_flags"), v.get("pgloom_params"),
                v.get("pgloom_stats"), v.get("pgloom_prepared"), v.get("pgloom_buffered"));
    }

    private static int integer(String s) {
        try {
            return s == null || s.isEmpty() ? 0 : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new ProtocolViolationException("bad integer in SHOW FDS: " + s);
        }
    }

    private static long unsigned(String s) {
        try {
            return s == null || s.isEmpty() ? 0 : Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            throw new ProtocolViolationException("bad number in SHOW FDS: " + s);
        }
    }

    private static byte[] bytea(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        if (!s.startsWith("\\x")) {
            throw new ProtocolViolationException("bad bytea in SHOW FDS");
        }
        try {
            return HexFormat.of().parseHex(s.substring(2));
        } catch (IllegalArgumentException e) {
            throw new ProtocolViolationException("bad bytea in SHOW FDS");
        }
    }

    /** Tracked parameters as {@code name=value&...} with %-escapes. */
    static String encodeParams(Map<String, String> params) {
        StringBuilder b = new StringBuilder();
        params.forEach((k, val) -> {
            if (val != null) {
                if (!b.isEmpty()) {
                    b.append('&');
                }
                b.append(escape(k)).append('=').append(escape(val));
            }
        });
        return b.toString();
    }

    static Map<String, String> decodeParams(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        if (s == null || s.isEmpty()) {
            return out;
        }
        for (String pair : s.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(unescape(pair.substring(0, eq)), unescape(pair.substring(eq + 1)));
            }
        }
        return out;
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            int u = c & 0xff;
            if (u > 0x20 && u < 0x7f && u != '%' && u != '&' && u != '=') {
                b.append((char) u);
            } else {
                b.append('%').append(String.format("%02x", u));
            }
        }
        return b.toString();
    }

    private static String unescape(String s) {
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(in.length);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '%' && i + 2 < in.length) {
                out.write(Integer.parseInt(new String(in, i + 1, 2, StandardCharsets.US_ASCII), 16));
                i += 2;
            } else {
                out.write(in[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
