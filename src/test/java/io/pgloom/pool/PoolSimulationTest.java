package io.pgloom.pool;

import static io.pgloom.Polling.waitUntil;
import static io.pgloom.pool.PoolFixture.WELCOME;

import io.pgloom.config.PoolMode;
import io.pgloom.pool.PoolFixture.Acquirer;
import io.pgloom.pool.PoolFixture.FakeClock;
import io.pgloom.pool.PoolFixture.FakeLauncher;
import io.pgloom.pool.PoolFixture.FakeServer;
import io.pgloom.proto.SqlState;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deterministic simulation of one or two pools sharing a database {@link Limit}: a seeded random
 * sequence of acquires (each on its own virtual thread), releases, login results, server closes,
 * janitor ticks with clock jumps, RECONNECT tags, PAUSE/RESUME and RELOADs of the pool size. Every
 * step waits until each acquiring thread is either parked in the pool or done, so the run depends
 * only on the seed; after every step the pools' invariants are checked.
 */
class PoolSimulationTest {
    private static final int STEPS = 2_000;
    private static final long RETRY_NANOS = Duration.ofSeconds(15).toNanos();

    static LongStream seeds() {
        // arbitrary, unrelated seeds (multiples of SplittableRandom's gamma would give shifted copies of one sequence)
        return LongStream.rangeClosed(1, 20).map(i -> 20_260_701L + i * 1_000_003L * i);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomOperationsKeepEveryInvariant(long seed) {
        new Simulation(seed).run();
    }

    /** One client of the simulation: queued, holding a server, or gone. */
    private static final class Client {
        final Acquirer acquirer;
        final long seq;
        PoolEntry held;

        Client(Acquirer acquirer, long seq) {
            this.acquirer = acquirer;
            this.seq = seq;
        }
    }

    /** The test's view of one pool. */
    private static final class Model {
        final Pool pool;
        final Limit userLimit;
        final List<Client> queued = new ArrayList<>();
        final List<Client> holders = new ArrayList<>();
        boolean paused;
        int clients;
        boolean loginFailed;
        long loginFailedNanos;
        long seq;

        Model(Pool pool, Limit userLimit) {
            this.pool = pool;
            this.userLimit = userLimit;
        }
    }

    private static final class Simulation {
        final long seed;
        final SplittableRandom random;
        final FakeClock clock = new FakeClock();
        final FakeLauncher launcher = new FakeLauncher(clock);
        final Limit dbLimit;
        final List<Model> models = new ArrayList<>();
        final List<String> violations = new CopyOnWriteArrayList<>();
        final Deque<String> recent = new ArrayDeque<>();
        int step;
        int served;
        int failedLogins;
        int queuedMax;
        int handoffs;
        int reserveLaunches;

        Simulation(long seed) {
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            this.dbLimit = new Limit(random.nextInt(4) == 0 ? 0 : 2 + random.nextInt(4));
            int poolCount = 1 + random.nextInt(2);
            for (int i = 0; i < poolCount; i++) {
                Limit user = new Limit(random.nextInt(3) == 0 ? 2 + random.nextInt(3) : 0);
                PoolSettings s = randomSettings(1 + random.nextInt(4), random.nextInt(3), random.nextBoolean());
                Pool pool = new Pool(new PoolKey("app", "user" + i), s, dbLimit, user, launcher, clock);
                models.add(new Model(pool, user));
            }
            launcher.onLaunch = this::checkLaunch;
        }

        PoolSettings randomSettings(int size, int reserve, boolean roundRobin) {
            return new PoolSettings(PoolMode.TRANSACTION, size, random.nextInt(4) == 0 ? 1 : 0, reserve,
                    Duration.ofSeconds(5).toNanos(), Duration.ofSeconds(600).toNanos(), Duration.ofSeconds(3600).toNanos(),
                    Duration.ofSeconds(15).toNanos(), RETRY_NANOS, roundRobin);
        }

        void run() {
            try {
                for (step = 0; step < STEPS; step++) {
                    Model m = models.get(random.nextInt(models.size()));
                    int dice = random.nextInt(100);
                    String op = operate(m, dice);
                    note(m.pool.key() + " " + op);
                    settle();
                    collect();
                    checkAll();
                }
                check(served > 0, "no client was ever served");
                check(handoffs > 0 && reserveLaunches + failedLogins > 0, "the run exercised too little: " + stats());
            } catch (AssertionError | RuntimeException e) {
                String where = "seed " + seed + ", step " + step + ": ";
                String message = String.valueOf(e.getMessage());
                throw new AssertionError((message.startsWith(where) ? "" : where) + message + "\n" + stats()
                        + "\nlast operations:\n  " + String.join("\n  ", recent), e);
            } finally {
                for (Model m : models) {
                    for (Client c : m.queued) {
                        m.pool.abortWait(c.acquirer.waiter, "simulation over", SqlState.ADMIN_SHUTDOWN);
                    }
                }
            }
        }

        String stats() {
            return models.size() + " pools, max_db_connections " + dbLimit.max() + ", " + served + " served ("
                    + handoffs + " after waiting), " + launcher.count() + " launched (" + reserveLaunches + " from the reserve), "
                    + failedLogins + " failed logins, up to " + queuedMax + " waiting";
        }

        void note(String op) {
            recent.addLast(step + ": " + op);
            if (recent.size() > 25) {
                recent.removeFirst();
            }
        }

        String operate(Model m, int dice) {
            if (dice < 22) {
                return acquire(m);
            } else if (dice < 46) {
                return release(m);
            } else if (dice < 60) {
                return loginResult(m, true);
            } else if (dice < 62) {
                return loginResult(m, false);
            } else if (dice < 65) {
                return serverClose(m);
            } else if (dice < 78) {
                return maintain();
            } else if (dice < 80) {
                m.pool.tagAllCloseNeeded();
                return "tagAllCloseNeeded";
            } else if (dice < 84) {
                // short pauses: resume at once, pause only now and then
                if (!m.paused && random.nextInt(3) != 0) {
                    return "setPaused: skipped";
                }
                m.paused = !m.paused;
                m.pool.setPaused(m.paused);
                return "setPaused(" + m.paused + ")";
            } else if (dice < 88) {
                PoolSettings s = randomSettings(1 + random.nextInt(4), random.nextInt(3), m.pool.settings().roundRobin());
                m.pool.updateSettings(s);
                return "updateSettings(pool_size " + s.poolSize() + ", reserve " + s.reservePoolSize() + ", min "
                        + s.minPoolSize() + ")";
            } else if (dice < 92) {
                return abort(m);
            } else if (dice < 95) {
                if (m.clients > 0 && random.nextBoolean()) {
                    m.clients--;
                    m.pool.clientLeft();
                    return "clientLeft";
                }
                m.clients++;
                m.pool.clientJoined();
                return "clientJoined";
            } else {
                return cancel(m);
            }
        }

        String acquire(Model m) {
            int waitingBefore = m.pool.waitingCount();
            Acquirer a = new Acquirer(m.pool, "c" + step, 0);
            waitUntil(() -> a.done() || m.pool.waitingCount() > waitingBefore,
                    () -> "seed " + seed + ", step " + step + ": acquirer to park or finish");
            Client c = new Client(a, m.seq++);
            if (!a.done()) {
                m.queued.add(c);
                queuedMax = Math.max(queuedMax, m.queued.size());
                return "acquire -> queued (" + a.name + ")";
            }
            try {
                PoolEntry s = a.result.get();
                check(waitingBefore == 0, "an acquirer took a server although " + waitingBefore + " clients were waiting");
                check(!m.paused, "an acquirer got a server from a paused pool");
                lent(m, c, s);
                return "acquire -> " + s;
            } catch (ExecutionException e) {
                String message = e.getCause().getMessage();
                check(e.getCause() instanceof AcquireException, "acquire threw " + e.getCause());
                check(message.startsWith("server login has been failing, cached error: ")
                        && message.endsWith(" (server_login_retry)"), "unexpected immediate failure: " + message);
                check(m.loginFailed && clock.nanos() - m.loginFailedNanos < RETRY_NANOS,
                        "failed fast although no login failed within server_login_retry");
                return "acquire -> failed fast";
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        void lent(Model m, Client c, PoolEntry s) {
            check(s.state() == ServerState.ACTIVE, s + " lent while " + s.state());
            for (Model any : models) {
                for (Client h : any.holders) {
                    check(h.held != s, s + " lent to two clients");
                }
            }
            check(((FakeServer) s).pool == m.pool, s + " lent by the wrong pool");
            c.held = s;
            m.holders.add(c);
            served++;
        }

        String release(Model m) {
            if (m.holders.isEmpty()) {
                return "release: nothing held";
            }
            Client c = m.holders.remove(random.nextInt(m.holders.size()));
            m.pool.release(c.held);
            return "release " + c.held;
        }

        String loginResult(Model m, boolean ok) {
            FakeServer s = pendingLogin(m);
            if (s == null) {
                return "login: none in flight";
            }
            if (ok) {
                m.pool.serverLoggedIn(s, WELCOME);
                m.loginFailed = false;
                return "serverLoggedIn " + s;
            }
            loginFailed(m, s, "boom " + step);
            return "serverLoginFailed " + s;
        }

        void loginFailed(Model m, FakeServer s, String error) {
            m.pool.serverLoginFailed(s, error, null);
            m.loginFailed = true;
            m.loginFailedNanos = clock.nanos();
            failedLogins++;
        }

        FakeServer pendingLogin(Model m) {
            FakeServer found = null;
            for (FakeServer s : launcher.launched) {
                if (s.pool == m.pool && s.state() == ServerState.LOGIN) {
                    check(found == null, "two logins in flight: " + found + " and " + s);
                    found = s;
                }
            }
            return found;
        }

        String serverClose(Model m) {
            List<FakeServer> open = openServers(m);
            if (open.isEmpty()) {
                return "serverClosed: no server";
            }
            FakeServer s = open.get(random.nextInt(open.size()));
            m.holders.removeIf(c -> c.held == s);
            m.pool.serverClosed(s);
            return "serverClosed " + s;
        }

        String maintain() {
            long advance = switch (random.nextInt(20)) {
                case 0 -> Duration.ofSeconds(random.nextLong(4000)).toNanos();
                case 1, 2, 3, 4, 5 -> Duration.ofMillis(random.nextLong(60_000)).toNanos();
                default -> Duration.ofMillis(random.nextLong(2_000)).toNanos();
            };
            clock.advanceNanos(advance);
            for (Model m : models) {
                m.pool.maintain();
                checkLiveness(m);
                FakeServer login = pendingLogin(m);
                if (login != null && login.closeRequested()) {
                    // its thread gives up: what a connect timeout looks like to the pool
                    loginFailed(m, login, "connect timeout");
                }
            }
            return "maintain after +" + Duration.ofNanos(advance);
        }

        String abort(Model m) {
            if (m.queued.isEmpty()) {
                return "abortWait: nobody waits";
            }
            Client c = m.queued.get(random.nextInt(m.queued.size()));
            m.pool.abortWait(c.acquirer.waiter, "aborted " + step, SqlState.PROTOCOL_VIOLATION);
            return "abortWait " + c.acquirer.name;
        }

        private final List<PoolEntry> cancelling = new ArrayList<>();

        String cancel(Model m) {
            if (!cancelling.isEmpty() && random.nextBoolean()) {
                PoolEntry s = cancelling.remove(random.nextInt(cancelling.size()));
                ((FakeServer) s).pool.endCancel(s);
                return "endCancel " + s;
            }
            if (m.holders.isEmpty()) {
                return "beginCancel: nothing held";
            }
            PoolEntry s = m.holders.get(random.nextInt(m.holders.size())).held;
            check(m.pool.beginCancel(s, () -> true), "beginCancel refused for lent " + s);
            cancelling.add(s);
            return "beginCancel " + s;
        }

        List<FakeServer> openServers(Model m) {
            List<FakeServer> out = new ArrayList<>();
            for (FakeServer s : launcher.launched) {
                if (s.pool == m.pool && s.state() != ServerState.CLOSED) {
                    out.add(s);
                }
            }
            return out;
        }

        /** Waits until every queued acquirer is either parked in its pool or done. */
        void settle() {
            waitUntil(() -> {
                for (Model m : models) {
                    long parked = m.queued.stream().filter(c -> !c.acquirer.done()).count();
                    if (parked != m.pool.waitingCount()) {
                        return false;
                    }
                }
                return true;
            }, () -> "seed " + seed + ", step " + step + ": woken acquirers to finish");
        }

        /** Takes in what woken acquirers got, checking that waiters were served in FIFO order. */
        void collect() {
            for (Model m : models) {
                List<Client> done = new ArrayList<>();
                for (Client c : m.queued) {
                    if (c.acquirer.done()) {
                        done.add(c);
                    }
                }
                m.queued.removeAll(done);
                for (Client c : done) {
                    try {
                        PoolEntry s = c.acquirer.result.get();
                        for (Client still : m.queued) {
                            check(still.seq > c.seq, c.acquirer.name + " was served before the older waiter "
                                    + still.acquirer.name);
                        }
                        lent(m, c, s);
                        handoffs++;
                    } catch (ExecutionException e) {
                        check(e.getCause() instanceof AcquireException, "a waiter got " + e.getCause());
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }

        void checkAll() {
            check(violations.isEmpty(), "at launch: " + violations);
            int open = 0;
            for (Model m : models) {
                m.pool.checkInvariants();
                Pool.Counts c = m.pool.counts();
                List<FakeServer> servers = openServers(m);
                open += servers.size();
                check(m.userLimit.count() == servers.size(), "user limit counts " + m.userLimit.count() + " but "
                        + servers.size() + " servers are open");
                check(m.userLimit.max() == 0 || m.userLimit.count() <= m.userLimit.max(), "user limit exceeded");
                check(c.login() + c.idle() + c.active() + c.tested() + c.beingCanceled() == servers.size(),
                        "counts " + c + " disagree with " + servers.size() + " open servers");
                check(c.login() <= 1, "more than one login in flight");
                check(c.waiting() == m.queued.size(), "pool has " + c.waiting() + " waiting, test has " + m.queued.size());
                check(m.paused || c.waiting() == 0 || c.idle() == 0, "clients wait while a server is idle: " + c);
                check(c.active() == m.holders.size(), "active " + c.active() + " but " + m.holders.size() + " clients hold one");
                for (Client h : m.holders) {
                    check(h.held.state() == ServerState.ACTIVE, h.held + " held by " + h.acquirer.name);
                }
                check(c.clients() == m.clients, "clients " + c.clients() + " != " + m.clients);
            }
            check(dbLimit.count() == open, "database limit counts " + dbLimit.count() + " but " + open + " servers are open");
            check(dbLimit.max() == 0 || dbLimit.count() <= dbLimit.max(), "database limit exceeded");
        }

        /** Right after a janitor tick: waiters must not be left without a login when one is allowed. */
        void checkLiveness(Model m) {
            Pool.Counts c = m.pool.counts();
            PoolSettings s = m.pool.settings();
            int total = c.login() + c.idle() + c.active() + c.tested() + c.beingCanceled();
            boolean failing = m.loginFailed && clock.nanos() - m.loginFailedNanos < RETRY_NANOS;
            boolean stuck = c.waiting() > 0 && !m.paused && c.login() == 0 && !failing && total < s.poolSize()
                    && !dbLimit.atMax() && !m.userLimit.atMax();
            check(!stuck, "waiters left without a login after maintain(): " + c + ", pool_size " + s.poolSize());
        }

        /** Called by the launcher under the pool lock: the pool may open one more server now. */
        void checkLaunch(Pool pool) {
            Model m = models.stream().filter(x -> x.pool == pool).findFirst().orElseThrow();
            PoolSettings s = pool.settings();
            Pool.Counts c = pool.counts();
            int open = openServers(m).size();
            if (c.login() != 0) {
                violations.add("launch with a login in flight");
            }
            if (m.paused) {
                violations.add("launch while paused");
            }
            boolean demand = c.waiting() > 0 || (s.minPoolSize() > 0 && m.clients > 0 && open < s.minPoolSize());
            if (!demand) {
                violations.add("launch without demand: " + c);
            }
            if (s.poolSize() > 0 && open >= s.poolSize()) {
                if (open >= s.poolSize() + s.reservePoolSize()) {
                    violations.add("launch with " + open + " servers open, pool_size " + s.poolSize() + " + reserve "
                            + s.reservePoolSize());
                } else if (c.oldestWaitNanos() < s.reservePoolTimeoutNanos()) {
                    violations.add("reserve server launched after a wait of only " + c.oldestWaitNanos() + " ns");
                } else {
                    reserveLaunches++;
                }
            }
            if (m.loginFailed && clock.nanos() - m.loginFailedNanos < RETRY_NANOS) {
                violations.add("launch within server_login_retry of a failed login");
            }
        }

        void check(boolean ok, String what) {
            if (!ok) {
                throw new AssertionError("seed " + seed + ", step " + step + ": " + what);
            }
        }
    }
}
