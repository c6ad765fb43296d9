package io.pgloom.pool;

import static io.pgloom.Polling.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgloom.config.PoolMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/** Fakes for driving a {@link Pool} without sockets: a settable clock, fake servers and a launcher. */
final class PoolFixture {
    private PoolFixture() {
    }

    static final Map<String, String> WELCOME = Map.of("server_version", "17.0", "server_encoding", "UTF8");

    /** A clock that moves only when the test says so. Thread-safe. */
    static final class FakeClock implements Clock {
        private final AtomicLong now = new AtomicLong(1_000_000_000L);

        @Override
        public long nanos() {
            return now.get();
        }

        void advance(Duration d) {
            now.addAndGet(d.toNanos());
        }

        void advanceNanos(long n) {
            now.addAndGet(n);
        }
    }

    /** A server connection that only records what the pool asks of it. */
    static final class FakeServer extends PoolEntry {
        final long id;
        final Pool pool;
        final List<String> closeReasons = new CopyOnWriteArrayList<>();

        FakeServer(long id, Pool pool, long createdNanos, long lifetimeNanos) {
            super(createdNanos, lifetimeNanos);
            this.id = id;
            this.pool = pool;
        }

        @Override
        public void close(String reason) {
            closeReasons.add(reason);
        }

        @Override
        public long id() {
            return id;
        }

        boolean closeRequested() {
            return !closeReasons.isEmpty();
        }

        @Override
        public String toString() {
            return "S-" + id + "(" + state + ")";
        }
    }

    /** Records every launch; servers live as long as the pool's server_lifetime says. */
    static final class FakeLauncher implements ServerLauncher {
        private static final AtomicLong IDS = new AtomicLong();
        final Clock clock;
        final List<FakeServer> launched = new CopyOnWriteArrayList<>();
        /** Runs under the pool lock at each launch, to check the pool's state at that moment. */
        volatile java.util.function.Consumer<Pool> onLaunch = p -> {
        };

        FakeLauncher(Clock clock) {
            this.clock = clock;
        }

        @Override
        public FakeServer launch(Pool pool) {
            onLaunch.accept(pool);
            FakeServer s = new FakeServer(IDS.incrementAndGet(), pool, clock.nanos(), pool.settings().serverLifetimeNanos());
            launched.add(s);
            return s;
        }

        FakeServer last() {
            assertThat(launched).as("launched servers").isNotEmpty();
            return launched.getLast();
        }

        int count() {
            return launched.size();
        }

        /** The one launch still logging in, or null. */
        FakeServer pendingLogin() {
            FakeServer found = null;
            for (FakeServer s : launched) {
                if (s.state() == ServerState.LOGIN) {
                    assertThat(found).as("two logins in flight").isNull();
                    found = s;
                }
            }
            return found;
        }
    }

    /** A builder-ish holder for PoolSettings with PgBouncer's defaults. */
    static PoolSettings settings(int poolSize) {
        return settings(poolSize, 0, 0, false);
    }

    static PoolSettings settings(int poolSize, int minPoolSize, int reservePoolSize, boolean roundRobin) {
        return new PoolSettings(PoolMode.TRANSACTION, poolSize, minPoolSize, reservePoolSize, seconds(5), seconds(600),
                seconds(3600), seconds(15), seconds(15), roundRobin);
    }

    static PoolSettings with(PoolSettings s, Duration reserveTimeout, Duration idleTimeout, Duration lifetime,
            Duration connectTimeout, Duration loginRetry) {
        return new PoolSettings(s.mode(), s.poolSize(), s.minPoolSize(), s.reservePoolSize(), reserveTimeout.toNanos(),
                idleTimeout.toNanos(), lifetime.toNanos(), connectTimeout.toNanos(), loginRetry.toNanos(), s.roundRobin());
    }

    static long seconds(long s) {
        return Duration.ofSeconds(s).toNanos();
    }

    /** A client calling {@link Pool#acquire} on its own virtual thread. */
    static final class Acquirer {
        final Waiter waiter;
        final CompletableFuture<PoolEntry> result = new CompletableFuture<>();
        final Thread thread;
        final String name;

        Acquirer(Pool pool, String name, long timeoutNanos) {
            this.name = name;
            this.waiter = pool.newWaiter(name);
            this.thread = Thread.ofVirtual().name(name).start(() -> {
                try {
                    result.complete(pool.acquire(waiter, timeoutNanos));
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        }

        boolean done() {
            return result.isDone();
        }

        PoolEntry server() {
            try {
                return result.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError(name + " failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException | TimeoutException e) {
                throw new AssertionError(name + " got no server in time", e);
            }
        }

        AcquireException failure() {
            try {
                PoolEntry s = result.get(10, TimeUnit.SECONDS);
                throw new AssertionError(name + " got " + s + " instead of failing");
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(AcquireException.class);
                return (AcquireException) e.getCause();
            } catch (InterruptedException | TimeoutException e) {
                throw new AssertionError(name + " did not fail in time", e);
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Starts an acquirer and returns once it is parked in the pool's queue (or already done). */
    static Acquirer startWaiting(Pool pool, String name) {
        return startWaiting(pool, name, 0);
    }

    static Acquirer startWaiting(Pool pool, String name, long timeoutNanos) {
        int before = pool.waitingCount();
        Acquirer a = new Acquirer(pool, name, timeoutNanos);
        waitUntil(() -> a.done() || pool.waitingCount() > before, () -> name + " to queue or finish");
        return a;
    }

    static List<String> reasons(FakeServer... servers) {
        List<String> out = new ArrayList<>();
        for (FakeServer s : servers) {
            out.addAll(s.closeReasons);
        }
        return out;
    }
}
