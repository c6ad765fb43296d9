package io.pgloom.pool;

import static io.pgloom.Polling.waitUntil;
import static io.pgloom.pool.PoolFixture.WELCOME;
import static io.pgloom.pool.PoolFixture.seconds;
import static io.pgloom.pool.PoolFixture.settings;
import static io.pgloom.pool.PoolFixture.startWaiting;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.pool.PoolFixture.Acquirer;
import io.pgloom.pool.PoolFixture.FakeClock;
import io.pgloom.pool.PoolFixture.FakeLauncher;
import io.pgloom.pool.PoolFixture.FakeServer;
import io.pgloom.proto.SqlState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One test per pooling rule (PgBouncer's, see reference §5.1 and §5.3), with a fake clock and fake servers. */
class PoolTest {
    private final FakeClock clock = new FakeClock();
    private final FakeLauncher launcher = new FakeLauncher(clock);
    private final Limit dbServers = new Limit(0);
    private final Limit userServers = new Limit(0);
    private final List<Pool> pools = new ArrayList<>();

    private Pool pool(PoolSettings s) {
        return pool("app", "alice", s, dbServers, userServers);
    }

    private Pool pool(String db, String user, PoolSettings s, Limit dbLimit, Limit userLimit) {
        Pool p = new Pool(new PoolKey(db, user), s, dbLimit, userLimit, launcher, clock);
        pools.add(p);
        return p;
    }

    @AfterEach
    void invariantsStillHold() {
        for (Pool p : pools) {
            p.checkInvariants();
        }
    }

    /** The server logging in right now; fails if there is none. */
    private FakeServer pending() {
        FakeServer s = launcher.pendingLogin();
        assertThat(s).as("a login in flight").isNotNull();
        return s;
    }

    /** n servers, each launched for a waiting client, logged in and lent to it. */
    private List<FakeServer> lend(Pool pool, int n) {
        List<FakeServer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Acquirer a = startWaiting(pool, "lend-" + i);
            FakeServer s = pending();
            pool.serverLoggedIn(s, WELCOME);
            assertThat(a.server()).isSameAs(s);
            assertThat(s.state()).isEqualTo(ServerState.ACTIVE);
            out.add(s);
        }
        return out;
    }

    private PoolEntry acquireNow(Pool pool) throws AcquireException {
        return pool.acquire(pool.newWaiter("now"), 0);
    }

    private static long millis(long ms) {
        return TimeUnit.MILLISECONDS.toNanos(ms);
    }

    // ---------------------------------------------------------------- reuse order

    @Test
    void idleServerIsReusedLifo() throws Exception {
        Pool pool = pool(settings(3));
        List<FakeServer> s = lend(pool, 3);
        s.forEach(pool::release);
        assertThat(pool.counts().idle()).isEqualTo(3);
        assertThat(acquireNow(pool)).isSameAs(s.get(2));
        assertThat(acquireNow(pool)).isSameAs(s.get(1));
        assertThat(acquireNow(pool)).isSameAs(s.get(0));
        assertThat(launcher.count()).isEqualTo(3);
    }

    @Test
    void idleServerIsReusedFifoWithServerRoundRobin() throws Exception {
        Pool pool = pool(settings(3, 0, 0, true));
        List<FakeServer> s = lend(pool, 3);
        s.forEach(pool::release);
        assertThat(acquireNow(pool)).isSameAs(s.get(0));
        assertThat(acquireNow(pool)).isSameAs(s.get(1));
        assertThat(acquireNow(pool)).isSameAs(s.get(2));
    }

    @Test
    void releasedServerGoesStraightToTheOldestWaiter() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        Acquirer c = startWaiting(pool, "C");
        Acquirer d = startWaiting(pool, "D");
        assertThat(pool.waitingCount()).isEqualTo(3);

        pool.release(s1);
        assertThat(b.server()).isSameAs(s1);
        assertThat(s1.state()).as("handed over without going idle").isEqualTo(ServerState.ACTIVE);
        assertThat(pool.counts().idle()).isZero();
        assertThat(c.done() || d.done()).isFalse();
        assertThat(pool.waitingCount()).isEqualTo(2);

        pool.release(s1);
        assertThat(c.server()).isSameAs(s1);
        assertThat(d.done()).isFalse();
        pool.release(s1);
        assertThat(d.server()).isSameAs(s1);
        assertThat(pool.waitingCount()).isZero();
        assertThat(launcher.count()).isEqualTo(1);
    }

    // ---------------------------------------------------------------- inline waiters

    /** An inline waiter whose resumer counts its wake-ups and checks it runs outside the lock. */
    private static final class InlineWaiter {
        final Waiter waiter;
        final java.util.concurrent.atomic.AtomicInteger resumed = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean lockFreeWhenResumed;

        InlineWaiter(Pool pool, String name) {
            waiter = pool.newWaiter(name);
            waiter.resumer(() -> {
                // another thread can take the pool's lock: the resumer does not run under it
                CompletableFuture<Integer> other = CompletableFuture.supplyAsync(pool::waitingCount);
                try {
                    other.get(5, TimeUnit.SECONDS);
                    lockFreeWhenResumed = true;
                } catch (Exception e) {
                    lockFreeWhenResumed = false;
                }
                resumed.incrementAndGet();
            });
        }
    }

    @Test
    void inlineWaiterQueuesFifoWithThreadWaitersAndIsResumedOutsideTheLock() throws Exception {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer a = startWaiting(pool, "A");
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).as("nothing idle").isNull();
        assertThat(b.waiter.waitingInline()).isTrue();
        assertThat(pool.waitingCount()).isEqualTo(2);

        pool.release(s1);
        assertThat(a.server()).as("the thread waiter came first").isSameAs(s1);
        assertThat(b.resumed.get()).isZero();

        pool.release(s1);
        assertThat(b.resumed.get()).as("resumed once").isEqualTo(1);
        assertThat(b.lockFreeWhenResumed).isTrue();
        assertThat(s1.state()).isEqualTo(ServerState.ACTIVE);
        assertThat(pool.acquireInline(b.waiter)).as("the server handed over").isSameAs(s1);
        assertThat(b.waiter.waitingInline()).isFalse();
        assertThat(pool.settleInlineWait(b.waiter)).as("nothing left to settle").isNull();
    }

    @Test
    void inlineWaiterTakesAnIdleServerAtOnceOnlyWhenNobodyWaits() throws Exception {
        Pool pool = pool(settings(2));
        List<FakeServer> s = lend(pool, 2);
        pool.release(s.get(0));
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).isSameAs(s.get(0));
        assertThat(b.waiter.waitingInline()).isFalse();
        assertThat(b.resumed.get()).isZero();
    }

    @Test
    void settlingGivesAServerHandedMeanwhileToTheNextWaiter() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).isNull();
        Acquirer c = startWaiting(pool, "C");
        pool.release(s1);
        assertThat(b.resumed.get()).isEqualTo(1);
        // B's thread took over instead (a hang-up, say) and settles: the server moves on to C
        assertThat(pool.settleInlineWait(b.waiter)).isNull();
        assertThat(c.server()).isSameAs(s1);
    }

    @Test
    void settlingAQueuedInlineWaitLeavesTheQueue() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).isNull();
        assertThat(pool.settleInlineWait(b.waiter)).isNull();
        assertThat(pool.waitingCount()).isZero();
        pool.release(s1);
        assertThat(pool.counts().idle()).isEqualTo(1);
        assertThat(b.resumed.get()).isZero();
    }

    @Test
    void aFailedInlineWaitIsResumedAndReportedWhenSettled() {
        Pool pool = pool(settings(1));
        lend(pool, 1);
        InlineWaiter b = new InlineWaiter(pool, "B");
        InlineWaiter c = new InlineWaiter(pool, "C");
        assertThat(pool.acquireInline(b.waiter)).isNull();
        assertThat(pool.acquireInline(c.waiter)).isNull();
        pool.refuse("database removed", SqlState.ADMIN_SHUTDOWN);
        assertThat(b.resumed.get()).isEqualTo(1);
        assertThat(c.resumed.get()).isEqualTo(1);
        assertThat(pool.acquireInline(b.waiter)).as("the resumed pass gets nothing").isNull();
        assertThat(b.waiter.waitingInline()).as("and hands over to the thread").isFalse();
        assertThat(pool.settleInlineWait(b.waiter)).isEqualTo("database removed");
        assertThat(b.waiter.failureSqlState()).isEqualTo(SqlState.ADMIN_SHUTDOWN);
        assertThat(pool.settleInlineWait(c.waiter)).isEqualTo("database removed");
    }

    @Test
    void aSuspensionEndsInlineWaitsAsSuchAndNoNewOneStarts() {
        Pool pool = pool(settings(1));
        lend(pool, 1);
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).isNull();
        pool.suspendWaits();
        assertThat(b.resumed.get()).isEqualTo(1);
        assertThat(Pool.isSuspension(pool.settleInlineWait(b.waiter))).isTrue();
        assertThat(pool.acquireInline(b.waiter)).isNull();
        assertThat(b.waiter.waitingInline()).as("suspended: the thread decides").isFalse();
        assertThat(pool.waitingCount()).isZero();
    }

    @Test
    void aClosingClientsInlineWaitIsAbortedAndResumed() {
        Pool pool = pool(settings(1));
        lend(pool, 1);
        InlineWaiter b = new InlineWaiter(pool, "B");
        assertThat(pool.acquireInline(b.waiter)).isNull();
        pool.abortWait(b.waiter, "client_idle_timeout", SqlState.PROTOCOL_VIOLATION);
        assertThat(b.resumed.get()).isEqualTo(1);
        assertThat(pool.waitingCount()).isZero();
        assertThat(pool.settleInlineWait(b.waiter)).isEqualTo("client_idle_timeout");
    }

    @Test
    void aNewServerAlsoGoesToTheOldestWaiter() {
        Pool pool = pool(settings(2));
        Acquirer a = startWaiting(pool, "A");
        Acquirer b = startWaiting(pool, "B");
        pool.serverLoggedIn(pending(), WELCOME);
        assertThat(a.server()).isSameAs(launcher.launched.get(0));
        pool.serverLoggedIn(pending(), WELCOME);
        assertThat(b.server()).isSameAs(launcher.launched.get(1));
    }

    // ---------------------------------------------------------------- launching

    @Test
    void atMostOneLoginInFlight() {
        Pool pool = pool(settings(5));
        Acquirer a = startWaiting(pool, "A");
        Acquirer b = startWaiting(pool, "B");
        Acquirer c = startWaiting(pool, "C");
        assertThat(launcher.count()).isEqualTo(1);
        assertThat(pool.counts().login()).isEqualTo(1);
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(1);

        pool.serverLoggedIn(launcher.launched.get(0), WELCOME);
        assertThat(a.server()).isSameAs(launcher.launched.get(0));
        assertThat(launcher.count()).as("the next login starts when one ends").isEqualTo(2);
        pool.serverLoggedIn(launcher.launched.get(1), WELCOME);
        assertThat(b.server()).isSameAs(launcher.launched.get(1));
        assertThat(launcher.count()).isEqualTo(3);
        pool.serverLoggedIn(launcher.launched.get(2), WELCOME);
        assertThat(c.server()).isSameAs(launcher.launched.get(2));
        assertThat(launcher.count()).as("no demand left").isEqualTo(3);
    }

    @Test
    void neverMoreServersThanPoolSize() {
        Pool pool = pool(settings(2));
        List<Acquirer> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(startWaiting(pool, "c" + i));
        }
        pool.serverLoggedIn(pending(), WELCOME);
        pool.serverLoggedIn(pending(), WELCOME);
        assertThat(launcher.pendingLogin()).isNull();
        clock.advance(Duration.ofMinutes(10));
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(2);
        assertThat(clients.get(0).server()).isSameAs(launcher.launched.get(0));
        assertThat(clients.get(1).server()).isSameAs(launcher.launched.get(1));
        assertThat(pool.waitingCount()).isEqualTo(2);
        Pool.Counts counts = pool.counts();
        assertThat(counts.active() + counts.idle() + counts.login()).isEqualTo(2);
        pool.release(clients.get(0).server());
        assertThat(clients.get(2).server()).isSameAs(launcher.launched.get(0));
    }

    @Test
    void poolSizeZeroMeansUnlimited() {
        Pool pool = pool(settings(0));
        List<Acquirer> clients = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            clients.add(startWaiting(pool, "c" + i));
        }
        for (int i = 0; i < 30; i++) {
            pool.serverLoggedIn(pending(), WELCOME);
        }
        assertThat(launcher.count()).isEqualTo(30);
        for (int i = 0; i < 30; i++) {
            assertThat(clients.get(i).server()).isSameAs(launcher.launched.get(i));
        }
    }

    @Test
    void reservePoolOnlyAfterTheOldestWaiterWaitedReservePoolTimeout() {
        Pool pool = pool(settings(1, 0, 1, false));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        assertThat(launcher.count()).isEqualTo(1);

        clock.advance(Duration.ofMillis(4999));
        pool.maintain();
        assertThat(launcher.count()).as("4.999 s < reserve_pool_timeout").isEqualTo(1);

        clock.advance(Duration.ofMillis(1));
        pool.maintain();
        assertThat(launcher.count()).as("reserve server launched").isEqualTo(2);
        FakeServer reserve = pending();
        pool.serverLoggedIn(reserve, WELCOME);
        assertThat(b.server()).isSameAs(reserve);

        Acquirer c = startWaiting(pool, "C");
        clock.advance(Duration.ofSeconds(60));
        pool.maintain();
        assertThat(launcher.count()).as("pool_size + reserve_pool_size reached").isEqualTo(2);
        pool.release(s1);
        assertThat(c.server()).isSameAs(s1);
    }

    @Test
    void reservePoolIsNotUsedWithoutWaiters() {
        Pool pool = pool(settings(1, 0, 3, false));
        lend(pool, 1);
        clock.advance(Duration.ofMinutes(10));
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(1);
    }

    // ---------------------------------------------------------------- login failures

    @Test
    void failedLoginFailsTheWaitersThenFailsFastUntilServerLoginRetry() throws Exception {
        Pool pool = pool(settings(2));
        Acquirer a = startWaiting(pool, "A");
        Acquirer b = startWaiting(pool, "B");
        FakeServer s1 = pending();
        String error = "password authentication failed for user \"alice\"";
        pool.serverLoginFailed(s1, error, SqlState.INVALID_PASSWORD);

        for (Acquirer waiter : List.of(a, b)) {
            AcquireException e = waiter.failure();
            assertThat(e).hasMessage(error);
            assertThat(e.sqlState()).isEqualTo(SqlState.INVALID_PASSWORD);
        }
        assertThat(s1.state()).isEqualTo(ServerState.CLOSED);
        assertThat(pool.waitingCount()).isZero();
        assertThat(dbServers.count()).isZero();
        assertThat(userServers.count()).isZero();

        String fastFailure = "server login has been failing, cached error: " + error + " (server_login_retry)";
        Acquirer c = startWaiting(pool, "C");
        assertThat(c.failure()).hasMessage(fastFailure);
        assertThat(launcher.count()).isEqualTo(1);

        clock.advance(Duration.ofMillis(14_999));
        pool.maintain();
        Acquirer d = startWaiting(pool, "D");
        assertThat(d.failure()).hasMessage(fastFailure);
        assertThat(d.failure().sqlState()).isEqualTo(SqlState.INVALID_PASSWORD);
        assertThat(launcher.count()).as("no login before server_login_retry").isEqualTo(1);

        clock.advance(Duration.ofMillis(1));
        Acquirer e = startWaiting(pool, "E");
        assertThat(e.done()).isFalse();
        assertThat(launcher.count()).as("a new login after server_login_retry").isEqualTo(2);
        FakeServer s2 = pending();
        pool.serverLoggedIn(s2, WELCOME);
        assertThat(e.server()).isSameAs(s2);
        pool.release(s2);
        assertThat(acquireNow(pool)).isSameAs(s2);
    }

    @Test
    void failedLoginWithoutSqlStateIsAConnectionFailure() {
        Pool pool = pool(settings(2));
        Acquirer a = startWaiting(pool, "A");
        pool.serverLoginFailed(pending(), "could not connect to server: Connection refused", null);
        assertThat(a.failure().sqlState()).isEqualTo(SqlState.CONNECTION_FAILURE);
    }

    @Test
    void failedLoginKeepsWaitersQueuedWhileOtherServersCanServeThem() {
        Pool pool = pool(settings(2));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        FakeServer s2 = pending();
        pool.serverLoginFailed(s2, "boom", null);
        assertThat(b.done()).isFalse();
        assertThat(pool.waitingCount()).isEqualTo(1);
        Acquirer c = startWaiting(pool, "C");
        assertThat(c.done()).as("no fail-fast while a server is usable").isFalse();
        assertThat(launcher.count()).isEqualTo(2);
        pool.release(s1);
        assertThat(b.server()).isSameAs(s1);
        pool.release(s1);
        assertThat(c.server()).isSameAs(s1);
    }

    @Test
    void connectTimeoutClosesTheLoginButItsThreadReportsTheEnd() {
        Pool pool = pool(settings(2));
        Acquirer a = startWaiting(pool, "A");
        FakeServer s1 = pending();
        clock.advance(Duration.ofSeconds(15));
        pool.maintain();
        assertThat(s1.closeReasons).isEmpty();
        clock.advance(Duration.ofMillis(1));
        pool.maintain();
        assertThat(s1.closeReasons).containsExactly("connect timeout");
        assertThat(s1.state()).as("the login thread still owns it").isEqualTo(ServerState.LOGIN);
        assertThat(launcher.count()).isEqualTo(1);
        pool.serverLoginFailed(s1, "connect timeout", null);
        assertThat(a.failure()).hasMessage("connect timeout");
        assertThat(dbServers.count()).isZero();
    }

    // ---------------------------------------------------------------- closing

    @Test
    void idleTimeoutClosesViaMaintain() {
        Pool pool = pool(settings(3));
        List<FakeServer> s = lend(pool, 2);
        s.forEach(pool::release);
        clock.advance(Duration.ofSeconds(600));
        pool.maintain();
        assertThat(PoolFixture.reasons(s.get(0), s.get(1))).isEmpty();
        clock.advanceNanos(1);
        pool.maintain();
        assertThat(s.get(0).closeReasons).containsExactly("server idle timeout");
        assertThat(s.get(1).closeReasons).containsExactly("server idle timeout");
        assertThat(s).allSatisfy(x -> assertThat(x.state()).isEqualTo(ServerState.CLOSED));
        assertThat(pool.counts().idle()).isZero();
        assertThat(dbServers.count()).isZero();
        assertThat(userServers.count()).isZero();
    }

    @Test
    void idleTimeoutKeepsMinPoolSizeAndClosesTheLongestIdleFirst() {
        Pool pool = pool(settings(3, 1, 0, false));
        List<FakeServer> s = lend(pool, 2);
        pool.release(s.get(0));
        clock.advance(Duration.ofSeconds(1));
        pool.release(s.get(1));
        clock.advance(Duration.ofSeconds(601));
        pool.maintain();
        assertThat(s.get(0).closeReasons).containsExactly("server idle timeout");
        assertThat(s.get(1).closeReasons).isEmpty();
        clock.advance(Duration.ofHours(1).minusSeconds(610));
        pool.maintain();
        assertThat(s.get(1).closeReasons).isEmpty();
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void idleTimeoutCountsFromTheLastRelease() {
        Pool pool = pool(settings(1));
        FakeServer s = lend(pool, 1).getFirst();
        clock.advance(Duration.ofSeconds(500));
        pool.release(s);
        clock.advance(Duration.ofSeconds(500));
        pool.maintain();
        assertThat(s.closeReasons).isEmpty();
    }

    @Test
    void lifetimeOverOnRelease() {
        PoolSettings base = settings(2);
        Pool pool = pool(PoolFixture.with(base, Duration.ofSeconds(5), Duration.ZERO, Duration.ofSeconds(3600),
                Duration.ofSeconds(15), Duration.ofSeconds(15)));
        List<FakeServer> s = lend(pool, 2);
        clock.advance(Duration.ofSeconds(3599));
        pool.release(s.get(0));
        assertThat(s.get(0).closeReasons).isEmpty();
        assertThat(s.get(0).state()).isEqualTo(ServerState.IDLE);
        clock.advance(Duration.ofSeconds(1));
        pool.release(s.get(1));
        assertThat(s.get(1).closeReasons).containsExactly("server lifetime over");
        assertThat(s.get(1).state()).isEqualTo(ServerState.CLOSED);
        assertThat(dbServers.count()).isEqualTo(1);
    }

    @Test
    void lifetimeViaMaintainIsStaggered() {
        PoolSettings base = settings(2);
        Pool pool = pool(PoolFixture.with(base, Duration.ofSeconds(5), Duration.ZERO, Duration.ofSeconds(3600),
                Duration.ofSeconds(15), Duration.ofSeconds(15)));
        List<FakeServer> s = lend(pool, 2);
        s.forEach(pool::release);
        clock.advance(Duration.ofSeconds(3600));
        pool.maintain();
        assertThat(PoolFixture.reasons(s.get(0), s.get(1))).containsExactly("server lifetime over");
        pool.maintain();
        clock.advance(Duration.ofSeconds(1799));
        pool.maintain();
        assertThat(PoolFixture.reasons(s.get(0), s.get(1))).as("at most one per server_lifetime / pool_size").hasSize(1);
        clock.advance(Duration.ofSeconds(1));
        pool.maintain();
        assertThat(PoolFixture.reasons(s.get(0), s.get(1))).containsExactly("server lifetime over", "server lifetime over");
        assertThat(dbServers.count()).isZero();
    }

    @Test
    void closeNeededServerIsClosedOnRelease() {
        Pool pool = pool(settings(2));
        FakeServer s = lend(pool, 1).getFirst();
        pool.tagAllCloseNeeded();
        assertThat(s.closeNeeded()).isTrue();
        assertThat(s.closeReasons).isEmpty();
        pool.release(s);
        assertThat(s.closeReasons).containsExactly("close_needed");
        assertThat(s.state()).isEqualTo(ServerState.CLOSED);
        assertThat(dbServers.count()).isZero();
    }

    @Test
    void closeNeededIdleServerIsClosedByMaintain() {
        Pool pool = pool(settings(2));
        FakeServer s = lend(pool, 1).getFirst();
        pool.release(s);
        pool.tagAllCloseNeeded();
        pool.maintain();
        assertThat(s.closeReasons).containsExactly("database configuration changed");
        assertThat(s.state()).isEqualTo(ServerState.CLOSED);
    }

    /**
     * PgBouncer's tag_pool_dirty() disconnects idle servers at once ("obsolete connection"); a
     * server tagged close_needed (RECONNECT, RELOAD with a changed host) must never be lent out
     * again, even before the next janitor tick.
     */
    @Test
    void closeNeededIdleServerIsNeverLentOut() {
        Pool pool = pool(settings(2));
        FakeServer old = lend(pool, 1).getFirst();
        pool.release(old);
        pool.tagAllCloseNeeded();
        Acquirer a = startWaiting(pool, "A");
        if (a.done()) {
            assertThat(a.server()).as("a server tagged close_needed was lent out").isNotSameAs(old);
        }
        FakeServer fresh = pending();
        pool.serverLoggedIn(fresh, WELCOME);
        assertThat(a.server()).isSameAs(fresh);
        assertThat(old.closeRequested()).isTrue();
    }

    @Test
    void releaseAbovePoolSizeClosesTheServer() {
        Pool pool = pool(settings(2));
        List<FakeServer> s = lend(pool, 2);
        pool.updateSettings(settings(1));
        pool.release(s.get(0));
        assertThat(s.get(0).closeReasons).containsExactly("too many servers in the pool");
        pool.release(s.get(1));
        assertThat(s.get(1).closeReasons).isEmpty();
        assertThat(s.get(1).state()).isEqualTo(ServerState.IDLE);
    }

    /**
     * PgBouncer's janitor (check_pool_size) closes idle servers above pool_size +
     * reserve_pool_size, so a RELOAD that lowers pool_size takes effect without waiting for
     * server_idle_timeout.
     */
    @Test
    void maintainClosesIdleServersAbovePoolSize() {
        Pool pool = pool(settings(3));
        List<FakeServer> s = lend(pool, 3);
        s.forEach(pool::release);
        pool.updateSettings(settings(1));
        pool.maintain();
        assertThat(PoolFixture.reasons(s.get(0), s.get(1), s.get(2)))
                .containsExactly("too many servers in the pool", "too many servers in the pool");
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void serverClosedWhileLentIsReplacedForWaiters() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        pool.serverClosed(s1);
        assertThat(s1.state()).isEqualTo(ServerState.CLOSED);
        FakeServer s2 = pending();
        pool.serverLoggedIn(s2, WELCOME);
        assertThat(b.server()).isSameAs(s2);
        assertThat(dbServers.count()).isEqualTo(1);
        pool.release(s1);
        pool.serverClosed(s1);
        assertThat(dbServers.count()).as("a closed server is forgotten once").isEqualTo(1);
        assertThat(pool.counts().idle()).isZero();
    }

    // ---------------------------------------------------------------- limits

    @Test
    void databaseLimitIsSharedByThePoolsOfADatabaseAndReleasedOnClose() {
        Limit db = new Limit(1);
        Pool alice = pool("app", "alice", settings(5), db, new Limit(0));
        Pool bob = pool("app", "bob", settings(5), db, new Limit(0));
        FakeServer s1 = lend(alice, 1).getFirst();
        assertThat(db.count()).isEqualTo(1);

        Acquirer b = startWaiting(bob, "B");
        assertThat(launcher.count()).as("max_db_connections reached").isEqualTo(1);
        bob.maintain();
        assertThat(launcher.count()).isEqualTo(1);

        alice.serverClosed(s1);
        assertThat(db.count()).isZero();
        bob.maintain();
        FakeServer s2 = pending();
        assertThat(s2.pool).isSameAs(bob);
        assertThat(db.count()).isEqualTo(1);
        bob.serverLoggedIn(s2, WELCOME);
        assertThat(b.server()).isSameAs(s2);

        Acquirer a2 = startWaiting(alice, "A2");
        alice.maintain();
        assertThat(launcher.count()).as("max_db_connections reached again").isEqualTo(2);
        assertThat(a2.done()).isFalse();
        alice.abortWait(a2.waiter, "test over", SqlState.ADMIN_SHUTDOWN);
        assertThat(a2.failure()).hasMessage("test over");
        assertThat(db.count()).isEqualTo(1);
    }

    @Test
    void userLimitIsNeverExceededAndADatabaseSlotIsNotLeakedWhenItStopsALaunch() {
        Limit user = new Limit(1);
        Limit dbOne = new Limit(0);
        Limit dbTwo = new Limit(0);
        Pool one = pool("one", "alice", settings(5), dbOne, user);
        Pool two = pool("two", "alice", settings(5), dbTwo, user);
        FakeServer s1 = lend(one, 1).getFirst();
        Acquirer b = startWaiting(two, "B");
        assertThat(launcher.count()).isEqualTo(1);
        assertThat(user.count()).isEqualTo(1);
        assertThat(dbTwo.count()).as("the database slot taken before the user limit refused is given back").isZero();
        one.release(s1);
        clock.advance(Duration.ofSeconds(601));
        one.maintain();
        assertThat(s1.closeReasons).containsExactly("server idle timeout");
        assertThat(user.count()).isZero();
        two.maintain();
        two.serverLoggedIn(pending(), WELCOME);
        assertThat(b.server().state()).isEqualTo(ServerState.ACTIVE);
        assertThat(user.count()).isEqualTo(1);
        assertThat(dbTwo.count()).isEqualTo(1);
        assertThat(dbOne.count()).isZero();
    }

    @Test
    void limitsCountEveryServerUntilItIsClosed() {
        Pool pool = pool(settings(3));
        List<FakeServer> s = lend(pool, 3);
        assertThat(dbServers.count()).isEqualTo(3);
        assertThat(userServers.count()).isEqualTo(3);
        pool.release(s.get(0));
        assertThat(dbServers.count()).as("idle servers count").isEqualTo(3);
        pool.tagAllCloseNeeded();
        assertThat(dbServers.count()).as("the idle tagged server is closed at once").isEqualTo(2);
        pool.release(s.get(1));
        assertThat(dbServers.count()).isEqualTo(1);
        pool.serverClosed(s.get(2));
        pool.maintain();
        assertThat(dbServers.count()).isZero();
        assertThat(userServers.count()).isZero();
    }

    // ---------------------------------------------------------------- waiting

    @Test
    void abortWaitWakesTheWaiterWithTheReason() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        Acquirer c = startWaiting(pool, "C");
        pool.abortWait(b.waiter, "client_login_timeout", SqlState.PROTOCOL_VIOLATION);
        AcquireException e = b.failure();
        assertThat(e).hasMessage("client_login_timeout");
        assertThat(e.sqlState()).isEqualTo(SqlState.PROTOCOL_VIOLATION);
        assertThat(pool.waitingCount()).isEqualTo(1);
        pool.abortWait(b.waiter, "again", SqlState.PROTOCOL_VIOLATION);
        pool.release(s1);
        assertThat(c.server()).as("the next waiter is served").isSameAs(s1);
    }

    @Test
    void abortWaitOfAWaiterThatIsNotWaitingDoesNothing() throws Exception {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        pool.release(s1);
        Waiter w = pool.newWaiter("x");
        pool.abortWait(w, "nothing", SqlState.PROTOCOL_VIOLATION);
        assertThat(pool.acquire(w, 0)).isSameAs(s1);
    }

    @Test
    void queryWaitTimeoutFollowsThePoolClock() {
        // The deadline is measured with the pool's Clock, but the wait itself is Condition.awaitNanos
        // of the remaining time: after the fake clock passes the deadline, the waiter notices when its
        // current (real-time) wait of at most the timeout ends. Hence a tiny timeout here.
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B", millis(50));
        Acquirer c = startWaiting(pool, "C");
        long realStart = System.nanoTime();
        clock.advance(Duration.ofMillis(50));
        AcquireException e = b.failure();
        assertThat(e).hasMessage("query_wait_timeout");
        assertThat(e.sqlState()).isEqualTo(SqlState.PROTOCOL_VIOLATION);
        assertThat(System.nanoTime() - realStart).isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(pool.waitingCount()).isEqualTo(1);
        pool.release(s1);
        assertThat(c.server()).isSameAs(s1);
    }

    @Test
    void interruptedWaiterLeavesTheQueue() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        b.thread.interrupt();
        AcquireException e = b.failure();
        assertThat(e).hasMessage("interrupted while waiting for a server");
        assertThat(e.sqlState()).isEqualTo(SqlState.ADMIN_SHUTDOWN);
        assertThat(pool.waitingCount()).isZero();
        pool.release(s1);
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void pausedPoolHandsOutNothingAndLaunchesNothing() {
        Pool pool = pool(settings(2));
        FakeServer s1 = lend(pool, 1).getFirst();
        pool.setPaused(true);
        assertThat(pool.paused()).isTrue();
        Acquirer b = startWaiting(pool, "B");
        assertThat(launcher.count()).as("no launch while paused").isEqualTo(1);
        pool.release(s1);
        assertThat(s1.state()).isEqualTo(ServerState.IDLE);
        Acquirer c = startWaiting(pool, "C");
        assertThat(b.done() || c.done()).isFalse();
        assertThat(pool.waitingCount()).isEqualTo(2);

        pool.setPaused(false);
        assertThat(b.server()).isSameAs(s1);
        FakeServer s2 = pending();
        pool.serverLoggedIn(s2, WELCOME);
        assertThat(c.server()).isSameAs(s2);
    }

    @Test
    void pauseModeClosesIdleServersAtTheNextTick() {
        Pool pool = pool(settings(2));
        List<FakeServer> s = lend(pool, 2);
        pool.setPaused(true);
        pool.release(s.get(0));
        pool.maintain();
        assertThat(s.get(0).closeReasons).containsExactly("pause mode");
        assertThat(s.get(0).state()).isEqualTo(ServerState.CLOSED);
        assertThat(s.get(1).closeReasons).as("lent servers are left alone").isEmpty();
        Acquirer a = startWaiting(pool, "A");
        pool.maintain();
        assertThat(launcher.count()).as("no launch while paused").isEqualTo(2);
        pool.setPaused(false);
        FakeServer fresh = pending();
        pool.serverLoggedIn(fresh, WELCOME);
        assertThat(a.server()).isSameAs(fresh);
        assertThat(dbServers.count()).isEqualTo(2);
    }

    @Test
    void refusingPoolFailsWaitersAndNewcomersAndClosesIdleServers() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        Acquirer b = startWaiting(pool, "B");
        pool.refuse("server shutting down", SqlState.ADMIN_SHUTDOWN);
        AcquireException e = b.failure();
        assertThat(e).hasMessage("server shutting down");
        assertThat(e.sqlState()).isEqualTo(SqlState.ADMIN_SHUTDOWN);
        assertThat(startWaiting(pool, "C").failure()).hasMessage("server shutting down");
        pool.release(s1);
        assertThat(s1.state()).isEqualTo(ServerState.IDLE);
        pool.maintain();
        assertThat(s1.closeReasons).containsExactly("server shutting down");
        assertThat(dbServers.count()).isZero();
        assertThat(launcher.count()).isEqualTo(1);
    }

    @Test
    void newcomerDoesNotJumpTheQueueAfterResume() {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        pool.setPaused(true);
        Acquirer b = startWaiting(pool, "B");
        pool.release(s1);
        Acquirer c = startWaiting(pool, "C");
        assertThat(c.done()).as("an idle server is not taken while others wait").isFalse();
        pool.setPaused(false);
        assertThat(b.server()).isSameAs(s1);
        pool.release(s1);
        assertThat(c.server()).isSameAs(s1);
    }

    // ---------------------------------------------------------------- welcome

    @Test
    void awaitWelcomeWaitsForTheFirstLogin() throws Exception {
        Pool pool = pool(settings(2));
        CompletableFuture<Map<String, String>> welcome = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                welcome.complete(pool.awaitWelcome(seconds(60)));
            } catch (Throwable t) {
                welcome.completeExceptionally(t);
            }
        });
        waitUntil(() -> launcher.count() == 1, "the welcome login to launch");
        assertThat(welcome).isNotDone();
        FakeServer s = pending();
        pool.serverLoggedIn(s, WELCOME);
        assertThat(welcome.get(10, TimeUnit.SECONDS)).isEqualTo(WELCOME);
        assertThat(s.state()).isEqualTo(ServerState.IDLE);
        assertThat(pool.awaitWelcome(seconds(1))).isEqualTo(WELCOME);
        assertThat(launcher.count()).isEqualTo(1);
    }

    @Test
    void awaitWelcomeFailsWithTheCachedLoginError() throws Exception {
        Pool pool = pool(settings(2));
        CompletableFuture<Map<String, String>> welcome = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                welcome.complete(pool.awaitWelcome(seconds(60)));
            } catch (Throwable t) {
                welcome.completeExceptionally(t);
            }
        });
        waitUntil(() -> launcher.count() == 1, "the welcome login to launch");
        pool.serverLoginFailed(pending(), "database \"app\" does not exist", SqlState.INVALID_CATALOG_NAME);
        waitUntil(welcome::isDone, "awaitWelcome to return");
        assertThat(welcome).isCompletedExceptionally();
        Throwable t = welcome.handle((v, ex) -> ex).get();
        assertThat(t).isInstanceOf(AcquireException.class).hasMessage("database \"app\" does not exist");
        assertThat(((AcquireException) t).sqlState()).isEqualTo(SqlState.INVALID_CATALOG_NAME);

        AcquireException fast = org.junit.jupiter.api.Assertions.assertThrows(AcquireException.class,
                () -> pool.awaitWelcome(seconds(60)));
        assertThat(fast).hasMessage("server login has been failing, cached error: database \"app\" does not exist (server_login_retry)");
        assertThat(launcher.count()).isEqualTo(1);
    }

    @Test
    void awaitWelcomeTimesOutByThePoolClock() throws Exception {
        Pool pool = pool(settings(2));
        CompletableFuture<Map<String, String>> welcome = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                welcome.complete(pool.awaitWelcome(millis(50)));
            } catch (Throwable t) {
                welcome.completeExceptionally(t);
            }
        });
        waitUntil(() -> launcher.count() == 1, "the welcome login to launch");
        clock.advance(Duration.ofMillis(50));
        waitUntil(welcome::isDone, "awaitWelcome to time out");
        Throwable t = welcome.handle((v, ex) -> ex).get();
        assertThat(t).isInstanceOf(AcquireException.class).hasMessage("client_login_timeout (server down)");
    }

    // ---------------------------------------------------------------- min_pool_size, cancels, tested

    @Test
    void minPoolSizeIsFilledOneLoginAtATimeOnlyWhileClientsAreLoggedIn() {
        Pool pool = pool(settings(5, 2, 0, false));
        pool.maintain();
        assertThat(launcher.count()).as("no clients, no minimum").isZero();
        pool.clientJoined();
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(1);
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(1);
        pool.serverLoggedIn(pending(), WELCOME);
        assertThat(launcher.count()).isEqualTo(2);
        pool.serverLoggedIn(pending(), WELCOME);
        pool.maintain();
        assertThat(launcher.count()).isEqualTo(2);
        assertThat(pool.counts().idle()).isEqualTo(2);
        assertThat(pool.counts().clients()).isEqualTo(1);
        pool.clientLeft();
        assertThat(pool.counts().clients()).isZero();
    }

    @Test
    void serverReleasedWhileACancelIsInFlightIsNotReusedUntilItEnds() throws Exception {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        assertThat(pool.beginCancel(s1, () -> false)).isFalse();
        assertThat(pool.beginCancel(s1, () -> true)).isTrue();
        pool.release(s1);
        assertThat(s1.state()).isEqualTo(ServerState.BEING_CANCELED);
        assertThat(pool.counts().beingCanceled()).isEqualTo(1);
        assertThat(pool.beginCancel(s1, () -> true)).as("only lent servers").isFalse();
        Acquirer b = startWaiting(pool, "B");
        assertThat(b.done()).isFalse();
        assertThat(launcher.count()).isEqualTo(1);
        pool.endCancel(s1);
        assertThat(b.server()).isSameAs(s1);
    }

    @Test
    void testedServerGoesIdleOnRelease() throws Exception {
        Pool pool = pool(settings(1));
        FakeServer s1 = lend(pool, 1).getFirst();
        pool.markTested(s1);
        assertThat(s1.state()).isEqualTo(ServerState.TESTED);
        assertThat(pool.counts().tested()).isEqualTo(1);
        pool.release(s1);
        assertThat(s1.state()).isEqualTo(ServerState.IDLE);
        assertThat(acquireNow(pool)).isSameAs(s1);
    }

    @Test
    void countsAndServersAgree() {
        Pool pool = pool(settings(3));
        List<FakeServer> s = lend(pool, 2);
        pool.release(s.get(0));
        Acquirer a = startWaiting(pool, "A");
        assertThat(a.server()).isSameAs(s.get(0));
        Acquirer b = startWaiting(pool, "B");
        clock.advance(Duration.ofSeconds(2));
        Pool.Counts c = pool.counts();
        assertThat(c.active()).isEqualTo(2);
        assertThat(c.login()).isEqualTo(1);
        assertThat(c.waiting()).isEqualTo(1);
        assertThat(c.oldestWaitNanos()).isEqualTo(seconds(2));
        assertThat(pool.servers()).hasSize(3).containsAll(s);
        pool.abortWait(b.waiter, "done", SqlState.ADMIN_SHUTDOWN);
        b.failure();
    }
}
