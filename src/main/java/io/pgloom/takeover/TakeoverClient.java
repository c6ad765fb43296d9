package io.pgloom.takeover;

import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.net.epoll.EpollTransport;
import io.pgloom.net.epoll.EpollWire;
import io.pgloom.proto.BackendTag;
import io.pgloom.proto.ErrorFields;
import io.pgloom.proto.FrontendMessages;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.PeerClosedException;
import io.pgloom.proto.ProtocolViolationException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The new process's side of a takeover, in PgBouncer's wire sequence: connect to the old
 * process's unix socket, log in to its console as {@code pgbouncer} (admitted by OS user), send
 * {@code SUSPEND;}, then {@code SHOW FDS;} read only with {@code recvmsg} so no descriptor is
 * lost, and finally {@code SHUTDOWN;} and wait for the old process to be gone. Any failure before
 * SHUTDOWN just closes the link, and the old process resumes by itself. Works against pgloom and
 * PgBouncer alike. Runs on the main thread, sequentially.
 */
public final class TakeoverClient {
    /**
     * The largest SHOW FDS row read: a row carries, besides its columns, what a connection had
     * buffered (at most a few of its buffers, in base64).
     */
    private static final int MAX_ROW_SIZE = 256 << 20;

    private final Path socket;
    private EpollWire wire;
    private MessageStream in;

    private TakeoverClient(Path socket, EpollWire wire) {
        this.socket = socket;
        this.wire = wire;
        this.in = new MessageStream(wire, 8192, 1 << 20);
    }

    /** What the old process handed over: its rows and, in row order, the received descriptors. */
    public record Handover(List<FdRow> rows, Map<FdRow, Integer> fds, TakeoverClient link, long suspendMillis,
            long showFdsMillis, long suspendStartNanos) {
    }

    /**
     * Connects to the old process; null when nothing answers on its socket (start normally).
     */
    public static TakeoverClient connect(Path socket) throws IOException {
        if (!Files.exists(socket)) {
            return null;
        }
        Wire w;
        try {
            w = EpollTransport.get().connect(UnixDomainSocketAddress.of(socket), 0);
        } catch (IOException e) {
            return null;
        }
        return new TakeoverClient(socket, (EpollWire) w);
    }

    /** Login, SUSPEND and SHOW FDS. */
    public Handover takeSockets() throws IOException {
        FdPassing.init();
        if (!login(Successor.NAME)) {
            // PgBouncer, or a pgloom that does not know this name and would take us for PgBouncer
            Log.log("the old process does not carry partial state; logging in again as " + Successor.WAITS_NAME);
            wire.close();
            wire = (EpollWire) EpollTransport.get().connect(UnixDomainSocketAddress.of(socket), 0);
            in = new MessageStream(wire, 8192, 1 << 20);
            login(Successor.WAITS_NAME);
        }
        Log.log("login OK, sending SUSPEND");
        long start = System.nanoTime();
        simpleQuery("SUSPEND;", "SUSPEND");
        long suspendMillis = (System.nanoTime() - start) / 1_000_000;
        Log.log("SUSPEND finished, sending SHOW FDS");
        if (in.available() != 0) {
            throw new ProtocolViolationException("unexpected data after SUSPEND");
        }
        MessageBuilder q = new MessageBuilder();
        FrontendMessages.query(q, "SHOW FDS;");
        wire.write(q.buffer());
        return readFds(suspendMillis, start);
    }

