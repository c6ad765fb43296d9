package io.pgloom.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A logged-in raw protocol session on {@link RawPg} (trust auth only), for what drivers do not
 * expose: any startup parameters, the ParameterStatus values of the welcome, the BackendKeyData
 * (to send a CancelRequest whenever the test says), and one-value simple queries.
 *
 * <p>Not thread-safe: one thread per session.
 */
final class RawSession implements AutoCloseable {

    private static final int CANCEL_REQUEST_CODE = 80877102;

    private final RawPg raw;
    private final Map<String, String> welcome;
    private final int pid;
    private final int key;

    private RawSession(RawPg raw, Map<String, String> welcome, int pid, int key) {
        this.raw = raw;
        this.welcome = welcome;
        this.pid = pid;
        this.key = key;
    }

    /** Logs in with {@code user}, {@code database} and {@code params} in the StartupMessage. */
    static RawSession login(PgloomProcess pgloom, String db, String user, Map<String, String> params) throws IOException {
        RawPg raw = RawPg.connect(pgloom, Duration.ofSeconds(20));
        try {
            Map<String, String> startup = new LinkedHashMap<>();
            startup.put("user", user);
            startup.put("database", db);
            startup.putAll(params);
            raw.send(RawPg.startupPacket(startup));
            List<RawPg.Message> got = raw.readUntil('Z');
            Map<String, String> welcome = new LinkedHashMap<>();
            int pid = 0;
            int key = 0;
            boolean keyed = false;
            for (RawPg.Message m : got) {
                switch (m.tag()) {
                    case 'E' -> throw new AssertionError("login refused: " + m);
                    case 'S' -> {
                        String[] kv = cstrings(m.body(), 2);
                        welcome.put(kv[0], kv[1]);
                    }
                    case 'K' -> {
                        ByteBuffer b = ByteBuffer.wrap(m.body());
                        pid = b.getInt();
                        key = b.getInt();
                        keyed = true;
                    }
                    default -> {
                    }
                }
            }
            if (!keyed) {
                throw new AssertionError("no BackendKeyData in " + got);
            }
            return new RawSession(raw, welcome, pid, key);
        } catch (IOException | RuntimeException | AssertionError e) {
            raw.close();
            throw e;
        }
    }

    /** The ParameterStatus values pgloom sent at login. */
    Map<String, String> welcome() {
        return welcome;
    }

    /**
     * One simple Query; returns the first column of its only DataRow (the last DataRow when the
     * query has several statements).
     *
     * @throws AssertionError on an ErrorResponse or when no row came back
     */
    String value(String sql) throws IOException {
        List<RawPg.Message> got = exchange(sql);
        String value = null;
        for (RawPg.Message m : got) {
            if (m.tag() == 'D') {
                value = firstColumn(m.body());
            }
        }
        if (value == null) {
            throw new AssertionError("no row for " + sql + ": " + got);
        }
        return value;
    }

    /** One simple Query that returns no rows (SET, BEGIN). */
    void exec(String sql) throws IOException {
        exchange(sql);
    }

    private List<RawPg.Message> exchange(String sql) throws IOException {
        raw.send(RawPg.query(sql));
        List<RawPg.Message> got = raw.readUntil('Z');
        for (RawPg.Message m : got) {
            if (m.tag() == 'E') {
                throw new AssertionError("error for " + sql + ": " + m + " in " + got);
            }
        }
        return got;
    }

    /** The underlying raw connection, for reads and writes of the test's own. */
    RawPg raw() {
        return raw;
    }

    /**
     * Sends a CancelRequest with this session's key on a new connection to pgloom, and returns
     * once pgloom closes that connection (it never answers a cancel otherwise).
     */
    void sendCancel(PgloomProcess pgloom) throws IOException {
        sendCancel(pgloom, pid, key);
    }

    /** The BackendKeyData pgloom sent at login: process id (high 32 bits) and secret key. */
    long cancelKey() {
        return (long) pid << 32 | (key & 0xffffffffL);
    }

    /** Sends a CancelRequest with any key, as {@link #sendCancel(PgloomProcess)}. */
    static void sendCancel(PgloomProcess pgloom, int pid, int key) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", pgloom.port()), 5000);
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(ByteBuffer.allocate(16).putInt(16).putInt(CANCEL_REQUEST_CODE).putInt(pid).putInt(key).array());
            out.flush();
            InputStream in = s.getInputStream();
            int b = in.read();
            if (b != -1) {
                throw new AssertionError("pgloom answered a cancel request with byte " + b + " instead of closing");
            }
        }
    }

    /** The first column of a DataRow body, as text (null for SQL NULL). */
    static String firstColumn(byte[] dataRow) {
        ByteBuffer b = ByteBuffer.wrap(dataRow);
        b.getShort();
        int len = b.getInt();
        if (len < 0) {
            return null;
        }
        byte[] value = new byte[len];
        b.get(value);
        return new String(value, StandardCharsets.UTF_8);
    }

    private static String[] cstrings(byte[] body, int n) {
        String[] out = new String[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            int end = at;
            while (body[end] != 0) {
                end++;
            }
            out[i] = new String(body, at, end - at, StandardCharsets.UTF_8);
            at = end + 1;
        }
        return out;
    }

    @Override
    public void close() {
        raw.close();
    }
}
