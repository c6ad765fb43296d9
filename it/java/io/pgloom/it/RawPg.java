package io.pgloom.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A raw protocol-v3 client on a plain {@link Socket}, for sending bytes no driver would send
 * (garbage, bad lengths, half messages) and reading what comes back. Only trust logins (the
 * pooler must not ask for a password). Every read is bounded by the socket's SO_TIMEOUT, so a
 * test never hangs on a silent peer.
 *
 * <p>Not thread-safe: one test thread per instance.
 */
final class RawPg implements AutoCloseable {

    /** A backend message: its type byte and body. */
    record Message(char tag, byte[] body) {

        /** The {@code M} (message) field of an ErrorResponse/NoticeResponse, or "". */
        String errorMessage() {
            return field('M');
        }

        /** The {@code C} (SQLSTATE) field of an ErrorResponse/NoticeResponse, or "". */
        String sqlState() {
            return field('C');
        }

        private String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (end < body.length && body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return "";
        }

        @Override
        public String toString() {
            return tag == 'E' || tag == 'N' ? tag + "(" + sqlState() + " " + errorMessage() + ")" : tag + "[" + body.length + "]";
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawPg(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to pgloom over TCP; reads time out after {@code readTimeout}. */
    static RawPg connect(PgloomProcess pgloom, Duration readTimeout) {
        try {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", pgloom.port()), 5000);
            s.setSoTimeout((int) readTimeout.toMillis());
            s.setTcpNoDelay(true);
            return new RawPg(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Speaks the protocol over a socket opened elsewhere (a TLS socket, {@link TlsProbe}). */
    static RawPg over(Socket socket) {
        try {
            return new RawPg(socket);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Connects and logs in (trust) as {@code user} to {@code db}; returns once ReadyForQuery arrived. */
    static RawPg login(PgloomProcess pgloom, String db, String user) {
        RawPg raw = connect(pgloom, Duration.ofSeconds(10));
        try {
            raw.send(startupPacket(Map.of("user", user, "database", db)));
            List<Message> welcome = raw.readUntil('Z');
            if (welcome.stream().noneMatch(m -> m.tag() == 'R')) {
                throw new AssertionError("no AuthenticationOk in " + welcome);
            }
            return raw;
        } catch (IOException e) {
            raw.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | AssertionError e) {
            raw.close();
            throw e;
        }
    }

    /** The local port of this socket: the {@code @127.0.0.1:<port>} of pgloom's log lines for it. */
    int localPort() {
        return socket.getLocalPort();
    }

    /** The {@code @127.0.0.1:<port> } part of pgloom's log prefix for this client. */
    String logAddress() {
        return "@127.0.0.1:" + localPort() + " ";
    }

    /**
     * The socket's input, for a test that parses a long stream itself (a bulk read through a
     * buffer of its own). RawPg reads exactly each message and buffers nothing, so switching to
     * this stream between messages loses no byte.
     */
    InputStream inputStream() {
        return in;
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Half-closes the sending side (the peer reads EOF) without closing the socket. */
    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /** Reads one backend message. */
    Message read() throws IOException {
        DataInputStream data = new DataInputStream(in);
        int tag = data.read();
        if (tag < 0) {
            throw new EOFException("connection closed by pgloom");
        }
        int len = data.readInt();
        if (len < 4 || len > 64 * 1024 * 1024) {
            throw new IOException("bad length " + len + " for message '" + (char) tag + "'");
        }
        byte[] body = new byte[len - 4];
        data.readFully(body);
        return new Message((char) tag, body);
    }

    /** Reads messages up to and including the first one with {@code tag}. */
    List<Message> readUntil(char tag) throws IOException {
        List<Message> got = new ArrayList<>();
        while (true) {
            Message m = read();
            got.add(m);
            if (m.tag() == tag) {
                return got;
            }
        }
    }

    /**
     * Reads everything until pgloom closes the connection and returns the messages seen (an
     * unparseable tail is dropped).
     *
     * @throws AssertionError when the connection is still open after the read timeout
     */
    List<Message> readUntilClosed() throws IOException {
        List<Message> got = new ArrayList<>();
        while (true) {
            try {
                got.add(read());
            } catch (EOFException e) {
                return got;
            } catch (SocketTimeoutException e) {
                throw new AssertionError("pgloom kept the connection open; read so far: " + got, e);
            } catch (IOException e) {
                // A reset after pgloom's close is a close too.
                if (isReset(e)) {
                    return got;
                }
                throw e;
            }
        }
    }

    private static boolean isReset(IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase();
        return m.contains("reset") || m.contains("broken pipe") || m.contains("closed");
    }

    /**
     * Waits until pgloom closes the connection, ignoring whatever bytes come first (for answers
     * to garbage that need not be protocol messages).
     *
     * @return the bytes received before the close
     * @throws AssertionError when the connection is still open after the read timeout
     */
    byte[] drainUntilClosed() throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (true) {
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("pgloom kept the connection open; got " + got.size() + " bytes", e);
            } catch (IOException e) {
                if (isReset(e)) {
                    return got.toByteArray();
                }
                throw e;
            }
            if (n < 0) {
                return got.toByteArray();
            }
            got.write(buf, 0, n);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing a test socket; nothing to do
        }
    }

    // *** Message builders ***

    /** A protocol 3.0 StartupMessage with these parameters. */
    static byte[] startupPacket(Map<String, String> params) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> e : new LinkedHashMap<>(params).entrySet()) {
            body.writeBytes(cstring(e.getKey()));
            body.writeBytes(cstring(e.getValue()));
        }
        body.write(0);
        ByteBuffer b = ByteBuffer.allocate(8 + body.size());
        b.putInt(8 + body.size()).putInt(196608).put(body.toByteArray());
        return b.array();
    }

    /** A typed message {@code tag} with this body and its correct length. */
    static byte[] message(char tag, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) tag).putInt(4 + body.length).put(body).array();
    }

    /** A simple Query message. */
    static byte[] query(String sql) {
        return message('Q', cstring(sql));
    }

    /** A typed message header with an arbitrary (possibly lying) length and no body. */
    static byte[] header(char tag, int length) {
        return ByteBuffer.allocate(5).put((byte) tag).putInt(length).array();
    }

    static byte[] cstring(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
