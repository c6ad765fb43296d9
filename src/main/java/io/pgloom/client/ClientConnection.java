package io.pgloom.client;

import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.net.Wire;
import io.pgloom.pool.AcquireException;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.UserEntry;
import io.pgloom.pool.Waiter;
import io.pgloom.proto.BackendMessages;
import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.MessageStream;
import io.pgloom.proto.PeerClosedException;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.proto.SqlState;
import io.pgloom.server.InternalQuery;
import io.pgloom.server.LinkedClient;
import io.pgloom.server.ParamCache;
import io.pgloom.server.ServerConnection;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One client connection and its virtual thread {@code C-0x<id>}, the only reader of the socket.
 * After login ({@link ClientLogin}) it reads whole buffers of client messages, notes the
 * requests that expect a ReadyForQuery, gets a server from the pool when it has none (applying
 * the client's tracked parameters to it), and forwards each run of messages with one write.
 * Responses travel back on the server's thread through {@link #sendFromServer}.
 *
 * <p>Thread contract: the client thread owns the read side, the login state and the pool wait;
 * {@link #close} may be called from any thread (janitor, admin, a failing server) and wakes the
 * client thread, whose single {@code finally} gives back or closes its server and its slots.
 */
public final class ClientConnection implements LinkedClient, Runnable {
    private final long id;
    private final ClientServices services;
    /** The socket, or the TLS layer over it once {@link #startTls} ran (login, client thread). */
    private volatile Wire wire;
    private final long connectNanos;
    private final long connectEpochMillis;
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private volatile ClientState state = ClientState.LOGIN;
    private MessageStream in;

    // set by the login, fixed afterwards
    private Database database;
    private UserEntry user;
    private Pool pool;
    private String databaseName = "(nodb)";
    private String userName = "(nouser)";
    private ParamCache params;
    private volatile long cancelKey;
    private boolean countedGlobally;
    /** The database and user whose client limits this client holds a slot of (null: none). */
    private Database countedDatabase;
    private UserEntry countedUser;
    private boolean joinedPool;
    private byte[] adoptedBytes;
    private volatile boolean console;
    private volatile String consoleApplicationName;

    private volatile ServerConnection server;
    /** Set while a poller thread does this client's work (nothing may block). */
    private boolean inline;
    /** Work an inline pass left for this client's thread, which runs it first. */
    private io.pgloom.net.InlineWork.Deferred deferred;
    /** A server an inline pass took from the pool but could not prepare without waiting. */
    private ServerConnection takenInline;
    private Waiter waiter;
    private volatile long lastActivityNanos;
    /** Since when this client's thread gets a server for a request (query_timeout), or 0. */
    private volatile long acquiringSinceNanos;
    /** The server being checked or given this client's parameters, not linked yet, or null. */
    private volatile ServerConnection preparing;
    private volatile long lastRequestEpochMillis;
    /** The tags of the run of messages being sent (a longer pipeline goes out in runs of 16). */
    private final int[] tags = new int[16];
    /** Bytes of a message larger than the buffer still to pass raw to the server (client thread). */
    private int passThrough;
    private io.pgloom.prepared.ClientStatements statements;
    private io.pgloom.prepared.StatementRewriter rewriter;
    private io.pgloom.prepared.StatementRewriter.Entries rewriteEntries;
    private MessageBuilder rewriteOut;

    public ClientConnection(long id, ClientServices services, Wire wire, long now) {
        this(id, services, wire, now, System.currentTimeMillis());
    }

    /** @param connectEpochMillis when the client connected (earlier than now for a taken-over client) */
    public ClientConnection(long id, ClientServices services, Wire wire, long now, long connectEpochMillis) {
        this.connectEpochMillis = connectEpochMillis;
        this.id = id;
        this.services = services;
        this.wire = wire;
        this.connectNanos = now;
        this.lastActivityNanos = now;
    }

    private String addressText() {
        if (!wire.isUnix()) {
            return wire.remoteText();
        }
        int pid = wire.peerPid();
        return (pid > 0 ? "unix(" + pid + ")" : "unix") + ":" + wire.remotePort();
    }

    // ------------------------------------------------------------------ accessors

    public long id() {
        return id;
    }

    public Wire wire() {
        return wire;
    }

    /** {@code C-0x1f: db/user@addr:port }, built when a line is logged (not kept per client). */
    @Override
    public String logPrefix() {
        return "C-0x" + Long.toHexString(id) + ": " + databaseName + "/" + userName + "@" + addressText() + " ";
    }

    public ClientState state() {
        return state;
    }

    public long cancelKey() {
        return cancelKey;
    }

    public String databaseName() {
        return databaseName;
    }

    public String userName() {
        return userName;
    }

    public Pool pool() {
        return pool;
    }

    public UserEntry user() {
        return user;
    }

    public Database database() {
        return database;
    }

    public ServerConnection server() {
        return server;
    }

    public ParamCache params() {
        return params;
    }

    public long connectNanos() {
        return connectNanos;
    }

    public long connectEpochMillis() {
        return connectEpochMillis;
    }

    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    /**
     * Since when the client's thread has been getting a server for a request (waiting in the
     * pool, or running the check query or the parameter SET on the server it got), or 0.
     */
    public long acquiringSinceNanos() {
        return acquiringSinceNanos;
    }

    /** The server being prepared for this client (check query, parameter SET), or null. */
    public ServerConnection preparingServer() {
        return preparing;
    }

    /** Wall-clock time of the last request forwarded (SHOW CLIENTS request_time), or 0. */
    public long lastRequestEpochMillis() {
        return lastRequestEpochMillis;
    }

    /** Since when the client waits for a server (monotonic nanos), or 0 when it is not waiting. */
    public long waitingSinceNanos() {
        Waiter w = waiter;
        return state == ClientState.WAITING && w != null ? w.sinceNanos() : 0;
    }


    ClientServices services() {
        return services;
    }

    /**
     * Switches the connection to TLS after the handshake (client thread, during login): from now
     * on reads and writes go through {@code tls}, and the read buffer starts afresh, since
     * nothing sent before the handshake may be read as if it came through it (CVE-2021-23222).
     * Callers holding the old {@link #stream()} must take the new one.
     */
    void startTls(io.pgloom.net.tls.TlsWire tls) {
        if (in.available() > 0) {
            throw new IllegalStateException("unencrypted bytes left when TLS started");
        }
        wire = tls;
        in.release();
        in = new MessageStream(tls, services.pools().bufferPool(), services.pools().general().get(General.MAX_PACKET_SIZE));
        if (closeReason.get() != null) {
            tls.close();
        }
    }

    /** What SHOW CLIENTS and the login line show in {@code tls}: protocol/cipher, or "" without TLS. */
    public String tlsInfo() {
        return wire instanceof io.pgloom.net.tls.TlsWire t ? t.tlsInfo() : "";
    }

    MessageStream stream() {
        return in;
    }

    /** The read side, for the admin console serving this client on its thread. */
    public MessageStream consoleStream() {
        if (!console) {
            throw new IllegalStateException("not a console client");
        }
        return in;
    }

    // ------------------------------------------------------------------ set by the login

    void identify(String db, String user) {
        this.databaseName = db;
        this.userName = user;
    }

    void countGlobally() {
        countedGlobally = true;
    }

    void countDatabase(Database db) {
        countedDatabase = db;
    }

    void countUser(UserEntry u) {
        countedUser = u;
    }

    /** A console session: it gets a cancel key (for ^C) but no pool. */
    void attachConsole(String applicationName) {
        this.console = true;
        this.consoleApplicationName = applicationName;
        this.cancelKey = services.clients().newCancelKey(this);
        this.state = ClientState.ACTIVE;
    }

    public boolean isConsole() {
        return console;
    }

    /** The application_name a console client gave (a pgloom successor says who it is there). */
    public String consoleApplicationName() {
        return consoleApplicationName;
    }

    void attach(Database db, UserEntry u, Pool p, ParamCache cache) {
        this.database = db;
        this.user = u;
        this.pool = p;
        this.params = cache;
        p.clientJoined();
        joinedPool = true;
        this.waiter = p.newWaiter(this);
        this.cancelKey = services.clients().newCancelKey(this);
        enableStatementTracking();
    }

    /**
     * The client has its welcome: from now on it is active, and its idle time counts from here
     * (waiting for the pool's first server is still login, under client_login_timeout).
     */
    void loggedIn() {
        this.lastActivityNanos = services.pools().clock().nanos();
        this.state = ClientState.ACTIVE;
    }

    /**
     * Named prepared statements are tracked and rewritten in transaction and statement pools when
     * max_prepared_statements is above 0 (PgBouncer's rule); session pools pass them through.
     */
    private void enableStatementTracking() {
        int max = services.pools().general().get(General.MAX_PREPARED_STATEMENTS);
        if (max > 0 && pool.settings().mode() != io.pgloom.config.PoolMode.SESSION) {
            statements = new io.pgloom.prepared.ClientStatements(services.pools().statements());
            rewriter = new io.pgloom.prepared.StatementRewriter(services.pools().statements(), statements, pool.stats(), max);
        }
    }

    /** The client's statement names (takeover); empty when statements are not tracked. */
    public java.util.Map<String, io.pgloom.prepared.Statement> preparedStatements() {
        io.pgloom.prepared.ClientStatements s = statements;
        return s == null ? java.util.Map.of() : s.snapshot();
    }

    /** Gives a taken-over client its statement names back. */
    public void adoptStatements(java.util.Map<String, io.pgloom.prepared.Statement> names) {
        io.pgloom.prepared.ClientStatements s = statements;
        if (s == null) {
            return;
        }
        names.forEach((name, st) -> {
            services.pools().statements().retain(st);
            if (!s.put(name, st)) {
                services.pools().statements().release(st);
            }
        });
    }

    /** The named statements this client has prepared (SHOW CLIENTS prepared_statements). */
    public int preparedStatementCount() {
        io.pgloom.prepared.ClientStatements s = statements;
        return s == null ? 0 : s.size();
    }

    // ------------------------------------------------------------------ the thread

    /**
     * Starts a client just accepted: listed at once (SHOW CLIENTS, the janitor's timeouts), its
     * thread started on the epoll transport only when its first byte (or a close) comes.
     */
    public void start() {
        services.clients().add(this);
        if (wire instanceof io.pgloom.net.epoll.EpollWire ew) {
            ew.startOnFirstEdge(() -> newThread(this));
        } else {
            newThread(this);
        }
    }

    private void newThread(Runnable r) {
        Thread.ofVirtual().name("C-0x" + Long.toHexString(id)).start(r);
    }

    @Override
    public void run() {
        serve(true, false);
    }

    /** Starts the thread of a client taken over from another process: it is logged in already. */
    public void startAdopted() {
        services.clients().add(this);
        newThread(() -> serve(false, false));
    }

    /**
     * A client handed over by another process: logged in there, with its pool, parameters and
     * cancel key; counted against the limits without checking them (it exists already).
     */
    public void adopt(Database db, UserEntry u, Pool p, ParamCache cache, long key) {
        identify(db.name(), u.name());
        services.clients().limit().forceAcquire();
        countedGlobally = true;
        db.clients().forceAcquire();
        countedDatabase = db;
        u.clients().forceAcquire();
        countedUser = u;
        this.database = db;
        this.user = u;
        this.pool = p;
        this.params = cache;
        p.clientJoined();
        joinedPool = true;
        this.waiter = p.newWaiter(this);
        this.cancelKey = key != 0 && services.clients().adoptCancelKey(key, this) ? key : services.clients().newCancelKey(this);
        enableStatementTracking();
        services.clients().add(this);
        this.state = ClientState.ACTIVE;
    }

    /** Links a taken-over client to the server it was using in the old process. */
    public void linkAdopted(ServerConnection s) {
        this.server = s;
    }

    /** Carries on, on a new thread, with a client whose thread ended while it was idle. */
    private void resume() {
        serve(false, true);
    }

    /** Lets this client's thread end if it waits idle (idle_thread_timeout); the janitor asks. */
    public void releaseIdleThread() {
        if (wire instanceof io.pgloom.net.epoll.EpollWire ew) {
            ew.requestLeave();
        }
    }

    private void serve(boolean login, boolean resumed) {
        String reason = null;
        boolean notify = false;
        String sqlState = SqlState.PROTOCOL_VIOLATION;
        boolean left = false;
        try {
            if (resumed) {
                // become the owner first: whatever started this thread may have raced with an inline
                // pass still running on another thread (an edge, an interrupt), which owns the buffer
                wire.awaitIdle();
                workLoop();
                return;
            }
            Values g = services.pools().general();
            if (login) {
                wire.tune(g);
            }
            in = new MessageStream(wire, services.pools().bufferPool(), g.get(General.MAX_PACKET_SIZE));
            if (adoptedBytes != null) {
                in.prefill(adoptedBytes);
                adoptedBytes = null;
            }
            if (login && !new ClientLogin(this).run()) {
                return;
            }
            if (pool == null) {
                return;
            }
            in.setInterruptible(true);
            if (wire instanceof io.pgloom.net.epoll.EpollWire ew && g.get(General.POLLER_INLINE)) {
                ew.inlineReader(this::runInline);
                waiter.resumer(ew::resumeInline);
                ew.resumer(() -> newThread(this::resume));
                if (login && g.get(General.IDLE_THREAD_TIMEOUT).toNanos() > 0) {
                    ew.leaveWhenIdle(); // its first wait after the login ends the thread
                }
            }
            workLoop();
        } catch (io.pgloom.net.epoll.EpollWire.ThreadLeft e) {
            left = true; // the connection lives on without a thread until it needs one
        } catch (ClientClosing e) {
            reason = e.getMessage();
            notify = e.notifyClient;
            sqlState = e.sqlState;
        } catch (PeerClosedException e) {
            reason = "client unexpected eof";
        } catch (ProtocolViolationException e) {
            reason = e.getMessage();
            notify = true;
        } catch (IOException e) {
            reason = "client unexpected eof";
        } catch (RuntimeException | Error e) {
            Log.bug(logPrefix() + "client thread failed", e);
            reason = "internal error";
        } finally {
            if (!left) {
                finish(reason, notify, sqlState);
            }
        }
    }

    /**
     * Reads, passes on the rest of a large message, forwards whole messages. SUSPEND parks the
     * thread at the top of the loop: at a message boundary with nothing buffered, or anywhere
     * there when the successor carries what is buffered and the size of a large message's rest.
     */
    private void workLoop() throws IOException {
        io.pgloom.net.Suspension suspension = services.pools().suspension();
        boolean unsent = in.available() > 0;
        // SUSPEND stopped this client's wait for a server: its buffered requests travel as they are
        // (a thread resumed after its predecessor left may find an inline pass's wait to settle)
        boolean waitStopped = settleInlineWait();
        while (true) {
            runDeferred();
            if (suspension.requested()
                    && (waitStopped || suspension.carries() || (in.available() == 0 && passThrough == 0))) {
                suspension.park(this);
                continue;
            }
            waitStopped = false;
            if (!unsent) {
                try {
                    if (passThrough > 0) {
                        // in the middle of a message: an inline pass would take data for headers
                        in.fill();
                    } else if (!in.fillIdle()) {
                        unsent = in.available() > 0; // an inline pass handed over what it could not send
                        waitStopped |= settleInlineWait();
                        continue;
                    }
                } catch (io.pgloom.net.ReadInterruptedException e) {
                    continue;
                }
                lastActivityNanos = services.pools().clock().nanos();
            }
            if (passThrough > 0) {
                passOn();
                if (in.available() == 0) {
                    unsent = false;
                    continue;
                }
            }
            try {
                processBuffer();
                unsent = false;
            } catch (SuspendedWhileWaiting e) {
                // the messages stay buffered, unsent: they travel to the process taking over
                unsent = true;
                waitStopped = true;
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
     * The poller's pass over this client's next request while its thread waits idle: whole
     * messages for a server that is linked or idle in the pool are sent right there; anything
     * that could block (waiting for a server, preparing one, rewriting, a large message, a full
     * socket) hands over to the thread.
     */
    private int runInline() {
        final int done = io.pgloom.net.epoll.EpollWire.InlineReader.DONE;
        final int handOver = io.pgloom.net.epoll.EpollWire.InlineReader.HAND_OVER;
        // a pass resumed after waiting for a server starts with the request it kept
        boolean resumed = state == ClientState.WAITING;
        if ((state != ClientState.ACTIVE && !resumed) || deferred != null || takenInline != null || passThrough > 0
                || closeReason.get() != null || services.pools().suspension().requested()) {
            return handOver;
        }
        io.pgloom.net.epoll.EpollWire ew = (io.pgloom.net.epoll.EpollWire) wire;
        inline = true;
        try {
            while (true) {
                int n = resumed ? in.available() : in.fillNow();
                resumed = false;
                if (n < 0) {
                    return handOver;
                }
                if (n > 0) {
                    lastActivityNanos = services.pools().clock().nanos();
                    processBuffer();
                    if (state == ClientState.WAITING) {
                        // queued for a server (processBuffer returned, not threw: the hot path under contention)
                        return io.pgloom.net.epoll.EpollWire.InlineReader.WAIT;
                    }
                    if (deferred != null || passThrough > 0) {
                        return handOver;
                    }
                }
                if (services.pools().suspension().requested()) {
                    return handOver; // SUSPEND: the thread decides where to stop; no further read here
                }
                if (ew.drainedNow()) {
                    in.release();
                    return done;
                }
            }
        } catch (io.pgloom.net.InlineWork.NeedThread e) {
            return handOver;
        } catch (IOException | RuntimeException | Error e) {
            deferred = io.pgloom.net.InlineWork.then(deferred, io.pgloom.net.InlineWork.failure(e));
            return handOver;
        } finally {
            inline = false;
        }
    }

    /**
     * The thread took over from an inline pass: a wait for a server that pass queued ends here
     * (the thread asks again itself, in order). A wait that failed closes the client, unless a
     * takeover's suspension stopped it: then true, and the request stays buffered for the successor.
     */
    private boolean settleInlineWait() {
        Pool p = pool;
        Waiter w = waiter;
        if (p == null || w == null) {
            return false;
        }
        String failure = p.settleInlineWait(w);
        endInlineWait();
        if (failure == null) {
            return false;
        }
        if (Pool.isSuspension(failure)) {
            return true;
        }
        throw new ClientClosing(failure, true, w.failureSqlState());
    }

    /** Back to ACTIVE if an inline pass left this client WAITING; whether it had. */
    private boolean endInlineWait() {
        if (state != ClientState.WAITING) {
            return false;
        }
        state = ClientState.ACTIVE;
        acquiringSinceNanos = 0;
        return true;
    }

    /** Inside an inline pass: consume through {@code pos} and leave the rest to the thread. */
    private void handOverAt(int pos) {
        if (inline) {
            in.advance(pos - in.start());
            throw io.pgloom.net.InlineWork.NEED_THREAD;
        }
    }

    /**
     * During a takeover, a client waiting for a server stops waiting: what it read but did not send
     * yet stays in its buffer and goes to the new process with its socket.
     */
    static final class SuspendedWhileWaiting extends RuntimeException {
        SuspendedWhileWaiting() {
            super("suspended while waiting for a server", null, false, false);
        }
    }

    /**
     * Bytes read from the client and not yet sent to a server: whole messages of a client
     * suspended while waiting, or the start of a message not complete yet.
     */
    public byte[] bufferedBytes() {
        MessageStream s = in;
        if (s == null || s.available() == 0) {
            return null;
        }
        return java.util.Arrays.copyOfRange(s.array(), s.start(), s.end());
    }

    /** Gives a taken-over client the bytes it had read but not sent in the old process. */
    public void adoptBuffered(byte[] bytes) {
        adoptedBytes = bytes;
    }

    /** How much of a large message still goes raw to the server (0 at a message boundary). */
    public long passThrough() {
        return passThrough;
    }

    /** Gives a taken-over client the rest of the large message it was passing on in the old process. */
    public void adoptPassThrough(long remaining) {
        if (remaining < 0 || remaining > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pass-through " + remaining);
        }
        passThrough = (int) remaining;
    }

    /** SUSPEND: wakes this client's read if it is in its work loop (a login is left alone). */
    public void interruptRead() {
        if (state != ClientState.LOGIN && !console) {
            wire.interruptRead();
        }
    }

    /** Forwards every whole message in the buffer; a message larger than the buffer is streamed. */
    private void processBuffer() throws IOException {
        byte[] b = in.array();
        int pos = in.start();
        int end = in.end();
        int runStart = pos;
        int count = 0;
        int wantRoom = 0;
        while (end - pos >= 5) {
            byte tag = b[pos];
            int size = in.peekSizeAt(pos);
            checkTag(tag);
            if (tag == FrontendTag.TERMINATE) {
                if (!sendRun(b, runStart, pos, count)) {
                    return;
                }
                in.advance(pos + Math.min(size, end - pos) - in.start());
                throw new ClientClosing("client close request", false, SqlState.PROTOCOL_VIOLATION);
            }
            if (count == tags.length) {
                if (!sendRun(b, runStart, pos, count)) {
                    return;
                }
                runStart = pos;
                count = 0;
            }
            if (end - pos < size) {
                boolean needWhole = rewriter != null && isStatementMessage(tag);
                if (size > in.capacity() && !needWhole) {
                    if (inline) {
                        if (!sendRun(b, runStart, pos, count)) {
                            return;
                        }
                        handOverAt(pos);
                    }
                    tags[count++] = tag;
                    sendRun(b, runStart, end, count);
                    int have = end - pos;
                    in.advance(end - in.start());
                    passThrough = size - have;
                    return;
                }
                wantRoom = size;
                break;
            }
            if (rewriter != null && io.pgloom.prepared.StatementRewriter.names(b, pos, size)) {
                if (!sendRun(b, runStart, pos, count)) {
                    return;
                }
                count = 0;
                int stop = completeMessagesEnd(b, pos, end);
                if (!rewriteRun(b, pos, stop)) {
                    return;
                }
                pos = stop;
                runStart = stop;
                continue;
            }
            tags[count++] = tag;
            pos += size;
        }
        if (!sendRun(b, runStart, pos, count)) {
            return;
        }
        in.advance(pos - in.start());
        if (wantRoom > 0) {
            in.ensureRoom(wantRoom);
        }
    }

    private static boolean isStatementMessage(byte tag) {
        return tag == FrontendTag.PARSE || tag == FrontendTag.BIND || tag == FrontendTag.DESCRIBE || tag == FrontendTag.CLOSE;
    }

    /** Where the run of whole messages starting at {@code pos} ends (before a Terminate or a partial one). */
    private int completeMessagesEnd(byte[] b, int pos, int end) {
        while (end - pos >= 5 && b[pos] != FrontendTag.TERMINATE) {
            int size = in.peekSizeAt(pos);
            if (end - pos < size) {
                break;
            }
            checkTag(b[pos]);
            pos += size;
        }
        return pos;
    }

    /**
     * Sends whole messages some of which name prepared statements: rewritten for the server this
     * client has (which is pinned meanwhile, so the decisions stay true), with one write. False
     * as {@link #sendRun}.
     */
    private boolean rewriteRun(byte[] b, int from, int to) throws IOException {
        if (server == null && onlyParsesAndSyncs(b, from, to) && !pool.hasIdleServer()) {
            handOverAt(from);
            answerParsesLocally(b, from, to);
            return true;
        }
        ServerConnection s = server;
        if (s == null || !s.pin(this)) {
            server = null;
            s = inline ? acquireInline() : acquireServer();
            if (s == null) {
                return false; // an inline pass waits for a server
            }
            s.pin(this);
        }
        if (rewriteOut == null) {
            rewriteOut = new MessageBuilder(1024);
            rewriteEntries = new io.pgloom.prepared.StatementRewriter.Entries();
        }
        MessageBuilder out = rewriteOut.clear();
        io.pgloom.prepared.StatementRewriter.Entries entries = rewriteEntries;
        entries.clear();
        try {
            for (int pos = from; pos < to;) {
                int size = in.peekSizeAt(pos);
                if (io.pgloom.prepared.StatementRewriter.names(b, pos, size)) {
                    rewriter.rewrite(b, pos, size, s.statements(), out, entries);
                } else {
                    out.bytes(b, pos, size);
                    entries.add(b[pos], null);
                }
                pos += size;
            }
        } catch (io.pgloom.prepared.StatementRewriter.StatementError e) {
            // the server's statement list may now name statements never sent: do not reuse it. The
            // client is closed first, so it hears its own error rather than the server's close.
            close(e.getMessage(), true, SqlState.PROTOCOL_VIOLATION);
            s.close("client sent a bad prepared statement request");
            throw new ClientClosing(e.getMessage(), true, SqlState.PROTOCOL_VIOLATION);
        }
        if (!s.enqueue(this, entries.entries, entries.refs, entries.count, lastActivityNanos)) {
            throw new IllegalStateException("a pinned server was released");
        }
        lastRequestEpochMillis = System.currentTimeMillis();
        pool.stats().received.add(to - from);
        if (out.size() > 0) {
            if (inline) {
                sendInline(s, out.array(), 0, out.size(), to);
            } else {
                try {
                    s.sendFromClient(out.array(), 0, out.size());
                } catch (IOException e) {
                    throw serverWriteFailed(s);
                }
            }
        }
        consumeThrough(to);
        return true;
    }

    /**
     * Marks the buffer consumed up to {@code to} once that much was sent, so a suspension while
     * waiting for the next server leaves exactly the unsent bytes buffered.
     */
    private void consumeThrough(int to) {
        int n = to - in.start();
        if (n > 0 && to < in.end()) {
            in.advance(n);
        }
    }

    /** Whether the run is only Parse, Sync and Flush messages (what a synchronous PQprepare sends). */
    private boolean onlyParsesAndSyncs(byte[] b, int from, int to) {
        for (int pos = from; pos < to; pos += in.peekSizeAt(pos)) {
            byte t = b[pos];
            if (t != FrontendTag.PARSE && t != FrontendTag.SYNC && t != FrontendTag.FLUSH) {
                return false;
            }
        }
        return true;
    }

    /**
     * Prepares statements without a server while none is free: the names are registered and
     * answered at once (ParseComplete, and ReadyForQuery 'I' for a Sync, since this client holds no
     * transaction), and each statement is parsed on a server before its first Bind or Describe.
     * A client that prepares synchronously while other clients hold every server (pgbench -M
     * prepared) so never waits for a server just to prepare. A bad statement is reported at its
     * first use instead of at Parse.
     */
    private void answerParsesLocally(byte[] b, int from, int to) throws IOException {
        MessageBuilder out = new MessageBuilder(64);
        try {
            for (int pos = from; pos < to;) {
                int size = in.peekSizeAt(pos);
                switch (b[pos]) {
                    case FrontendTag.PARSE -> {
                        if (io.pgloom.prepared.StatementRewriter.names(b, pos, size)) {
                            rewriter.register(b, pos, size);
                        }
                        out.begin(io.pgloom.proto.BackendTag.PARSE_COMPLETE).end();
                    }
                    case FrontendTag.SYNC -> BackendMessages.readyForQuery(out, 'I');
                    default -> {
                    }
                }
                pos += size;
            }
        } catch (io.pgloom.prepared.StatementRewriter.StatementError e) {
            throw new ClientClosing(e.getMessage(), true, SqlState.PROTOCOL_VIOLATION);
        }
        pool.stats().received.add(to - from);
        wire.write(out.array(), 0, out.size());
        consumeThrough(to);
    }

    private static void checkTag(byte tag) {
        switch (tag) {
            case FrontendTag.QUERY, FrontendTag.PARSE, FrontendTag.BIND, FrontendTag.DESCRIBE, FrontendTag.EXECUTE,
                    FrontendTag.SYNC, FrontendTag.FLUSH, FrontendTag.CLOSE, FrontendTag.FUNCTION_CALL,
                    FrontendTag.COPY_DATA, FrontendTag.COPY_DONE, FrontendTag.COPY_FAIL, FrontendTag.TERMINATE -> {
            }
            default -> throw new ProtocolViolationException("unknown pkt: " + describe(tag));
        }
    }

    private static String describe(byte tag) {
        return tag >= 32 && tag < 127 ? "'" + (char) tag + "'" : String.valueOf(tag & 0xff);
    }

    /** Passes what is buffered of the rest of a large message (COPY data, a huge query) to the server. */
    private void passOn() throws IOException {
        int n = Math.min(passThrough, in.available());
        ServerConnection s = server;
        if (s == null) {
            throw new IllegalStateException("the rest of a large message but no server");
        }
        try {
            s.sendFromClient(in.array(), in.start(), n);
        } catch (IOException e) {
            throw serverWriteFailed(s);
        }
        pool.stats().received.add(n);
        in.advance(n);
        passThrough -= n;
    }

    /**
     * Sends one run of messages to a server, getting one first if needed. False when an inline
     * pass queued the client for a server instead: the run stays buffered and the pass stops.
     */
    private boolean sendRun(byte[] b, int from, int to, int count) throws IOException {
        if (to <= from) {
            return true;
        }
        while (true) {
            ServerConnection s = server;
            if (s == null) {
                s = inline ? acquireInline() : acquireServer();
                if (s == null) {
                    return false;
                }
            }
            if (s.enqueue(this, tags, null, count, lastActivityNanos)) {
                lastRequestEpochMillis = System.currentTimeMillis();
                pool.stats().received.add(to - from);
                if (inline) {
                    sendInline(s, b, from, to, to);
                } else {
                    try {
                        s.sendFromClient(b, from, to - from);
                    } catch (IOException e) {
                        throw serverWriteFailed(s);
                    }
                }
                consumeThrough(to);
                return true;
            }
            if (server == s) {
                server = null;
            }
        }
    }

    /**
     * An inline pass's write to the server of {@code b[from..to)}, made of the buffered messages
     * up to {@code consumed}: what the socket does not take now is left, with the rest of the
     * buffer, to this client's thread (so nothing overtakes it).
     */
    private void sendInline(ServerConnection s, byte[] b, int from, int to, int consumed) {
        int n;
        try {
            n = s.trySendFromClient(b, from, to - from);
        } catch (IOException e) {
            throw serverWriteFailed(s);
        }
        if (n < to - from) {
            byte[] rest = java.util.Arrays.copyOfRange(b, from + n, to);
            deferred = io.pgloom.net.InlineWork.then(deferred, () -> {
                try {
                    s.sendFromClient(rest, 0, rest.length);
                } catch (IOException e) {
                    throw serverWriteFailed(s);
                }
            });
            handOverAt(consumed);
        }
    }

    /**
     * An inline pass's server: one handed to this client while its pass waited, or an idle one
     * taken from the pool at once; else null, the client queued for one (FIFO) and its pass
     * resumed when it comes. A server that needs its check query or parameters first goes to
     * this client's thread, which prepares it; so does anything the pool cannot queue inline.
     */
    private ServerConnection acquireInline() {
        if (closeReason.get() != null) {
            throw io.pgloom.net.InlineWork.NEED_THREAD;
        }
        ServerConnection s = (ServerConnection) pool.acquireInline(waiter);
        if (s == null) {
            if (waiter.waitingInline()) {
                if (state != ClientState.WAITING) {
                    acquiringSinceNanos = services.pools().clock().nanos();
                    state = ClientState.WAITING;
                }
                return null;
            }
            throw io.pgloom.net.InlineWork.NEED_THREAD;
        }
        if (endInlineWait()) {
            pool.stats().waitTimeMicros.add((services.pools().clock().nanos() - waiter.sinceNanos()) / 1000);
        }
        pool.stats().serverAssignments.increment();
        if (checkDue(s, services.pools().general()) || params.setQueryFor(s.params()) != null) {
            takenInline = s;
            throw io.pgloom.net.InlineWork.NEED_THREAD;
        }
        s.link(this);
        server = s;
        return s;
    }

    private ClientClosing serverWriteFailed(ServerConnection s) {
        s.close("server conn crashed?");
        // closed under this write by someone with a reason (query_timeout): the client hears it
        String reason = s.closeReason() != null ? s.closeReason() : "server conn crashed?";
        return new ClientClosing(reason, true, SqlState.PROTOCOL_VIOLATION);
    }

    /**
     * Waits for a server, checks it if it sat idle past server_check_delay, applies this client's
     * tracked parameters, and links it.
     */
    private ServerConnection acquireServer() throws IOException {
        // query_timeout counts from here (PgBouncer's query_start): the janitor ends a wait or a
        // server preparation that takes longer, where no linked server shows the request yet
        acquiringSinceNanos = services.pools().clock().nanos();
        try {
            return acquireAndPrepare();
        } finally {
            preparing = null;
            acquiringSinceNanos = 0;
        }
    }

    private ServerConnection acquireAndPrepare() throws IOException {
        Values g = services.pools().general();
        while (true) {
            if (closeReason.get() != null) {
                throw new ClientClosing(closeReason.get(), false, SqlState.PROTOCOL_VIOLATION);
            }
            PoolEntry entry = takenInline;
            takenInline = null;
            long waitStart = services.pools().clock().nanos();
            try {
                if (entry == null) {
                    state = ClientState.WAITING;
                    entry = pool.acquire(waiter, queryWaitTimeoutNanos(g));
                    pool.stats().serverAssignments.increment();
                    pool.stats().waitTimeMicros.add((services.pools().clock().nanos() - waitStart) / 1000);
                }
            } catch (AcquireException e) {
                if (e.suspended()) {
                    throw new SuspendedWhileWaiting();
                }
                throw new ClientClosing(e.getMessage(), true, e.sqlState());
            } finally {
                state = ClientState.ACTIVE;
            }
            ServerConnection s = (ServerConnection) entry;
            preparing = s;
            if (!checkIfStale(s, g) || !applyParameters(s)) {
                preparing = null;
                continue;
            }
            s.link(this);
            server = s;
            return s;
        }
    }

    long queryWaitTimeoutNanos(Values g) {
        java.time.Duration d = user.overrides().get(io.pgloom.config.UserKeys.QUERY_WAIT_TIMEOUT);
        if (d == null) {
            d = database.settings().get(io.pgloom.config.DatabaseKeys.QUERY_WAIT_TIMEOUT);
        }
        return (d != null ? d : g.get(General.QUERY_WAIT_TIMEOUT)).toNanos();
    }

    /** Whether server_check_query must run first: the server sat idle past server_check_delay. */
    private boolean checkDue(ServerConnection s, Values g) {
        if (g.get(General.SERVER_CHECK_QUERY).isEmpty()) {
            return false;
        }
        long idleFor = services.pools().clock().nanos() - s.idleSinceNanos();
        return s.idleSinceNanos() != 0 && idleFor >= g.get(General.SERVER_CHECK_DELAY).toNanos();
    }

    /** Runs server_check_query on a server that was idle longer than server_check_delay. */
    private boolean checkIfStale(ServerConnection s, Values g) {
        if (!checkDue(s, g)) {
            return true;
        }
        String check = g.get(General.SERVER_CHECK_QUERY);
        InternalQuery iq = s.runInternal(check.equals("<empty>") ? "" : check, null);
        if (iq.await()) {
            return true;
        }
        s.close("test query failed");
        return false;
    }

    /** Makes the server's tracked parameters match this client's with one SET query. */
    private boolean applyParameters(ServerConnection s) {
        String sql = params.setQueryFor(s.params());
        if (sql == null) {
            return true;
        }
        InternalQuery iq = s.runInternal(sql, null);
        if (!iq.await()) {
            String why = iq.failureText();
            s.close("invalid server parameter");
            if (iq.error() != null) {
                throw new ClientClosing("invalid server parameter: " + iq.error().message(), true,
                        iq.error().sqlState() == null ? SqlState.PROTOCOL_VIOLATION : iq.error().sqlState());
            }
            Log.debug(logPrefix() + "parameter change failed: " + why);
            return false;
        }
        params.adoptCanonical(s.params());
        return true;
    }

    // ------------------------------------------------------------------ LinkedClient (server thread)

    @Override
    public int sendFromServer(byte[] bytes, int offset, int length, java.util.function.BooleanSupplier giveUp)
            throws IOException {
        return wire.write(bytes, offset, length, giveUp);
    }

    @Override
    public int trySendFromServer(byte[] bytes, int offset, int length) throws IOException {
        return wire.tryWrite(bytes, offset, length);
    }

    @Override
    public void parameterChanged(String name, String value) {
        params.set(name, value);
    }

    @Override
    public void forgetStatement(String name, io.pgloom.prepared.Statement statement) {
        io.pgloom.prepared.ClientStatements s = statements;
        if (s != null) {
            s.remove(name, statement);
        }
    }

    @Override
    public void restoreStatement(String name, io.pgloom.prepared.Statement statement) {
        io.pgloom.prepared.ClientStatements s = statements;
        if (s == null || !s.put(name, statement)) {
            services.pools().statements().release(statement);
        }
    }

    @Override
    public void statementsDeallocated() {
        io.pgloom.prepared.ClientStatements s = statements;
        if (s != null) {
            s.clear();
        }
    }

    @Override
    public void unlinked(ServerConnection s) {
        if (server == s) {
            server = null;
        }
    }

    @Override
    public void serverFailed(String reason, String sqlState) {
        close(reason == null ? "server conn crashed?" : reason, true, sqlState);
    }

    // ------------------------------------------------------------------ closing

    /**
     * Closes the client from any thread: logs the reason once, tells the client (FATAL
     * ErrorResponse) when {@code notify}, closes the socket and wakes the client's thread.
     */
    public void close(String reason, boolean notify, String sqlState) {
        close(reason, notify, sqlState, true);
    }

    /**
     * Closes the client from a thread that must not wait (SUSPEND): the FATAL ErrorResponse goes
     * only if the socket takes it at once, since whoever holds its write lock (a server blocked on
     * a client that does not read) may never let go.
     */
    public void closeWithoutWaiting(String reason, String sqlState) {
        close(reason, true, sqlState, false);
    }

    private void close(String reason, boolean notify, String sqlState, boolean mayWait) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        logClose(reason);
        if (notify) {
            sendError("FATAL", sqlState, reason, mayWait);
            Values g = services.pools().general();
            wire.lingerOnClose(g.get(General.CLIENT_CLOSE_LINGER).toNanos(), g.get(General.MAX_CLIENT_CONN));
        }
        Pool p = pool;
        Waiter w = waiter;
        if (p != null && w != null) {
            p.abortWait(w, reason, sqlState);
        }
        wire.close();
    }

    /** Sends an ErrorResponse; failures to send are ignored (the client is leaving anyway). */
    void sendError(String severity, String sqlState, String message) {
        sendError(severity, sqlState, message, true);
    }

    private void sendError(String severity, String sqlState, String message, boolean mayWait) {
        MessageBuilder m = new MessageBuilder();
        BackendMessages.error(m, severity, sqlState, message);
        try {
            if (mayWait) {
                // Any thread may close a client (the janitor too): never wait long on one that
                // stopped reading.
                wire.writeBeforeClose(m.buffer());
            } else {
                wire.writeIfReady(m.toArray());
            }
        } catch (IOException e) {
            // the client is gone already
        }
        if (services.pools().general().get(General.LOG_POOLER_ERRORS) && !"FATAL".equals(severity)) {
            Log.warning(logPrefix() + "pooler error: " + message);
        }
    }

    private void finish(String reason, boolean notify, String sqlState) {
        if (reason != null) {
            close(reason, notify, sqlState);
        } else if (closeReason.get() == null) {
            close("client close request", false, sqlState);
        }
        wire.close();
        if (in != null) {
            in.release();
        }
        settleQuietly();
        state = ClientState.CLOSED;
        ServerConnection s = server;
        server = null;
        if (s != null) {
            s.clientGone(this);
        }
        if (joinedPool) {
            pool.clientLeft();
        }
        if (statements != null) {
            statements.clear();
        }
        if (countedDatabase != null) {
            countedDatabase.clients().release();
        }
        if (countedUser != null) {
            countedUser.clients().release();
        }
        if (countedGlobally) {
            services.clients().limit().release();
        }
        services.clients().remove(this);
    }

    /** A closing client gives back a server handed to its inline wait meanwhile. */
    private void settleQuietly() {
        if (pool != null && waiter != null) {
            pool.settleInlineWait(waiter);
        }
    }

    private void logClose(String reason) {
        if (services.pools().general().get(General.LOG_DISCONNECTIONS)) {
            long age = (services.pools().clock().nanos() - connectNanos) / 1_000_000_000L;
            Log.log(logPrefix() + "closing because: " + reason + " (age=" + age + "s)");
        }
    }

    public String closeReason() {
        return closeReason.get();
    }

    /** Ends the client's thread with a reason, from inside it. */
    static final class ClientClosing extends RuntimeException {
        final boolean notifyClient;
        final String sqlState;

        ClientClosing(String reason, boolean notifyClient, String sqlState) {
            super(reason, null, false, false);
            this.notifyClient = notifyClient;
            this.sqlState = sqlState;
        }
    }
}
