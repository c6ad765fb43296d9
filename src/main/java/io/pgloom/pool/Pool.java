package io.pgloom.pool;

import io.pgloom.log.Log;
import io.pgloom.proto.SqlState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The servers of one (database, user) pair and the clients waiting for them. All bookkeeping
 * happens under one {@link ReentrantLock}; no I/O, DNS or authentication ever runs under it:
 * decisions to close a server are taken under the lock and carried out after unlocking.
 *
 * <p>Rules (PgBouncer's): idle servers are reused LIFO ({@code server_round_robin} makes it
 * FIFO); a released server goes straight to the oldest waiting client; waiting clients queue
 * FIFO, a client's thread on its own condition with a timed wait, a client's inline pass
 * (see {@link #acquireInline}) without a thread, resumed by whoever hands it a server once the
 * lock is released; at most one connection attempt is in flight;
 * after a failed login no new attempt is made for {@code server_login_retry}, and clients that
 * would wait for one fail at once with the cached error. The server count never exceeds
 * {@code pool_size} (+ {@code reserve_pool_size} once the oldest waiter waited
 * {@code reserve_pool_timeout}), nor the database and user limits, which are taken before a
 * connection is launched.
 */
public final class Pool {
    private final PoolKey key;
    private final Limit databaseServers;
    private final Limit userServers;
    private final ServerLauncher launcher;
    private final Clock clock;
    private volatile PoolSettings settings;
    private volatile boolean serversSuspending;
    private final io.pgloom.stats.PoolStats stats = new io.pgloom.stats.PoolStats();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition welcomeChanged = lock.newCondition();

    // guarded by lock
    private final ArrayDeque<PoolEntry> idle = new ArrayDeque<>();
    private final EntryList active = new EntryList();
    private final EntryList login = new EntryList();
    private final EntryList tested = new EntryList();
    private final EntryList beingCanceled = new EntryList();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private Waiter resumeHead;
    private Waiter resumeTail;
    private int welcomeWaiters;
    private int clients;
    private boolean paused;
    private String refusal;
    private String refusalSqlState;
    private boolean waitsSuspended;
    private boolean loginFailed;
    private long loginFailedNanos;
    private String loginError;
    private String loginErrorSqlState;
    private Map<String, String> welcome;
    private long lastLifetimeCloseNanos = Long.MIN_VALUE / 2;

    public Pool(PoolKey key, PoolSettings settings, Limit databaseServers, Limit userServers, ServerLauncher launcher,
            Clock clock) {
        this.key = key;
        this.settings = settings;
        this.databaseServers = databaseServers;
        this.userServers = userServers;
        this.launcher = launcher;
        this.clock = clock;
    }

    public PoolKey key() {
        return key;
    }

    public PoolSettings settings() {
        return settings;
    }

    public io.pgloom.stats.PoolStats stats() {
        return stats;
    }

    /** During SUSPEND: every client of this pool has stopped, so its servers may stop reading too. */
    public boolean serversSuspending() {
        return serversSuspending;
    }

    public void setServersSuspending(boolean on) {
        serversSuspending = on;
    }

    public void updateSettings(PoolSettings s) {
        settings = s;
    }

    public Waiter newWaiter(Object owner) {
        return new Waiter(lock.newCondition(), owner);
    }

    // ------------------------------------------------------------------ clients

    /** Counts a logged-in client (for min_pool_size and SHOW POOLS). */
    public void clientJoined() {
        lock.lock();
        try {
            clients++;
        } finally {
            unlock();
        }
    }

    public void clientLeft() {
        lock.lock();
        try {
            clients--;
            assert clients >= 0;
        } finally {
            unlock();
        }
    }

    /**
     * Lends a server to a client: an idle one at once, else waits in FIFO order for a released or
     * new one.
     *
     * @param timeoutNanos query_wait_timeout; 0 waits without limit
     */
    public PoolEntry acquire(Waiter w, long timeoutNanos) throws AcquireException {
        lock.lock();
        try {
            assert !w.inline : "an inline wait must be settled first";
            long now = clock.nanos();
            if (refusal != null) {
                throw new AcquireException(refusal, refusalSqlState);
            }
            if (waitsSuspended) {
                throw new AcquireException("suspended", null, true);
            }
            PoolEntry s = takeIdleIfNobodyWaits();
            if (s != null) {
                return s;
            }
            failFastIfLoginFailing(now);
            enqueue(w, now, false);
            return awaitAssignment(w, now, timeoutNanos);
        } finally {
            unlock();
        }
    }

    /**
     * For an inline pass, which must not wait: the server handed to {@code w} while it waited
     * inline, or an idle one; else null, having queued {@code w} if it may wait
     * ({@link Waiter#waitingInline}) — its resumer then runs once a server is handed to it or its
     * wait fails. Null with nothing queued: the client's thread must do it (refusing, suspended,
     * a failing login, an earlier inline wait that failed).
     */
    public PoolEntry acquireInline(Waiter w) {
        lock.lock();
        try {
            if (w.inline) {
                if (w.assigned != null) {
                    PoolEntry s = w.assigned;
                    w.assigned = null;
                    w.inline = false;
                    return s;
                }
                return null; // still queued, or failed: the thread settles it
            }
            if (refusal != null || waitsSuspended) {
                return null;
            }
            PoolEntry s = takeIdleIfNobodyWaits();
            if (s == null) {
                long now = clock.nanos();
                if (!loginFailing(now)) {
                    enqueue(w, now, true);
                }
            }
            return s;
        } finally {
            unlock();
        }
    }

    /**
     * Ends an inline wait for the client's thread, which takes over: out of the queue, a server
     * handed meanwhile goes back to the pool (the thread asks again in order). Returns the
     * failure that ended the wait, if any ({@link #SUSPENDED} for a takeover's suspension).
     */
    public String settleInlineWait(Waiter w) {
        lock.lock();
        try {
            if (!w.inline) {
                return null;
            }
            w.inline = false;
            dequeue(w);
            String f = w.failure;
            w.failure = null;
            return f;
        } finally {
            unlock();
        }
    }

    /** Whether a failure from {@link #settleInlineWait} is a takeover's suspension. */
    public static boolean isSuspension(String failure) {
        return failure == SUSPENDED;
    }

    /** Wakes a waiter whose outcome is set: its thread, or (inline) its resumer after unlocking. */
    private void wake(Waiter w) {
        if (!w.inline) {
            w.condition.signal();
            return;
        }
        w.nextResume = null;
        if (resumeTail == null) {
            resumeHead = w;
        } else {
            resumeTail.nextResume = w;
        }
        resumeTail = w;
    }

    /** Releases the lock, then resumes the inline waiters woken under it, in order. */
    private void unlock() {
        Waiter r = null;
        if (lock.getHoldCount() == 1) {
            r = resumeHead;
            resumeHead = null;
            resumeTail = null;
        }
        lock.unlock();
        while (r != null) {
            Waiter next = r.nextResume;
            r.nextResume = null;
            r.resumer().run();
            r = next;
        }
    }

    private PoolEntry awaitAssignment(Waiter w, long start, long timeoutNanos) throws AcquireException {
        while (w.assigned == null && w.failure == null) {
            long remaining = timeoutNanos - (clock.nanos() - start);
            if (timeoutNanos > 0 && remaining <= 0) {
                dequeue(w);
                throw new AcquireException("query_wait_timeout", SqlState.PROTOCOL_VIOLATION);
            }
            try {
                if (timeoutNanos > 0) {
                    w.condition.awaitNanos(remaining);
                } else {
                    w.condition.await();
                }
            } catch (InterruptedException e) {
                dequeue(w);
                throw new AcquireException("interrupted while waiting for a server", SqlState.ADMIN_SHUTDOWN);
            }
        }
        if (w.failure != null) {
            dequeue(w);
            throw new AcquireException(w.failure, w.failureSqlState, w.failure == SUSPENDED);
        }
        return w.assigned;
    }

    private void dequeue(Waiter w) {
        if (w.queued) {
            waiters.remove(w);
            w.queued = false;
        }
        if (w.assigned != null) {
            // handed a server after giving up: give it back
            PoolEntry s = w.assigned;
            w.assigned = null;
            handOffOrIdle(s, clock.nanos());
        }
    }

    /** Wakes a waiting client with an error (it is being closed). Any thread. */
    public void abortWait(Waiter w, String reason, String sqlState) {
        lock.lock();
        try {
            if (w.queued && w.assigned == null) {
                waiters.remove(w);
                w.queued = false;
                w.failure = reason;
                w.failureSqlState = sqlState;
                wake(w);
            }
        } finally {
            unlock();
        }
    }

    /** An idle server, lent, when nobody waits ahead and the pool is not paused; else null. */
    private PoolEntry takeIdleIfNobodyWaits() {
        if (paused || !waiters.isEmpty()) {
            return null;
        }
        PoolEntry s = idle.pollFirst();
        if (s != null) {
            moveTo(s, ServerState.ACTIVE);
        }
        return s;
    }

    /** Queues {@code w} last, fresh, and launches a server if the queue calls for one. */
    private void enqueue(Waiter w, long now, boolean inline) {
        w.assigned = null;
        w.failure = null;
        w.sinceNanos = now;
        w.queued = true;
        w.inline = inline;
        waiters.addLast(w);
        launchIfNeeded(now);
    }

    /** Logins failed within server_login_retry and no server is left to serve: waiting is pointless. */
    private boolean loginFailing(long now) {
        return loginFailed && now - loginFailedNanos < settings.serverLoginRetryNanos() && usableServers() == 0;
    }

    private void failFastIfLoginFailing(long now) throws AcquireException {
        if (loginFailing(now)) {
            throw new AcquireException("server login has been failing, cached error: " + loginError + " (server_login_retry)",
                    loginErrorSqlState);
        }
    }

    /**
     * Waits until a server of this pool has logged in once, so the client can be welcomed with the
     * server's parameters.
     */
    public Map<String, String> awaitWelcome(long timeoutNanos) throws AcquireException {
        lock.lock();
        try {
            long start = clock.nanos();
            while (welcome == null) {
                long now = clock.nanos();
                failFastIfLoginFailing(now);
                long remaining = timeoutNanos - (now - start);
                if (remaining <= 0) {
                    throw new AcquireException("client_login_timeout (server down)", SqlState.PROTOCOL_VIOLATION);
                }
                welcomeWaiters++;
                try {
                    launchIfNeeded(now);
                    welcomeChanged.awaitNanos(remaining);
                } catch (InterruptedException e) {
                    throw new AcquireException("interrupted while waiting for a server", SqlState.ADMIN_SHUTDOWN);
                } finally {
                    welcomeWaiters--;
                }
                if (welcome == null && loginFailed && clock.nanos() - loginFailedNanos < settings.serverLoginRetryNanos()) {
                    throw new AcquireException(loginError, loginErrorSqlState);
                }
            }
            return welcome;
        } finally {
            unlock();
        }
    }

    // ------------------------------------------------------------------ servers

    /**
     * Takes a server back from a client. It goes to the oldest waiter, or idle, unless it must be
     * closed (close_needed, lifetime over, pool shrunk) or a cancel for it is in flight.
     */
    public void release(PoolEntry s) {
        String reason;
        lock.lock();
        try {
            if (s.state == ServerState.CLOSED) {
                return;
            }
            long now = clock.nanos();
            reason = closeReasonOnRelease(s, now);
            if (reason == null) {
                if (s.cancelsInFlight > 0) {
                    moveTo(s, ServerState.BEING_CANCELED);
                } else {
                    handOffOrIdle(s, now);
                }
                return;
            }
            moveTo(s, ServerState.CLOSED);
            launchIfNeeded(now);
        } finally {
            unlock();
        }
        s.close(reason);
    }

    private String closeReasonOnRelease(PoolEntry s, long now) {
        if (s.closeNeeded) {
            return "close_needed";
        }
        if (now - s.createdNanos >= s.lifetimeNanos && lifetimeCloseDue(now)) {
            lastLifetimeCloseNanos = now;
            return "server lifetime over";
        }
        int size = settings.poolSize();
        if (size > 0 && waiters.isEmpty() && totalServers() > size + settings.reservePoolSize()) {
            return "too many servers in the pool";
        }
        return null;
    }

    /**
     * Lifetime closes are spread out, at most one per server_lifetime / pool_size, so servers
     * born together are not all replaced at once (PgBouncer's lifetime_kill_gap). Under the lock.
     */
    private boolean lifetimeCloseDue(long now) {
        return now - lastLifetimeCloseNanos >= settings.serverLifetimeNanos() / Math.max(1, settings.poolSize());
    }

    /** Whether a server could be lent at once (an idle one, nobody waiting, not paused). */
    public boolean hasIdleServer() {
        lock.lock();
        try {
            return !paused && waiters.isEmpty() && !idle.isEmpty();
        } finally {
            unlock();
        }
    }

    /** Since when the longest-idle server has been idle, or Long.MAX_VALUE if none is idle. */
    public long oldestIdleSinceNanos() {
        lock.lock();
        try {
            PoolEntry oldest = idle.peekLast();
            return oldest == null ? Long.MAX_VALUE : oldest.idleSinceNanos;
        } finally {
            unlock();
        }
    }

    /**
     * Closes the longest-idle server to make room for another pool under a shared database or
     * user limit; false if none is idle.
     */
    public boolean evictOldestIdle() {
        PoolEntry victim;
        lock.lock();
        try {
            victim = idle.peekLast();
            if (victim == null) {
                return false;
            }
            moveTo(victim, ServerState.CLOSED);
        } finally {
            unlock();
        }
        victim.close("evicted");
        return true;
    }

    /** Marks a server as running an internal reset or check query (sv_tested). */
    public void markTested(PoolEntry s) {
        lock.lock();
        try {
            if (s.state != ServerState.CLOSED) {
                moveTo(s, ServerState.TESTED);
            }
        } finally {
            unlock();
        }
    }

    /** The server parameters new clients are welcomed with, or null before the first login. */
    public Map<String, String> welcome() {
        lock.lock();
        try {
            return welcome;
        } finally {
            unlock();
        }
    }

    /**
     * Takes in a server handed over by another process (takeover): counted against the limits
     * without checking them (it exists already), lent out if it came linked, else idle.
     */
    public void adopt(PoolEntry s, boolean linked, Map<String, String> welcomeParameters) {
        lock.lock();
        try {
            databaseServers.forceAcquire();
            userServers.forceAcquire();
            s.state = ServerState.LOGIN;
            login.add(s);
            if (welcomeParameters != null && welcome == null) {
                welcome = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(welcomeParameters));
            }
            if (linked) {
                moveTo(s, ServerState.ACTIVE);
            } else {
                moveTo(s, ServerState.IDLE);
                s.idleSinceNanos = clock.nanos();
                idle.addLast(s);
            }
        } finally {
            unlock();
        }
    }

    /** Sets the welcome parameters carried over from another process, if none are known yet. */
    public void adoptWelcome(Map<String, String> parameters) {
        lock.lock();
        try {
            if (welcome == null && parameters != null && !parameters.isEmpty()) {
                welcome = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
            }
        } finally {
            unlock();
        }
    }

    /** A server finished logging in: welcome parameters are known, and it serves the oldest waiter. */
    public void serverLoggedIn(PoolEntry s, Map<String, String> parameters) {
        lock.lock();
        try {
            if (s.state == ServerState.CLOSED) {
                return;
            }
            loginFailed = false;
            loginError = null;
            welcome = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
            welcomeChanged.signalAll();
            long now = clock.nanos();
            handOffOrIdle(s, now);
            launchIfNeeded(now);
        } finally {
            unlock();
        }
    }

    /** A login failed: remember the error; if nothing else can serve, fail every waiter with it. */
    public void serverLoginFailed(PoolEntry s, String error, String sqlState) {
        lock.lock();
        try {
            if (s.state != ServerState.CLOSED) {
                moveTo(s, ServerState.CLOSED);
            }
            loginFailed = true;
            loginFailedNanos = clock.nanos();
            loginError = error;
            loginErrorSqlState = sqlState == null ? SqlState.CONNECTION_FAILURE : sqlState;
            if (usableServers() == 0) {
                for (Waiter w : waiters) {
                    w.queued = false;
                    w.failure = error;
                    w.failureSqlState = loginErrorSqlState;
                    wake(w);
                }
                waiters.clear();
            }
            welcomeChanged.signalAll();
        } finally {
            unlock();
        }
    }

    /** The server's thread ended; forget it and replace it if clients wait. */
    public void serverClosed(PoolEntry s) {
        lock.lock();
        try {
            if (s.state == ServerState.CLOSED) {
                return;
            }
            moveTo(s, ServerState.CLOSED);
            launchIfNeeded(clock.nanos());
        } finally {
            unlock();
        }
    }

    /**
     * Notes a cancel request in flight against a server, so a release keeps it from reuse; only if
     * it is lent out and {@code stillTarget} (checked under the lock) confirms it still serves
     * the client that asked.
     */
    public boolean beginCancel(PoolEntry s, java.util.function.BooleanSupplier stillTarget) {
        lock.lock();
        try {
            if (s.state != ServerState.ACTIVE || !stillTarget.getAsBoolean()) {
                return false;
            }
            s.cancelsInFlight++;
            return true;
        } finally {
            unlock();
        }
    }

    public void endCancel(PoolEntry s) {
        lock.lock();
        try {
            s.cancelsInFlight--;
            if (s.cancelsInFlight == 0 && s.state == ServerState.BEING_CANCELED) {
                handOffOrIdle(s, clock.nanos());
            }
        } finally {
            unlock();
        }
    }

    private void handOffOrIdle(PoolEntry s, long now) {
        if (!paused) {
            Waiter w = waiters.pollFirst();
            if (w != null) {
                w.queued = false;
                w.assigned = s;
                moveTo(s, ServerState.ACTIVE);
                s.idleSinceNanos = 0; // straight from one client to the next: never idle, no check due
                wake(w);
                return;
            }
        }
        moveTo(s, ServerState.IDLE);
        s.idleSinceNanos = now;
        if (settings.roundRobin()) {
            idle.addLast(s);
        } else {
            idle.addFirst(s);
        }
    }

    /** The only place a server changes state; keeps lists, state and limits in step. */
    void moveTo(PoolEntry s, ServerState to) {
        assert lock.isHeldByCurrentThread();
        ServerState from = s.state;
        switch (from) {
            case LOGIN -> login.remove(s);
            case IDLE -> idle.remove(s);
            case ACTIVE -> active.remove(s);
            case TESTED -> tested.remove(s);
            case BEING_CANCELED -> beingCanceled.remove(s);
            case CLOSED -> throw new IllegalStateException("server " + s.id() + " is closed");
        }
        s.state = to;
        switch (to) {
            case LOGIN -> login.add(s);
            case IDLE -> {
                // the caller places it at the right end of the deque
            }
            case ACTIVE -> active.add(s);
            case TESTED -> tested.add(s);
            case BEING_CANCELED -> beingCanceled.add(s);
            case CLOSED -> {
                databaseServers.release();
                userServers.release();
            }
        }
    }

    // ------------------------------------------------------------------ launching

    /**
     * Starts a connection attempt if clients need one and every limit allows it. Under the lock;
     * the launcher only creates the object and starts its thread.
     */
    private void launchIfNeeded(long now) {
        if (!login.isEmpty() || paused) {
            return;
        }
        boolean demand = !waiters.isEmpty() || (welcome == null && welcomeWaiters > 0) || needsMinimum();
        if (!demand) {
            return;
        }
        if (loginFailed && now - loginFailedNanos < settings.serverLoginRetryNanos()) {
            return;
        }
        int total = totalServers();
        int size = settings.poolSize();
        if (size > 0 && total >= size && welcome != null) {
            if (!reserveAllowed(now, total)) {
                return;
            }
        }
        if (!databaseServers.tryAcquire()) {
            return;
        }
        if (!userServers.tryAcquire()) {
            databaseServers.release();
            return;
        }
        PoolEntry s = launcher.launch(this);
        s.state = ServerState.LOGIN;
        login.add(s);
    }

    private boolean reserveAllowed(long now, int total) {
        PoolSettings ps = settings;
        Waiter oldest = waiters.peekFirst();
        if (ps.reservePoolSize() > 0 && oldest != null && now - oldest.sinceNanos >= ps.reservePoolTimeoutNanos()
                && total < ps.poolSize() + ps.reservePoolSize()) {
            Log.warning("taking connection from reserve_pool: " + key);
            return true;
        }
        return false;
    }

    private boolean needsMinimum() {
        return settings.minPoolSize() > 0 && clients > 0 && totalServers() < settings.minPoolSize();
    }

    private int totalServers() {
        return login.size() + idle.size() + active.size() + tested.size() + beingCanceled.size();
    }

    private int usableServers() {
        return idle.size() + active.size() + tested.size() + beingCanceled.size();
    }

    // ------------------------------------------------------------------ janitor

    /**
     * Periodic upkeep (about three times a second): connect timeouts, idle timeouts, lifetime
     * (at most one closed per tick, so servers don't all expire together), reserve pool and
     * min_pool_size launches.
     */
    public void maintain() {
        List<PoolEntry> toClose = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        lock.lock();
        try {
            long now = clock.nanos();
            PoolSettings ps = settings;
            for (PoolEntry s : login) {
                if (ps.serverConnectTimeoutNanos() > 0 && now - s.createdNanos > ps.serverConnectTimeoutNanos()) {
                    toClose.add(s);
                    reasons.add("connect timeout");
                }
            }
            collectIdleCloses(now, ps, toClose, reasons);
            for (PoolEntry s : toClose) {
                if (s.state != ServerState.LOGIN) {
                    moveTo(s, ServerState.CLOSED);
                }
            }
            launchIfNeeded(now);
        } finally {
            unlock();
        }
        for (int i = 0; i < toClose.size(); i++) {
            toClose.get(i).close(reasons.get(i));
        }
    }

    private void collectIdleCloses(long now, PoolSettings ps, List<PoolEntry> toClose, List<String> reasons) {
        if (paused || refusal != null) {
            for (PoolEntry s : idle) {
                toClose.add(s);
                reasons.add(refusal != null ? "server shutting down" : "pause mode");
            }
            return;
        }
        int total = totalServers();
        int limit = ps.poolSize() > 0 ? ps.poolSize() + ps.reservePoolSize() : Integer.MAX_VALUE;
        boolean lifetimeClosed = false;
        Iterator<PoolEntry> it = idle.descendingIterator();
        while (it.hasNext()) {
            PoolEntry s = it.next();
            if (s.closeNeeded) {
                toClose.add(s);
                reasons.add("database configuration changed");
                total--;
            } else if (total > limit) {
                toClose.add(s);
                reasons.add("too many servers in the pool");
                total--;
            } else if (ps.serverIdleTimeoutNanos() > 0 && now - s.idleSinceNanos > ps.serverIdleTimeoutNanos()
                    && total > ps.minPoolSize()) {
                toClose.add(s);
                reasons.add("server idle timeout");
                total--;
            } else if (!lifetimeClosed && now - s.createdNanos >= s.lifetimeNanos && lifetimeCloseDue(now)) {
                toClose.add(s);
                reasons.add("server lifetime over");
                lifetimeClosed = true;
                lastLifetimeCloseNanos = now;
                total--;
            }
        }
    }

    /**
     * Marks every server to be closed instead of reused (RECONNECT, changed settings); idle ones
     * are closed at once, lent ones when they come back.
     */
    public void tagAllCloseNeeded() {
        List<PoolEntry> idleNow;
        lock.lock();
        try {
            forEachServer(s -> s.closeNeeded = true);
            idleNow = new ArrayList<>(idle);
            for (PoolEntry s : idleNow) {
                moveTo(s, ServerState.CLOSED);
            }
            launchIfNeeded(clock.nanos());
        } finally {
            unlock();
        }
        for (PoolEntry s : idleNow) {
            s.close("database configuration changed");
        }
    }

    // ------------------------------------------------------------------ pause / introspection

    private static final String SUSPENDED = "suspended";

    /**
     * Takeover to a pgloom successor: waiting clients stop waiting (keeping their requests to hand
     * over), and nobody starts waiting until {@link #resumeWaits}.
     */
    public void suspendWaits() {
        lock.lock();
        try {
            waitsSuspended = true;
            for (Waiter w : waiters) {
                w.queued = false;
                w.failure = SUSPENDED;
                w.failureSqlState = null;
                wake(w);
            }
            waiters.clear();
        } finally {
            unlock();
        }
    }

    public void resumeWaits() {
        lock.lock();
        try {
            waitsSuspended = false;
        } finally {
            unlock();
        }
    }

    /** From now on every acquire fails with {@code reason}, and so do the clients waiting now. */
    public void refuse(String reason, String sqlState) {
        lock.lock();
        try {
            refusal = reason;
            refusalSqlState = sqlState;
            for (Waiter w : waiters) {
                w.queued = false;
                w.failure = reason;
                w.failureSqlState = sqlState;
                wake(w);
            }
            waiters.clear();
        } finally {
            unlock();
        }
    }

    public boolean paused() {
        lock.lock();
        try {
            return paused;
        } finally {
            unlock();
        }
    }

    public void setPaused(boolean p) {
        lock.lock();
        try {
            paused = p;
            if (!p) {
                long now = clock.nanos();
                while (!waiters.isEmpty() && !idle.isEmpty()) {
                    handOffOrIdle(idle.pollFirst(), now);
                }
                launchIfNeeded(now);
            }
        } finally {
            unlock();
        }
    }

    /** Every server, for SHOW SERVERS and shutdown; a snapshot taken under the lock. */
    public List<PoolEntry> servers() {
        lock.lock();
        try {
            List<PoolEntry> out = new ArrayList<>();
            forEachServer(out::add);
            return out;
        } finally {
            unlock();
        }
    }

    private void forEachServer(java.util.function.Consumer<PoolEntry> f) {
        active.forEach(f);
        idle.forEach(f);
        tested.forEach(f);
        beingCanceled.forEach(f);
        login.forEach(f);
    }

    /** Counts for SHOW POOLS, taken together under the lock. */
    public record Counts(int clients, int waiting, int active, int idle, int tested, int login, int beingCanceled,
            long oldestWaitNanos) {
    }

    public Counts counts() {
        lock.lock();
        try {
            Waiter oldest = waiters.peekFirst();
            long wait = oldest == null ? 0 : clock.nanos() - oldest.sinceNanos;
            return new Counts(clients, waiters.size(), active.size(), idle.size(), tested.size(), login.size(),
                    beingCanceled.size(), wait);
        } finally {
            unlock();
        }
    }

    /** Checks that every list agrees with its entries' states and the limits; for tests. */
    public void checkInvariants() {
        lock.lock();
        try {
            for (PoolEntry s : idle) {
                check(s.state == ServerState.IDLE, s, "in idle list");
            }
            for (PoolEntry s : active) {
                check(s.state == ServerState.ACTIVE, s, "in active list");
            }
            for (PoolEntry s : login) {
                check(s.state == ServerState.LOGIN, s, "in login list");
            }
            for (PoolEntry s : tested) {
                check(s.state == ServerState.TESTED, s, "in tested list");
            }
            for (Waiter w : waiters) {
                check(w.queued && w.assigned == null, null, "queued waiter without assignment");
            }
            if (!waiters.isEmpty() && !paused) {
                check(idle.isEmpty(), null, "no idle server while clients wait");
            }
            check(login.size() <= 1, null, "at most one login in flight");
        } finally {
            unlock();
        }
    }

    private static void check(boolean ok, PoolEntry s, String what) {
        if (!ok) {
            throw new IllegalStateException("pool invariant broken: " + what + (s == null ? "" : " (server " + s.id() + ")"));
        }
    }

    /** Whether clients wait for a server: to run a query, or for the first login's parameters. */
    public boolean hasWaiters() {
        lock.lock();
        try {
            return !waiters.isEmpty() || (welcome == null && welcomeWaiters > 0);
        } finally {
            unlock();
        }
    }

    public int waitingCount() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            unlock();
        }
    }
}
