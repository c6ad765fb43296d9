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
 * status, requests owed a ReadyForQuery, protocol flags, every tracked parameter, pool
 * statistics (on {@code stats} rows), and what a connection holds (in base64): bytes received
 * and not yet processed or sent on ({@code buffered}), bytes its peer has not taken yet
 * ({@code unsent}), and how much of a large message is still to pass on raw. Columns are matched by name on reading, so rows from
 * PgBouncer (15 columns) and pgloom read the same way. Immutable.
 */
public record FdRow(int fd, String task, String user, String database, String addr, int port, long cancel, int link,
        String clientEncoding, String stdStrings, String datestyle, String timezone, String password,
        byte[] scramClientKey, byte[] scramServerKey, long id, long connectTime, String txStatus, String pending,
        String flags, String params, String stats, String prepared, String buffered, String unsent, long passThrough) {

    static final String PGBOUNCER_TYPES = "issssiqisssssbb";
    static final List<String> PGBOUNCER_COLUMNS = List.of("fd", "task", "user", "database", "addr", "port", "cancel", "link",
            "client_encoding", "std_strings", "datestyle", "timezone", "password", "scram_client_key", "scram_server_key");
    static final String EXTRA_TYPES = "qqssssssssq";
    static final List<String> EXTRA_COLUMNS =
            List.of("pgloom_id", "pgloom_connect_time", "pgloom_tx_status", "pgloom_pending", "pgloom_flags", "pgloom_params",
                    "pgloom_stats", "pgloom_prepared", "pgloom_buffered", "pgloom_unsent", "pgloom_pass_through");

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
                    prepared, buffered, unsent, Long.toString(passThrough)));
        }
        MessageBuilder b = new MessageBuilder(256);
        BackendMessages.dataRow(b, v);
        return b.toArray();
    }

    private static String hex(byte[] b) {
        return b == null ? null : "\\x" + HexFormat.of().formatHex(b);
    }

    /** Every column this class knows, PgBouncer's first: the slots {@link #decode} fills. */
    private static final List<String> ALL_COLUMNS;

    static {
        List<String> all = new ArrayList<>(PGBOUNCER_COLUMNS);
        all.addAll(EXTRA_COLUMNS);
        ALL_COLUMNS = List.copyOf(all);
    }

    /** For each column of a SHOW FDS result, its slot in {@link #ALL_COLUMNS}, or -1 when unknown. */
    record Columns(int[] slots) {
    }

    /** Reads the columns of a RowDescription body. */
    static Columns columns(byte[] body) {
        BodyReader r = new BodyReader(body, "RowDescription");
        int n = r.int16();
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) {
            slots[i] = ALL_COLUMNS.indexOf(r.cstring());
            r.bytes(18);
        }
        return new Columns(slots);
    }

    /** Reads a DataRow body against the columns (missing ones are NULL, unknown ones skipped). */
    static FdRow decode(byte[] buf, int offset, int length, Columns columns) {
        BodyReader r = new BodyReader(buf, offset, length, "DataRow");
        int n = r.int16();
        String[] v = new String[ALL_COLUMNS.size()];
        int[] slots = columns.slots();
        for (int i = 0; i < n; i++) {
            int len = r.int32();
            if (len == -1) {
                continue;
            }
            if (i < slots.length && slots[i] >= 0) {
                v[slots[i]] = r.utf8(len);
            } else {
                r.skip(len);
            }
        }
        String task = v[1];
        if (task == null) {
            throw new ProtocolViolationException("SHOW FDS row without task");
        }
        return new FdRow(integer(v[0]), task, v[2], v[3], v[4], integer(v[5]), unsigned(v[6]), integer(v[7]), v[8], v[9],
                v[10], v[11], v[12], bytea(v[13]), bytea(v[14]), unsigned(v[15]), unsigned(v[16]), v[17], v[18], v[19],
                v[20], v[21], v[22], v[23], v[24], unsigned(v[25]));
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

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static boolean plain(int u) {
        return u > 0x20 && u < 0x7f && u != '%' && u != '&' && u != '=';
    }

    private static String escape(String s) {
        int i = 0;
        while (i < s.length() && plain(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            int u = c & 0xff;
            if (plain(u)) {
                b.append((char) u);
            } else {
                b.append('%').append(HEX[u >> 4]).append(HEX[u & 0xf]);
            }
        }
        return b.toString();
    }

    private static String unescape(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
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
