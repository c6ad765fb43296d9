package io.pgloom.server;

import io.pgloom.config.General;
import io.pgloom.config.PoolMode;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.pool.ServerState;
import io.pgloom.pool.UserEntry;
import io.pgloom.proto.BackendTag;
import io.pgloom.proto.ErrorFields;
import io.pgloom.proto.FrontendMessages;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.PeerClosedException;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.SqlState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One connection to PostgreSQL, and its virtual thread {@code S-0x<id>}, the only reader of the
 * socket. The thread logs in ({@link ServerLogin}), then reads whole buffers of server messages
 * and forwards them to the linked client with one write, looking only at message headers and at
 * the few messages pooling needs: ReadyForQuery, ParameterStatus, CopyIn/CopyBoth, and, for
 * pooler-internal queries, ErrorResponse.
 *
 * <p>The link state (linked client, outstanding requests, transaction status) is guarded by
 * {@link #linkLock}; clients add requests through {@link #enqueue} before writing them, and the
 * server thread pops them after forwarding the responses. The server goes back to the pool only
 * when the last ReadyForQuery said idle, nothing is outstanding, no extended-protocol message is
 * waiting for a Sync, the client is not in COPY, and everything has been written to the client.
 */
public final class ServerConnection extends PoolEntry implements Runnable {
    private final long id;
    private final Pool pool;
    private final PoolRegistry registry;
    private final Database database;
    private final UserEntry user;
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private long connectEpochMillis = System.currentTimeMillis();
    private final ParamCache params;
    private volatile Wire wire;
    private MessageStream in;
    private volatile String prefix;
    private volatile long backendKey;
    private volatile boolean loggedIn;

    private final ReentrantLock linkLock = new ReentrantLock();
    private volatile LinkedClient client;
    private final RequestQueue pending = new RequestQueue();
    private boolean extendedOpen;
    private boolean copyIn;
    private byte txStatus = 'I';
    private volatile InternalQuery internal;
    private boolean pinned;
    private volatile boolean special;
    /** Set while a poller thread does this connection's work (nothing may block). */
    private boolean inline;
    /** Work an inline pass left for this connection's thread, which runs it first. */
    private io.pgloom.net.InlineWork.Deferred deferred;
    private volatile boolean fakesWaiting;
    private final io.pgloom.prepared.ServerStatements statements;
    private final MessageBuilder scratch = new MessageBuilder(512);
    private volatile long linkedSinceNanos;
    private volatile long lastUsedEpochMillis;
    private volatile long lastResponseNanos;
    private volatile long queryStartNanos;
    private volatile long xactStartNanos;
    private volatile Thread thread;

    // Output SUSPEND stopped and the rest of a large message: server thread only, read by SHOW FDS
    // once the thread is parked (the park orders the writes before the reads).
    /** Bytes for {@link #unsentTo} its socket has not taken yet: SUSPEND stopped the write. */
    private byte[] unsent;
    private LinkedClient unsentTo;
    /** The responses written last let the server go back to the pool, once {@link #unsent} is gone. */
    private boolean releaseWhenSent;
    /** Bytes of a message larger than the buffer still to pass raw to {@link #passTo}. */
    private int passThrough;
    private LinkedClient passTo;
    /** {@link #stopWriting()}, made once: a write to the client gives up when it says so. */
    private final java.util.function.BooleanSupplier stopWriting = this::stopWriting;

    public ServerConnection(long id, Pool pool, PoolRegistry registry, Database database, UserEntry user, long now,
            long lifetimeNanos) {
        super(now, lifetimeNanos);
        this.id = id;
        this.pool = pool;
        this.registry = registry;
        this.database = database;
        this.user = user;
        this.params = new ParamCache(registry.tracked());
        this.statements = new io.pgloom.prepared.ServerStatements(registry.statements());
        this.prefix = String.format("S-0x%x: %s/%s@", id, pool.key().database(), pool.key().user());
    }

    @Override
    public long id() {
        return id;
    }

    public Pool pool() {
        return pool;
    }

    public String logPrefix() {
        return prefix;
    }

    public long backendKey() {
        return backendKey;
    }

    public ParamCache params() {
        return params;
    }

    public Wire wire() {
        return wire;
    }

    public long connectEpochMillis() {
        return connectEpochMillis;
    }

    public LinkedClient linkedClient() {
        return client;
    }

    // ------------------------------------------------------------------ the thread

    @Override
    public void run() {
        serve(true);
    }

    /** Runs a server connection taken over from another process: logged in already. */
    public void runAdopted() {
        serve(false);
    }

    /**
     * A server connection handed over by another process, with its backend key, the parameters
     * it reported, and where it was in the request/response stream.
     */
    public void adopt(Wire w, long key, java.util.Map<String, String> reported, byte tx, String owed, String flags,
            long connectedAt) {
        setWireDuringLogin(w);
        Values g = registry.general();
        in = new MessageStream(w, g.get(General.PKT_BUF), g.get(General.MAX_PACKET_SIZE));
        backendKey = key;
        reported.forEach(params::set);
        txStatus = tx;
        if (owed != null) {
            pending.addText(owed);
        }
        special = pending.hasSpecial();
        extendedOpen = flags != null && flags.contains("extended");
        copyIn = flags != null && flags.contains("copy_in");
        if (connectedAt > 0) {
            connectEpochMillis = connectedAt;
        }
        loggedIn = true;
    }

    /**
     * What a taken-over server held in the old process: received bytes not processed yet (a
     * partial message), output its client had not read yet, and how much of a large message was
     * still to pass on.
     */
    public void adoptCarried(byte[] buffered, byte[] output, long rest, boolean releaseAfterOutput) {
        if (rest < 0 || rest > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pass-through " + rest);
        }
        if (buffered != null) {
            in.prefill(buffered);
        }
        unsent = output;
        releaseWhenSent = output != null && releaseAfterOutput;
        passThrough = (int) rest;
    }

    /** Links a taken-over server to the client it served in the old process. */
    public void linkAdopted(LinkedClient c) {
        client = c;
        if (unsent != null) {
            unsentTo = c;
        }
        if (passThrough > 0) {
            passTo = c;
        }
    }

    /** What SUSPEND left this server holding, for the successor; only while its thread is parked. */
    public record Carried(byte[] buffered, byte[] unsent, long passThrough, boolean releaseWhenSent) {
        public static final Carried NONE = new Carried(null, null, 0, false);
    }

    public Carried carried() {
        LinkedClient c = client;
        byte[] out = unsent != null && unsentTo == c ? unsent : null;
        byte[] buffered = in == null || in.available() == 0 ? null
                : java.util.Arrays.copyOfRange(in.array(), in.start(), in.end());
        return new Carried(buffered, out, passTo == c ? passThrough : 0, out != null && releaseWhenSent);
    }

    private void serve(boolean doLogin) {
        String failure = null;
        thread = Thread.currentThread();
        try {
            if (doLogin) {
                if (!login()) {
                    return;
                }
                loggedIn = true;
                pool.serverLoggedIn(this, welcomeParameters);
                welcomeParameters = null;
            }
            readLoop();
        } catch (PeerClosedException e) {
            failure = closeReason.get() != null ? null : "server conn crashed?";
        } catch (ProtocolViolationException e) {
            failure = e.getMessage();
        } catch (IOException e) {
            failure = closeReason.get() != null ? null : "server conn crashed?";
        } catch (RuntimeException | Error e) {
            Log.bug(prefix + "server thread failed", e);
            failure = "internal error";
        } finally {
            finish(failure);
        }
    }

    private java.util.Map<String, String> welcomeParameters;

    private boolean login() throws IOException {
        ServerLogin login = new ServerLogin(this, registry, database, user, pool);
        ServerLogin.Result r = login.run();
        if (r.wire() != null) {
            wire = r.wire();
            prefix = String.format("S-0x%x: %s/%s@%s ", id, pool.key().database(), pool.key().user(), wire.remoteText());
        }
        if (!r.ok()) {
            if (closeReason.compareAndSet(null, r.closeReason())) {
                String error = r.clientError();
                if ("login failed".equals(r.closeReason()) && error != null) {
                    // as PgBouncer's kill_pool_logins_server_error: the server's own text, once
                    Log.warning(prefix + (error.startsWith("server login failed") ? error : "server login failed: " + error));
                }
                logClose(r.closeReason());
            }
            if (r.wire() != null) {
                r.wire().close();
            }
            pool.serverLoginFailed(this, r.clientError(), r.sqlState());
            return false;
        }
        in = r.stream();
        backendKey = r.backendKey();
        welcomeParameters = r.parameters();
        for (var e : r.parameters().entrySet()) {
            params.set(e.getKey(), e.getValue());
        }
        if (closeReason.get() != null) {
            wire.close();
            pool.serverLoginFailed(this, "server connection closed during login", SqlState.CONNECTION_FAILURE);
            return false;
        }
        return true;
    }

    void setWireDuringLogin(Wire w) {
        wire = w;
        prefix = String.format("S-0x%x: %s/%s@%s ", id, pool.key().database(), pool.key().user(), w.remoteText());
        if (closeReason.get() != null) {
            w.close();
        }
    }

    private void finish(String failure) {
        if (failure != null && closeReason.compareAndSet(null, failure)) {
            logClose(failure);
        }
        Wire w = wire;
        if (w != null) {
            w.close();
        }
        InternalQuery iq = internal;
        if (iq != null) {
            internal = null;
            iq.complete("server connection closed");
        }
        LinkedClient c;
        linkLock.lock();
        try {
            c = client;
            client = null;
        } finally {
            linkLock.unlock();
        }
        if (c != null) {
            c.serverFailed(closeReason.get(), SqlState.PROTOCOL_VIOLATION);
        }
        statements.clear();
        if (loggedIn) {
            pool.serverClosed(this);
        }
    }

    /**
     * Reads, passes on the rest of a large message, handles whole messages. SUSPEND parks the
     * thread at the top of the loop once this server's pool may stop: at a message boundary with
     * nothing buffered, or, when the successor carries what a server holds, at any point there
     * (then a write to a client that does not read gives up too, see {@link #deliver}).
     */
    private void readLoop() throws IOException {
        io.pgloom.net.Suspension suspension = registry.suspension();
        in.setInterruptible(true);
        if (wire instanceof io.pgloom.net.epoll.EpollWire ew && registry.general().get(General.POLLER_INLINE)) {
            ew.inlineReader(this::runInline);
        }
        boolean readFirst = in.available() == 0;
        while (true) {
            runDeferred();
            if (fakesWaiting) {
                emitLeadingFakes();
            }
            if (unsent != null && !stopWriting()) {
                sendUnsent();
            }
            if (suspension.requested() && pool.serversSuspending() && mayPark(suspension)) {
                suspension.park(this);
                continue;
            }
            if (readFirst) {
                try {
                    if (passThrough > 0 || unsent != null) {
                        // in the middle of a message: an inline pass would take data for headers
                        in.fill();
                    } else if (!in.fillIdle()) {
                        readFirst = false; // an inline pass handed over: its leftovers come first
                        continue;
                    }
                } catch (io.pgloom.net.ReadInterruptedException e) {
                    continue;
                }
                lastResponseNanos = registry.clock().nanos();
            }
            readFirst = true;
            if (passThrough > 0) {
                passOn();
                if (in.available() == 0) {
                    continue;
                }
            }
            if (special) {
                processTracked();
            } else {
                processBuffer();
            }
        }
    }

    private void runDeferred() throws IOException {
        io.pgloom.net.InlineWork.Deferred d = deferred;
        if (d != null) {
            deferred = null;
            d.run();
        }
    }

    /**
     * The poller's pass over this server's responses while its thread waits idle: the common
     * case (whole messages, fast path, the client's socket taking the bytes) is handled right
     * there; anything that could block hands over to the thread.
     */
    private int runInline() {
        return inlinePass() ? io.pgloom.net.epoll.EpollWire.InlineReader.DONE : io.pgloom.net.epoll.EpollWire.InlineReader.HAND_OVER;
    }

    private boolean inlinePass() {
        if (special || internal != null || fakesWaiting || deferred != null || unsent != null || passThrough > 0
                || registry.suspension().requested()) {
            return false;
        }
        io.pgloom.net.epoll.EpollWire ew = (io.pgloom.net.epoll.EpollWire) wire;
        inline = true;
        try {
            while (true) {
                int n = in.fillNow();
                if (n < 0) {
                    return false;
                }
                if (n > 0) {
                    lastResponseNanos = registry.clock().nanos();
                    processBuffer();
                    if (deferred != null || unsent != null || passThrough > 0
                            || ((special || internal != null) && in.available() > 0)) {
                        return false;
                    }
                }
                if (registry.suspension().requested()) {
                    return false; // SUSPEND: the thread decides where to stop; no further read here
                }
                if (ew.drainedNow()) {
                    in.release();
                    return true;
                }
            }
        } catch (io.pgloom.net.InlineWork.NeedThread e) {
            return false;
        } catch (IOException | RuntimeException | Error e) {
            deferred = io.pgloom.net.InlineWork.then(deferred, io.pgloom.net.InlineWork.failure(e));
            return false;
        } finally {
            inline = false;
        }
    }

    /** Inside an inline pass: stop here, before something that could block; the thread redoes it. */
    private void needThread() {
        if (inline) {
            throw io.pgloom.net.InlineWork.NEED_THREAD;
        }
    }

    /** Whether SUSPEND may stop this thread now (its pool's servers are stopping). */
    private boolean mayPark(io.pgloom.net.Suspension suspension) {
        if (internal != null || fakesWaiting) {
            return false;
        }
        return suspension.carries() || (in.available() == 0 && passThrough == 0 && unsent == null);
    }

    /** A write to a client blocked by SUSPEND stops, leaving the rest for the successor. */
    private boolean stopWriting() {
        io.pgloom.net.Suspension s = registry.suspension();
        return s.requested() && s.carries() && pool.serversSuspending();
    }

    /**
     * Writes to the client, in order after anything still unsent; what the client's socket does
     * not take before SUSPEND stops the write, or at once in an inline pass (which must not wait),
     * is kept in {@link #unsent} for this connection's thread.
     */
    private void deliver(LinkedClient c, byte[] b, int off, int len) throws IOException {
        if (len <= 0) {
            return;
        }
        if (unsent != null) {
            if (unsentTo == c) {
                byte[] more = java.util.Arrays.copyOf(unsent, unsent.length + len);
                System.arraycopy(b, off, more, unsent.length, len);
                unsent = more;
                return;
            }
            dropUnsent();
        }
        int n = inline ? c.trySendFromServer(b, off, len) : c.sendFromServer(b, off, len, stopWriting);
        if (n < len) {
            unsent = java.util.Arrays.copyOfRange(b, off + n, off + len);
            unsentTo = c;
        }
    }

    /** Writes what SUSPEND left unsent (after RESUME, or in the process that took over). */
    private void sendUnsent() {
        byte[] b = unsent;
        LinkedClient to = unsentTo;
        boolean release = releaseWhenSent;
        if (to == null || client != to) {
            dropUnsent();
            return;
        }
        unsent = null;
        releaseWhenSent = false;
        try {
            deliver(to, b, 0, b.length);
        } catch (IOException e) {
            // the client went away; its own thread decides about this server
            return;
        }
        if (unsent != null) {
            releaseWhenSent = release;
        } else if (release) {
            finishResponses(to, true);
        }
    }

    /** The client the unsent bytes were for is gone: so are they. */
    private void dropUnsent() {
        unsent = null;
        unsentTo = null;
        releaseWhenSent = false;
    }

    /** Passes what is buffered of the rest of a large message on to the client. */
    private void passOn() {
        int n = Math.min(passThrough, in.available());
        forward(passTo, in.array(), in.start(), in.start() + n);
        in.advance(n);
        passThrough -= n;
        if (passThrough == 0) {
            passTo = null;
        }
    }

    /**
     * Handles every whole message in the buffer, forwarding runs of them with one write. The link
     * state (answered requests, transaction status) is updated before the bytes go out, so a
     * client that leaves the moment it has its answer finds the server between transactions; the
     * server goes back to the pool only after everything was written to the client.
     */
    private void processBuffer() throws IOException {
        byte[] b = in.array();
        int pos = in.start();
        int end = in.end();
        int runStart = pos;
        int ready = 0;
        byte lastStatus = 0;
        boolean copyStarted = false;
        int wantRoom = 0;
        LinkedClient c = client;
        while (end - pos >= 5) {
            byte tag = b[pos];
            int size = sizeAt(b, pos);
            if (end - pos < size) {
                if (size > in.capacity() && c != null && internal == null && !mustDecode(tag)) {
                    needThread();
                    boolean release = noteResponses(ready, ready > 0, lastStatus, copyStarted);
                    forward(c, b, runStart, end);
                    int have = end - pos;
                    in.advance(end - in.start());
                    finishResponses(c, release);
                    passThrough = size - have;
                    passTo = c;
                    return;
                }
                wantRoom = size;
                break;
            }
            InternalQuery iq = internal;
            if (iq != null) {
                needThread();
                forward(c, b, runStart, pos);
                handleInternal(iq, tag, b, pos, size);
                pos += size;
                runStart = pos;
                continue;
            }
            switch (tag) {
                case BackendTag.READY_FOR_QUERY -> {
                    if (transactionBlockInStatementMode(b[pos + 5])) {
                        needThread();
                        if (c != null) {
                            forward(c, b, runStart, pos);
                        }
                        close(STATEMENT_MODE_VIOLATION);
                        return;
                    }
                    ready++;
                    lastStatus = b[pos + 5];
                }
                case BackendTag.PARAMETER_STATUS -> parameterStatus(c, b, pos, size);
                case BackendTag.COPY_IN_RESPONSE, BackendTag.COPY_BOTH_RESPONSE -> copyStarted = true;
                case BackendTag.COMMAND_COMPLETE -> {
                    if (deallocatesAll(b, pos, size)) {
                        statementsDeallocated(c);
                    }
                }
                case BackendTag.ERROR_RESPONSE -> {
                    if (stalePlan(b, pos, size)) {
                        replaceStalePlan();
                    }
                }
                default -> {
                }
            }
            pos += size;
        }
        boolean release = (ready > 0 || copyStarted) && noteResponses(ready, ready > 0, lastStatus, copyStarted);
        if (c != null) {
            forward(c, b, runStart, pos);
        } else if (pos > runStart) {
            unsolicited(b, runStart, pos);
        }
        in.advance(pos - in.start());
        if (wantRoom > 0) {
            in.ensureRoom(wantRoom);
        }
        if (ready > 0) {
            finishResponses(c, release); // with output unsent, the server stays linked until it went
        }
    }

    /**
     * The slow path, used while the request queue holds fake, hidden or named entries: every
     * response is matched to the request it answers, so the pooler's own answers go in at the
     * right place, answers to its hidden requests are left out, and a failed Parse undoes its
     * bookkeeping. The result is written with one write.
     */
    private void processTracked() throws IOException {
        byte[] b = in.array();
        int pos = in.start();
        int end = in.end();
        int ready = 0;
        byte lastStatus = 0;
        boolean copyStarted = false;
        boolean deallocated = false;
        int wantRoom = 0;
        java.util.List<Object> failedParses = null;
        java.util.List<io.pgloom.prepared.Statement> stalePlans = null;
        java.util.List<io.pgloom.prepared.StatementRewriter.SqlRef> failedSql = null;
        LinkedClient c = client;
        if (c == null) {
            special = false;
            processBuffer();
            return;
        }
        MessageBuilder out = scratch.clear();
        while (end - pos >= 5) {
            byte tag = b[pos];
            int size = sizeAt(b, pos);
            if (end - pos < size) {
                wantRoom = size;
                break;
            }
            if (internal != null) {
                break;
            }
            boolean forward = true;
            linkLock.lock();
            try {
                if (Log.noiseEnabled()) {
                    Log.noise(prefix + "<=S " + (char) tag + " queue " + pending.text());
                }
                appendLeadingFakes(out);
                int head = pending.head();
                byte headTag = head < 0 ? 0 : RequestQueue.tag(head);
                if (tag != BackendTag.READY_FOR_QUERY && headTag == FrontendTag.QUERY && RequestQueue.isNamed(head)
                        && pending.headRef() instanceof io.pgloom.prepared.StatementRewriter.SqlRef sql) {
                    forward = sqlResponse(sql, tag, out);
                    if (tag == BackendTag.ERROR_RESPONSE) {
                        failedSql = failedSql == null ? new java.util.ArrayList<>() : failedSql;
                        failedSql.add(sql);
                        if (sql.kind == io.pgloom.prepared.SqlCommand.Kind.EXECUTE && stalePlan(b, pos, size)) {
                            stalePlans = stalePlans == null ? new java.util.ArrayList<>() : stalePlans;
                            stalePlans.add(sql.statement);
                        }
                    }
                } else switch (tag) {
                    case BackendTag.PARSE_COMPLETE, BackendTag.CLOSE_COMPLETE -> forward = !RequestQueue.isHidden(pending.pop());
                    case BackendTag.BIND_COMPLETE -> pending.pop();
                    case BackendTag.ROW_DESCRIPTION, BackendTag.NO_DATA -> {
                        if (headTag == FrontendTag.DESCRIBE) {
                            pending.pop();
                        }
                    }
                    case BackendTag.COMMAND_COMPLETE, BackendTag.EMPTY_QUERY_RESPONSE, BackendTag.PORTAL_SUSPENDED -> {
                        if (headTag == FrontendTag.EXECUTE) {
                            pending.pop();
                        }
                        deallocated |= tag == BackendTag.COMMAND_COMPLETE && deallocatesAll(b, pos, size);
                    }
                    case BackendTag.ERROR_RESPONSE -> {
                        if (head >= 0 && headTag != FrontendTag.QUERY && headTag != FrontendTag.FUNCTION_CALL
                                && headTag != FrontendTag.SYNC) {
                            int failed = pending.pop();
                            if (RequestQueue.tag(failed) == FrontendTag.PARSE && pending.lastRef() != null) {
                                failedParses = failedParses == null ? new java.util.ArrayList<>() : failedParses;
                                failedParses.add(pending.lastRef());
                            } else if (pending.lastRef() instanceof io.pgloom.prepared.Statement st && stalePlan(b, pos, size)) {
                                stalePlans = stalePlans == null ? new java.util.ArrayList<>() : stalePlans;
                                stalePlans.add(st);
                            }
                            pending.dropUntilSync();
                        }
                    }
                    case BackendTag.READY_FOR_QUERY -> {
                        pending.popReady();
                        ready++;
                        lastStatus = b[pos + 5];
                    }
                    case BackendTag.COPY_IN_RESPONSE, BackendTag.COPY_BOTH_RESPONSE -> copyStarted = true;
                    default -> {
                    }
                }
            } finally {
                linkLock.unlock();
            }
            if (tag == BackendTag.PARAMETER_STATUS) {
                parameterStatus(c, b, pos, size);
            }
            if (tag == BackendTag.READY_FOR_QUERY && transactionBlockInStatementMode(b[pos + 5])) {
                try {
                    deliver(c, out.array(), 0, out.size());
                } catch (IOException e) {
                    // the client went away; the server closes all the same
                }
                close(STATEMENT_MODE_VIOLATION);
                return;
            }
            if (forward) {
                out.bytes(b, pos, size);
            }
            if (tag == BackendTag.READY_FOR_QUERY) {
                // the pooler's answers to requests after that Sync follow its ReadyForQuery
                linkLock.lock();
                try {
                    appendLeadingFakes(out);
                } finally {
                    linkLock.unlock();
                }
            }
            pos += size;
        }
        undoFailedParses(failedParses, c);
        undoFailedSql(failedSql, c);
        if (stalePlans != null) {
            for (io.pgloom.prepared.Statement st : stalePlans) {
                registry.statements().replace(st);
                pool.stats().planRecoveries.increment();
                Log.log(prefix + "cached plan of prepared statement " + st.serverNameText()
                        + " no longer fits: later executions use a fresh statement");
            }
        }
        if (deallocated) {
            statementsDeallocated(c);
        }
        boolean release = (ready > 0 || copyStarted) && noteResponses(0, ready > 0, lastStatus, copyStarted);
        if (c != null && out.size() > 0) {
            pool.stats().sent.add(out.size());
            try {
                deliver(c, out.array(), 0, out.size());
            } catch (IOException e) {
                // the client went away; its own thread decides about this server
            }
        }
        in.advance(pos - in.start());
        if (wantRoom > 0) {
            in.ensureRoom(wantRoom);
        }
        if (ready > 0) {
            finishResponses(c, release);
        }
        if (internal != null && in.available() > 0) {
            processBuffer();
        }
    }

    /** Pops the fake entries at the head of the queue and appends their answers. Under linkLock. */
    private void appendLeadingFakes(MessageBuilder out) {
        while (RequestQueue.isFake(pending.head())) {
            byte t = RequestQueue.tag(pending.pop());
            out.begin(t == FrontendTag.PARSE ? BackendTag.PARSE_COMPLETE : BackendTag.CLOSE_COMPLETE).end();
        }
    }

    /** Sends the fake answers now due (a client's request was answered by the pooler alone). */
    private void emitLeadingFakes() {
        fakesWaiting = false;
        MessageBuilder out = new MessageBuilder(32);
        LinkedClient c;
        linkLock.lock();
        try {
            c = client;
            appendLeadingFakes(out);
            special = pending.hasSpecial();
        } finally {
            linkLock.unlock();
        }
        if (c != null && out.size() > 0) {
            try {
                deliver(c, out.array(), 0, out.size());
            } catch (IOException e) {
                // the client went away
            }
        }
    }

    private void undoFailedParses(java.util.List<Object> failed, LinkedClient c) {
        if (failed == null) {
            return;
        }
        for (Object o : failed) {
            io.pgloom.prepared.StatementRewriter.ParseRef ref = (io.pgloom.prepared.StatementRewriter.ParseRef) o;
            statements.remove(ref.statement());
            if (ref.clientName() != null && c != null) {
                c.forgetStatement(ref.clientName(), ref.statement());
            }
        }
    }

    /**
     * One response to a rewritten SQL-level PREPARE, EXECUTE or DEALLOCATE (see
     * {@link io.pgloom.prepared.StatementRewriter.SqlRef}); returns whether to forward it as it
     * is. Under linkLock.
     */
    private boolean sqlResponse(io.pgloom.prepared.StatementRewriter.SqlRef sql, byte tag, MessageBuilder out) {
        if (tag == BackendTag.COMMAND_COMPLETE) {
            sql.completes++;
            if (sql.kind == io.pgloom.prepared.SqlCommand.Kind.EXECUTE && sql.prepares && sql.completes == 1) {
                return false; // the PREPARE put in front of the client's EXECUTE
            }
            if (sql.substitute != null) {
                out.begin(BackendTag.COMMAND_COMPLETE).bytes(sql.substitute).int8(0).end();
                if (sql.kind == io.pgloom.prepared.SqlCommand.Kind.DEALLOCATE) {
                    registry.statements().release(sql.statement);
                }
                return false;
            }
            return true;
        }
        return sql.substitute == null || (tag != BackendTag.ROW_DESCRIPTION && tag != BackendTag.DATA_ROW);
    }

    private void undoFailedSql(java.util.List<io.pgloom.prepared.StatementRewriter.SqlRef> failed, LinkedClient c) {
        if (failed == null) {
            return;
        }
        for (io.pgloom.prepared.StatementRewriter.SqlRef sql : failed) {
            if (!sql.serverStillHas()) {
                statements.remove(sql.statement);
            }
            if (c == null) {
                continue;
            }
            switch (sql.kind) {
                case PREPARE -> c.forgetStatement(sql.clientName, sql.statement);
                case DEALLOCATE -> c.restoreStatement(sql.clientName, sql.statement);
                case EXECUTE -> {
                }
            }
        }
    }

    private void statementsDeallocated(LinkedClient c) {
        statements.clear();
        if (c != null) {
            c.statementsDeallocated();
        }
    }

    /** Fast path: the statement of the oldest pending Bind is the one whose plan went stale. */
    private void replaceStalePlan() {
        io.pgloom.prepared.Statement st;
        linkLock.lock();
        try {
            st = pending.firstRef(io.pgloom.prepared.Statement.class);
        } finally {
            linkLock.unlock();
        }
        if (st != null) {
            registry.statements().replace(st);
            pool.stats().planRecoveries.increment();
            Log.log(prefix + "cached plan of prepared statement " + st.serverNameText()
                    + " no longer fits: later executions use a fresh statement");
        }
    }

    /** Whether an ErrorResponse is PostgreSQL's "cached plan must not change result type". */
    private static boolean stalePlan(byte[] b, int pos, int size) {
        ErrorFields e = ErrorFields.parse(b, pos + 5, size - 5);
        return "0A000".equals(e.sqlState()) && e.message() != null && e.message().startsWith("cached plan must not change result type");
    }

    private static final byte[] DEALLOCATE_ALL = "DEALLOCATE ALL".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DISCARD_ALL = "DISCARD ALL".getBytes(StandardCharsets.US_ASCII);

    /** Whether a CommandComplete says every prepared statement of the session is gone. */
    private static boolean deallocatesAll(byte[] b, int pos, int size) {
        int len = size - 6;
        return (len == DEALLOCATE_ALL.length && java.util.Arrays.equals(b, pos + 5, pos + 5 + len, DEALLOCATE_ALL, 0, len))
                || (len == DISCARD_ALL.length && java.util.Arrays.equals(b, pos + 5, pos + 5 + len, DISCARD_ALL, 0, len));
    }

    /** The statements this server has prepared (client pools share them through the rewriter). */
    public io.pgloom.prepared.ServerStatements statements() {
        return statements;
    }

    private static boolean mustDecode(byte tag) {
        return tag == BackendTag.PARAMETER_STATUS || tag == BackendTag.READY_FOR_QUERY
                || tag == BackendTag.COPY_IN_RESPONSE || tag == BackendTag.COPY_BOTH_RESPONSE;
    }

    /**
     * The whole size of the message at {@code pos}. A length below 4 or above max_packet_size
     * (which, as in PgBouncer, bounds result rows too) ends the connection, so a lying length can
     * neither overflow the size nor make the buffer grow without limit.
     */
    private int sizeAt(byte[] b, int pos) {
        int len = MessageBuilder.getInt(b, pos + 1);
        if (len < 4) {
            throw new ProtocolViolationException("bad pkt header");
        }
        int max = in.maxPacketSize();
        if (len > max - 1) {
            throw new ProtocolViolationException("server message too large (" + ((len & 0xffffffffL) + 1)
                    + " bytes, max_packet_size " + max + ")");
        }
        return len + 1;
    }

    /** Sends responses to the client (see {@link #deliver}). */
    private void forward(LinkedClient c, byte[] b, int from, int to) {
        if (to <= from || c == null) {
            return;
        }
        pool.stats().sent.add(to - from);
        try {
            deliver(c, b, from, to - from);
        } catch (IOException e) {
            // the client went away; its own thread notices and decides about this server
        }
    }

    private void parameterStatus(LinkedClient c, byte[] b, int pos, int size) {
        int i = pos + 5;
        int end = pos + size;
        int nameEnd = indexOfNul(b, i, end);
        int valueEnd = indexOfNul(b, nameEnd + 1, end);
        String name = new String(b, i, nameEnd - i, StandardCharsets.UTF_8);
        String value = new String(b, nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.UTF_8);
        if (params.set(name, value) && c != null) {
            c.parameterChanged(name, value);
        }
    }

    private static int indexOfNul(byte[] b, int from, int end) {
        for (int i = from; i < end; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        throw new ProtocolViolationException("bad ParameterStatus");
    }

    /** Messages while no client is linked: parameter reports and notices are fine, anything else is not. */
    private void unsolicited(byte[] b, int from, int to) {
        int pos = from;
        while (pos < to) {
            byte tag = b[pos];
            int size = sizeAt(b, pos);
            switch (tag) {
                case BackendTag.PARAMETER_STATUS -> parameterStatus(null, b, pos, size);
                case BackendTag.NOTICE_RESPONSE, BackendTag.NOTIFICATION_RESPONSE -> {
                }
                case BackendTag.ERROR_RESPONSE -> {
                    ErrorFields e = ErrorFields.parse(b, pos + 5, size - 5);
                    close(e.isFatal() ? "server conn crashed?" : "idle server got dirty");
                    return;
                }
                default -> {
                    close("idle server got dirty");
                    return;
                }
            }
            pos += size;
        }
    }

    private void handleInternal(InternalQuery iq, byte tag, byte[] b, int pos, int size) {
        switch (tag) {
            case BackendTag.PARAMETER_STATUS -> parameterStatus(null, b, pos, size);
            case BackendTag.ERROR_RESPONSE -> iq.recordError(ErrorFields.parse(b, pos + 5, size - 5));
            case BackendTag.READY_FOR_QUERY -> {
                linkLock.lock();
                try {
                    txStatus = b[pos + 5];
                } finally {
                    linkLock.unlock();
                }
                internal = null;
                iq.complete(null);
            }
            default -> {
            }
        }
    }

    /**
     * Pops the answered requests and records the transaction status; returns whether the server
     * may go back to the pool once the responses are written to the client.
     */
    private boolean noteResponses(int popCount, boolean sawReady, byte lastStatus, boolean copyStarted) {
        long queryMicros = -1;
        long xactMicros = -1;
        boolean release = false;
        PoolMode mode = pool.settings().mode();
        linkLock.lock();
        try {
            if (copyStarted) {
                copyIn = true;
                pending.dropSyncs();
            }
            for (int i = 0; i < popCount; i++) {
                pending.popReady();
            }
            special = pending.hasSpecial();
            if (sawReady) {
                txStatus = lastStatus;
                long now = lastResponseNanos;
                if (queryStartNanos != 0 && pending.isEmpty() && !extendedOpen) {
                    queryMicros = (now - queryStartNanos) / 1000;
                    queryStartNanos = 0;
                }
                if (lastStatus == 'I' && xactStartNanos != 0) {
                    xactMicros = (now - xactStartNanos) / 1000;
                    xactStartNanos = 0;
                }
                release = mode == PoolMode.STATEMENT || (mode != PoolMode.SESSION && client != null && releasableLocked() && !pinned);
            }
        } finally {
            linkLock.unlock();
        }
        io.pgloom.stats.PoolStats st = pool.stats();
        if (queryMicros >= 0) {
            st.queryCount.increment();
            st.queryTimeMicros.add(queryMicros);
        }
        if (xactMicros >= 0) {
            st.xactCount.increment();
            st.xactTimeMicros.add(xactMicros);
        }
        return release;
    }

    /**
     * After the responses were written: in statement mode a transaction block closes the server;
     * otherwise a releasable server that still serves the same client goes back to the pool.
     */
    private void finishResponses(LinkedClient c, boolean release) {
        if (!release || c == null) {
            return;
        }
        if (unsent != null) {
            // the client has not had everything yet: the server stays with it until it has
            releaseWhenSent = true;
            return;
        }
        boolean statementViolation = false;
        boolean giveBack = false;
        linkLock.lock();
        try {
            if (client == c && !pinned) {
                if (pool.settings().mode() == PoolMode.STATEMENT && txStatus != 'I') {
                    statementViolation = true;
                } else if (releasableLocked()) {
                    client = null;
                    giveBack = true;
                }
            }
        } finally {
            linkLock.unlock();
        }
        if (statementViolation) {
            close(STATEMENT_MODE_VIOLATION);
        } else if (giveBack) {
            c.unlinked(this);
            releaseToPool(false);
        }
    }

    private static final String STATEMENT_MODE_VIOLATION = "transaction blocks not allowed in statement pooling mode";

    /**
     * Statement pooling and a ReadyForQuery that opens a transaction block: the server is closed
     * before that ReadyForQuery reaches the client, so the client's BEGIN fails (as in PgBouncer).
     */
    private boolean transactionBlockInStatementMode(byte status) {
        return status != 'I' && pool.settings().mode() == PoolMode.STATEMENT;
    }

    private boolean releasableLocked() {
        return txStatus == 'I' && pending.isEmpty() && !extendedOpen && !copyIn && internal == null;
    }

    // ------------------------------------------------------------------ called by client threads

    /** Links this server to a client that just acquired it from the pool. */
    public void link(LinkedClient c) {
        linkLock.lock();
        try {
            client = c;
            pinned = false;
            linkedSinceNanos = registry.clock().nanos();
            lastUsedEpochMillis = System.currentTimeMillis();
        } finally {
            linkLock.unlock();
        }
    }

    /**
     * Keeps this server from going back to the pool until the client's next {@link #enqueue}
     * (the client is about to rewrite messages for it). False if it is no longer this client's.
     */
    public boolean pin(LinkedClient c) {
        linkLock.lock();
        try {
            if (client != c) {
                return false;
            }
            pinned = true;
            return true;
        } finally {
            linkLock.unlock();
        }
    }

    /**
     * Records the requests a client is about to write to this server. False if the server is no
     * longer linked to that client (it was released meanwhile): the client must get another.
     *
     * @param entries request-queue entries (type byte, with FAKE/HIDDEN/NAMED flags), in order
     * @param refs what each entry refers to (a statement for a named Parse), or null
     */
    public boolean enqueue(LinkedClient c, int[] entries, Object[] refs, int count, long nowNanos) {
        boolean kick;
        linkLock.lock();
        try {
            if (client != c) {
                return false;
            }
            pinned = false;
            if (count > 0) {
                if (queryStartNanos == 0) {
                    queryStartNanos = nowNanos;
                }
                if (xactStartNanos == 0) {
                    xactStartNanos = nowNanos;
                }
            }
            for (int i = 0; i < count; i++) {
                int e = entries[i];
                byte t = RequestQueue.tag(e);
                switch (t) {
                    case FrontendTag.QUERY, FrontendTag.FUNCTION_CALL -> pending.add(e, refs == null ? null : refs[i]);
                    case FrontendTag.SYNC -> {
                        if (!copyIn) {
                            pending.add(e);
                            extendedOpen = false;
                        }
                    }
                    case FrontendTag.COPY_DONE, FrontendTag.COPY_FAIL -> copyIn = false;
                    case FrontendTag.PARSE, FrontendTag.BIND, FrontendTag.DESCRIBE, FrontendTag.EXECUTE,
                            FrontendTag.CLOSE -> {
                        pending.add(e, refs == null ? null : refs[i]);
                        extendedOpen = true;
                    }
                    case FrontendTag.FLUSH -> extendedOpen = true;
                    default -> {
                    }
                }
            }
            special = pending.hasSpecial();
            kick = RequestQueue.isFake(pending.head());
            if (Log.noiseEnabled()) {
                Log.noise(prefix + "C=> queue " + pending.text() + " kick=" + kick);
            }
        } finally {
            linkLock.unlock();
        }
        if (kick) {
            // a fake answer is due before any real one: wake the server thread to send it
            fakesWaiting = true;
            Wire w = wire;
            if (w != null) {
                w.interruptRead();
            }
        }
        return true;
    }

    /** Writes client bytes to the server. */
    public void sendFromClient(byte[] b, int offset, int length) throws IOException {
        wire.write(b, offset, length);
    }

    /** Writes what the socket takes without waiting (a client's inline pass); returns how much. */
    public int trySendFromClient(byte[] b, int offset, int length) throws IOException {
        return wire.tryWrite(b, offset, length);
    }

    /**
     * The linked client is going away. The server is reused only if it is between transactions
     * with nothing in flight; otherwise it is closed, since nobody can safely receive its results.
     */
    public void clientGone(LinkedClient c) {
        String reason = null;
        linkLock.lock();
        try {
            if (client != c) {
                return;
            }
            client = null;
            pinned = false;
            if (txStatus != 'I') {
                reason = "client disconnect while server was not ready";
            } else if (!pending.isEmpty() || extendedOpen || copyIn) {
                reason = "client disconnected with query in progress";
            }
        } finally {
            linkLock.unlock();
        }
        if (reason != null) {
            close(reason);
        } else {
            releaseToPool(true);
        }
    }

    /**
     * Back to the pool, running server_reset_query first in session pools (or always, with
     * server_reset_query_always).
     */
    private void releaseToPool(boolean clientEnded) {
        String reset = registry.general().get(General.SERVER_RESET_QUERY);
        boolean session = pool.settings().mode() == PoolMode.SESSION;
        boolean runReset = !reset.isBlank() && (session || registry.general().get(General.SERVER_RESET_QUERY_ALWAYS));
        if (!runReset) {
            pool.release(this);
            return;
        }
        pool.markTested(this);
        runInternal(reset, iq -> {
            if (iq.succeeded()) {
                pool.release(this);
            } else {
                close("reset query failed");
            }
        });
        assert clientEnded || !session;
    }

    /**
     * Sends a query whose results the server thread swallows; {@code onDone} runs on the server
     * thread (or at once, if the write fails).
     */
    public InternalQuery runInternal(String sql, Consumer<InternalQuery> onDone) {
        InternalQuery iq = new InternalQuery(sql, onDone);
        internal = iq;
        MessageBuilder m = new MessageBuilder(sql.length() + 16);
        FrontendMessages.query(m, sql);
        try {
            wire.write(m.buffer());
        } catch (IOException e) {
            internal = null;
            iq.complete("server connection failed");
        }
        return iq;
    }

    /** Sends a cancel request for the query now running on this server, on a new connection. */
    public long linkedSinceNanos() {
        return linkedSinceNanos;
    }

    /** Wall-clock time it was last lent to a client (SHOW SERVERS request_time), or 0. */
    public long lastUsedEpochMillis() {
        return lastUsedEpochMillis;
    }

    public Database database() {
        return database;
    }

    public long lastResponseNanos() {
        return lastResponseNanos;
    }

    /** When the current transaction began (its first request), or 0. */
    public long transactionStartNanos() {
        return xactStartNanos;
    }

    /** When the request now running began, or 0 when none is. */
    public long queryStartNanos() {
        return queryStartNanos;
    }

    public byte txStatus() {
        linkLock.lock();
        try {
            return txStatus;
        } finally {
            linkLock.unlock();
        }
    }

    /** Whether a client request is outstanding (for query_timeout and cancels). */
    public boolean busy() {
        linkLock.lock();
        try {
            return !pending.isEmpty() || extendedOpen || copyIn;
        } finally {
            linkLock.unlock();
        }
    }

    @Override
    public void close(String reason) {
        if (closeReason.compareAndSet(null, reason)) {
            logClose(reason);
            Wire w = wire;
            if (w != null) {
                sendTerminate(w);
                w.close();
            }
        }
    }

    public String closeReason() {
        return closeReason.get();
    }

    /** A courtesy before closing, sent only if it needs no waiting (any thread may close). */
    private static void sendTerminate(Wire w) {
        MessageBuilder m = new MessageBuilder(8);
        FrontendMessages.terminate(m);
        try {
            w.writeIfReady(m.toArray());
        } catch (IOException e) {
            // already broken: closing is all that is left
        }
    }

    private void logClose(String reason) {
        if (registry.general().get(General.LOG_DISCONNECTIONS)) {
            long age = (registry.clock().nanos() - createdNanos()) / 1_000_000_000L;
            Log.log(prefix + "closing because: " + reason + " (age=" + age + "s)");
        }
    }

    /** The link state a successor process needs to continue exactly: status, owed requests, flags. */
    public record LinkState(byte txStatus, String pending, String flags) {
    }

    public LinkState linkState() {
        linkLock.lock();
        try {
            String flags = (extendedOpen ? "extended" : "") + (copyIn ? (extendedOpen ? ",copy_in" : "copy_in") : "");
            return new LinkState(txStatus, pending.text(), flags);
        } finally {
            linkLock.unlock();
        }
    }

    /**
     * SUSPEND: wakes this server's thread, blocked reading or writing to its client, so that it
     * parks at its next safe point.
     */
    public void interruptRead() {
        Wire w = wire;
        if (w != null && loggedIn) {
            w.interruptRead();
            Thread t = thread;
            if (t != null) {
                java.util.concurrent.locks.LockSupport.unpark(t);
            }
        }
    }

    public boolean loggedIn() {
        return loggedIn;
    }

    public boolean isClosed() {
        return state() == ServerState.CLOSED || closeReason.get() != null;
    }
}