    /** Logs in to the console; returns whether the old process acknowledged {@link Successor#NAME}. */
    private boolean login(String applicationName) throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "pgbouncer");
        p.put("database", "pgbouncer");
        p.put("application_name", applicationName);
        boolean acknowledged = false;
        MessageBuilder m = new MessageBuilder();
        FrontendMessages.startup(m, p);
        wire.write(m.buffer());
        while (true) {
            in.nextMessage(1 << 16);
            byte tag = in.tag();
            if (tag == BackendTag.ERROR_RESPONSE) {
                throw new IOException("old process refused the login: " + error());
            }
            if (tag == BackendTag.AUTHENTICATION && in.body("auth").int32() != BackendTag.AUTH_OK) {
                throw new IOException("old process asks for a password: the new process must run as the same OS user");
            }
            if (tag == BackendTag.PARAMETER_STATUS
                    && in.body("ParameterStatus").cstring().equals(Successor.ACK_PARAMETER)) {
                acknowledged = true;
            }
            in.consume();
            if (tag == BackendTag.READY_FOR_QUERY) {
                return acknowledged;
            }
        }
    }

    private void simpleQuery(String sql, String expectedTag) throws IOException {
        MessageBuilder m = new MessageBuilder();
        FrontendMessages.query(m, sql);
        wire.write(m.buffer());
        boolean ok = false;
        while (true) {
            in.nextMessage(1 << 16);
            byte tag = in.tag();
            if (tag == BackendTag.ERROR_RESPONSE) {
                throw new IOException(sql + " failed: " + error());
            }
            if (tag == BackendTag.COMMAND_COMPLETE) {
                ok = in.body("CommandComplete").cstring().startsWith(expectedTag);
            }
            in.consume();
            if (tag == BackendTag.READY_FOR_QUERY) {
                if (!ok) {
                    throw new IOException(sql + " was not completed");
                }
                return;
            }
        }
    }

    private String error() {
        return ErrorFields.parse(in.array(), in.bodyOffset(), in.bodyLength()).message();
    }

    /**
     * Reads SHOW FDS with recvmsg only, pairing received descriptors with rows in order: each
     * descriptor arrives with the first byte of its row, so it is queued by the time its row is
     * whole.
     */
    private Handover readFds(long suspendMillis, long suspendStartNanos) throws IOException {
        ArrayDeque<Integer> fds = new ArrayDeque<>();
        List<FdRow> rows = new ArrayList<>();
        Map<FdRow, Integer> fdOf = new java.util.IdentityHashMap<>();
        FdRow.Columns columns = null;
        long start = System.nanoTime();
        try (FdPassing.Receiver receiver = new FdPassing.Receiver(wire, fds)) {
            MessageStream rowStream = new MessageStream(receiver, 64 * 1024, MAX_ROW_SIZE);
            while (true) {
                try {
                    rowStream.nextMessage(MAX_ROW_SIZE);
                } catch (PeerClosedException e) {
                    throw new IOException("old process closed the connection during SHOW FDS");
                }
                byte tag = rowStream.tag();
                byte[] buf = rowStream.array();
                int offset = rowStream.bodyOffset();
                int length = rowStream.bodyLength();
                switch (tag) {
                    case BackendTag.ROW_DESCRIPTION ->
                        columns = FdRow.columns(java.util.Arrays.copyOfRange(buf, offset, offset + length));
                    case BackendTag.DATA_ROW -> {
                        if (columns == null) {
                            throw new ProtocolViolationException("SHOW FDS row before its description");
                        }
                        FdRow row = FdRow.decode(buf, offset, length, columns);
                        rows.add(row);
                        if (carriesFd(row)) {
                            Integer fd = fds.pollFirst();
                            if (fd == null) {
                                throw new IOException("got row without fd info");
                            }
                            fdOf.put(row, fd);
                        }
                    }
                    case BackendTag.ERROR_RESPONSE ->
                        throw new IOException("SHOW FDS failed: " + ErrorFields.parse(buf, offset, length).message());
                    case BackendTag.READY_FOR_QUERY -> {
                        if (!fds.isEmpty()) {
                            throw new IOException("got " + fds.size() + " descriptors without rows");
                        }
                        long millis = (System.nanoTime() - start) / 1_000_000;
                        Log.log("SHOW FDS finished: " + rows.size() + " rows, " + fdOf.size() + " descriptors in " + millis
                                + " ms");
                        return new Handover(rows, fdOf, this, suspendMillis, millis, suspendStartNanos);
                    }
                    default -> {
                    }
                }
                rowStream.consume();
            }
        }
    }

    private static boolean carriesFd(FdRow row) {
        return row.task().equals("pooler") || row.task().equals("client") || row.task().equals("server");
    }

    /**
     * SHUTDOWN: the old process exits without answering; wait for the end of its connection and
     * for its pidfile (if any) to disappear.
     */
    public void finish(String oldPidfile) throws IOException {
        Log.log("sending SHUTDOWN;");
        MessageBuilder m = new MessageBuilder();
        FrontendMessages.query(m, "SHUTDOWN;");
        wire.write(m.buffer());
        byte[] sink = new byte[256];
        try {
            while (wire.read(sink, 0, sink.length) >= 0) {
                // the old process sends nothing more; EOF means it has exited
            }
        } catch (IOException e) {
            // a reset also means it is gone
        }
        wire.close();
        if (oldPidfile != null && !oldPidfile.isEmpty()) {
            Path p = Path.of(oldPidfile);
            if (Files.exists(p)) {
                Log.log("waiting for old pidfile to go away");
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (Files.exists(p) && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(20_000_000L);
                }
                if (Files.exists(p)) {
                    throw new IOException("old pidfile " + oldPidfile + " is still there after 30 s");
                }
            }
        }
        Log.log("old process killed, resuming work");
    }

    /** Gives up: the old process resumes when it sees the link close. */
    public void abandon() {
        wire.close();
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
