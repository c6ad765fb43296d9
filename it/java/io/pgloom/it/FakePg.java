package io.pgloom.it;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tiny raw-socket "PostgreSQL" on 127.0.0.1 that misbehaves on purpose, for the server side of
 * the hardening tests: pgloom logs in to it like to any server, and a {@link Script} decides what
 * it answers (an overlong SCRAM message, an ErrorResponse without SQLSTATE, a lying length). An
 * SSLRequest is answered {@code N}. The script is chosen by the database name pgloom asks for, so
 * one fake serves several pgloom databases. Every read has a timeout, so a script never hangs.
 *
 * <p>Thread-safe; one virtual thread accepts, one runs each connection's script.
 */
final class FakePg implements AutoCloseable {

    /** What the fake does with one connection after reading its StartupMessage. */
    @FunctionalInterface
    interface Script {
        void run(Conn conn) throws IOException;
    }

    /** One connection from pgloom, seen from the fake server. */
    static final class Conn {
        private final Socket socket;
        private final DataInputStream in;
        private final OutputStream out;
        private final Map<String, String> startup;

        private Conn(Socket socket, DataInputStream in, Map<String, String> startup) throws IOException {
            this.socket = socket;
            this.in = in;
            this.out = socket.getOutputStream();
            this.startup = startup;
        }

        Map<String, String> startup() {
            return startup;
        }

        void send(byte[]... messages) throws IOException {
            for (byte[] m : messages) {
                out.write(m);
            }
            out.flush();
        }

        /** Reads one typed message from pgloom: its tag and body. */
        RawPg.Message read() throws IOException {
            int tag = in.read();
            if (tag < 0) {
                throw new EOFException("pgloom closed the connection");
            }
            int len = in.readInt();
            if (len < 4 || len > 1 << 20) {
                throw new IOException("bad length " + len);
            }
            byte[] body = new byte[len - 4];
            in.readFully(body);
            return new RawPg.Message((char) tag, body);
        }

        /** Waits until pgloom closes the connection (a read timeout fails the script). */
        void awaitClose() throws IOException {
            try {
                while (in.read() >= 0) {
                    // discard: a Terminate, or nothing
                }
            } catch (IOException e) {
                if (!String.valueOf(e.getMessage()).toLowerCase().contains("reset")) {
                    throw e;
                }
            }
        }
    }

    private final ServerSocket listener;
    private final Map<String, Script> scripts;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Set<String> failures = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private FakePg(ServerSocket listener, Map<String, Script> scripts) {
        this.listener = listener;
        this.scripts = scripts;
    }

    /** Starts a fake answering each database name with its script. */
    static FakePg start(Map<String, Script> scriptsByDatabase) {
        try {
            ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            FakePg fake = new FakePg(listener, Map.copyOf(scriptsByDatabase));
            Thread.ofVirtual().name("fake-pg-accept").start(fake::acceptLoop);
            return fake;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Problems a script ran into (an unexpected message from pgloom), for the test to assert none. */
    Set<String> failures() {
        return failures;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = listener.accept();
                sockets.add(s);
                Thread.ofVirtual().name("fake-pg-conn").start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            Map<String, String> startup = readStartup(in, s.getOutputStream());
            Script script = scripts.get(startup.get("database"));
            if (script == null) {
                failures.add("no script for database " + startup.get("database"));
                return;
            }
            script.run(new Conn(s, in, startup));
        } catch (IOException e) {
            if (!closed) {
                failures.add(e.toString());
            }
        } finally {
            sockets.remove(s);
        }
    }

    /** The StartupMessage's parameters, after answering any SSLRequest with N. */
    private static Map<String, String> readStartup(DataInputStream in, OutputStream out) throws IOException {
        while (true) {
            int len = in.readInt();
            if (len < 8 || len > 10_000) {
                throw new IOException("bad startup length " + len);
            }
            byte[] body = new byte[len - 4];
            in.readFully(body);
            int code = ByteBuffer.wrap(body).getInt();
            if (code == 80877103) { // SSLRequest
                out.write('N');
                out.flush();
                continue;
            }
            Map<String, String> params = new LinkedHashMap<>();
            int pos = 4;
            while (pos < body.length && body[pos] != 0) {
                int k = pos;
                while (body[pos] != 0) {
                    pos++;
                }
                String key = new String(body, k, pos - k, StandardCharsets.UTF_8);
                int v = ++pos;
                while (body[pos] != 0) {
                    pos++;
                }
                params.put(key, new String(body, v, pos - v, StandardCharsets.UTF_8));
                pos++;
            }
            return params;
        }
    }

    // *** Backend messages ***

    /** Authentication request {@code code} followed by {@code data}. */
    static byte[] auth(int code, byte[] data) {
        return RawPg.message('R', ByteBuffer.allocate(4 + data.length).putInt(code).put(data).array());
    }

    /** AuthenticationSASL offering SCRAM-SHA-256. */
    static byte[] authSasl() {
        return auth(10, RawPg.concat(RawPg.cstring("SCRAM-SHA-256"), new byte[] {0}));
    }

    static byte[] authSaslContinue(String data) {
        return auth(11, data.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] authSaslFinal(String data) {
        return auth(12, data.getBytes(StandardCharsets.UTF_8));
    }

    /** AuthenticationOk, a few ParameterStatus, BackendKeyData, ReadyForQuery: a logged-in session. */
    static byte[] welcome() {
        return RawPg.concat(auth(0, new byte[0]),
                parameterStatus("server_version", "15.0"), parameterStatus("client_encoding", "UTF8"),
                parameterStatus("DateStyle", "ISO, MDY"), parameterStatus("TimeZone", "UTC"),
                parameterStatus("standard_conforming_strings", "on"), parameterStatus("integer_datetimes", "on"),
                RawPg.message('K', ByteBuffer.allocate(8).putInt(4242).putInt(1).array()), readyForQuery());
    }

    static byte[] parameterStatus(String name, String value) {
        return RawPg.message('S', RawPg.concat(RawPg.cstring(name), RawPg.cstring(value)));
    }

    static byte[] readyForQuery() {
        return RawPg.message('Z', new byte[] {'I'});
    }

    /** An ErrorResponse with exactly these fields (code letter, value), in order: no SQLSTATE unless given. */
    static byte[] error(String... codesAndValues) {
        byte[][] parts = new byte[codesAndValues.length / 2 * 2 + 1][];
        int i = 0;
        for (int f = 0; f < codesAndValues.length; f += 2) {
            parts[i++] = new byte[] {(byte) codesAndValues[f].charAt(0)};
            parts[i++] = RawPg.cstring(codesAndValues[f + 1]);
        }
        parts[i] = new byte[] {0};
        return RawPg.message('E', RawPg.concat(parts));
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing a test listener
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // closing a test socket
            }
        }
    }
}
