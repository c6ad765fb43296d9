package io.pgloom;

import io.pgloom.admin.AdminConsole;
import io.pgloom.auth.UserList;
import io.pgloom.auth.UserListException;
import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientServices;
import io.pgloom.config.Config;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.net.Listener;
import io.pgloom.net.Wire;
import io.pgloom.pool.Clock;
import io.pgloom.pool.Pool;
import io.pgloom.pool.PoolEntry;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The running pooler: owns the listeners, the pools, the client registry, the janitor, and the
 * process-level state (pidfile, shutdown). Created once by {@link Main}.
 */
public final class Pgloom {
    private final PoolRegistry pools;
    private final ClientRegistry clients;
    private final ClientServices services;
    private final List<Listener> listeners = new ArrayList<>();
    private final Janitor janitor;
    private final CountDownLatch exited = new CountDownLatch(1);
    private final Pidfile pidfile;
    private volatile boolean shuttingDown;

    private Pgloom(Config config, UserList users) {
        this.pools = new PoolRegistry(config, users, Clock.SYSTEM);
        this.pools.setLauncherFactory(Pgloom::launcher);
        this.clients = new ClientRegistry(config.get(General.MAX_CLIENT_CONN));
        this.services = new ClientServices(pools, clients, new AdminConsole(AdminConsole.basic()), () -> shuttingDown);
        this.janitor = new Janitor(pools, clients);
        this.pidfile = new Pidfile(config.get(General.PIDFILE));
    }

    /** Reads the auth file, binds the listeners and starts serving. */
    static Pgloom start(Config config) throws StartupException {
        UserList users = loadUsers(config.general());
        Pgloom p = new Pgloom(config, users);
        p.pidfile.claim();
        try {
            p.listen(config.general());
        } catch (StartupException e) {
            p.closeListeners(true);
            p.pidfile.remove();
            throw e;
        }
        p.janitor.start();
        Log.log("process up: " + Version.TEXT + ", java " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors()
                + " cores, transport " + p.pools.transport().name());
        return p;
    }

    static UserList loadUsers(Values g) throws StartupException {
        String file = g.get(General.AUTH_FILE);
        if (file.isEmpty()) {
            return null;
        }
        try {
            return UserList.load(Path.of(file));
        } catch (UserListException e) {
            throw new StartupException("auth_file: " + e.getMessage());
        }
    }

    private void listen(Values g) throws StartupException {
        int port = g.get(General.LISTEN_PORT);
        int backlog = g.get(General.LISTEN_BACKLOG);
        try {
            for (String addr : g.get(General.LISTEN_ADDR)) {
                listeners.add(Listener.tcp(pools.transport(), addr, port, backlog, g.get(General.SO_REUSEPORT)));
            }
            String dir = g.get(General.UNIX_SOCKET_DIR);
            if (!dir.isEmpty()) {
                listeners.add(Listener.unix(pools.transport(), dir, port, backlog, g.get(General.UNIX_SOCKET_MODE),
                        g.get(General.UNIX_SOCKET_GROUP)));
            }
        } catch (IOException e) {
            throw new StartupException("could not listen on port " + port + ": " + e.getMessage());
        }
        for (Listener l : listeners) {
            Log.log("listening on " + l.description());
            l.start(this::accept);
        }
    }

    private void accept(Wire wire) {
        long id = pools.nextId();
        Thread.ofVirtual().name(String.format("C-0x%x", id)).start(() -> {
            try {
                wire.tune(pools.general());
            } catch (IOException e) {
                wire.close();
                return;
            }
            new ClientConnection(id, services, wire, pools.clock().nanos()).run();
        });
    }

    /** Creates a server connection for a pool and starts its thread (under the pool lock: no I/O). */
    private static io.pgloom.pool.ServerLauncher launcher(PoolRegistry registry) {
        return pool -> {
            long id = registry.nextId();
            long now = registry.clock().nanos();
            long lifetime = pool.settings().serverLifetimeNanos();
            // up to 2.5% shorter, so servers opened together do not all expire together
            long jittered = lifetime - (long) (lifetime * 0.025 * ThreadLocalRandom.current().nextDouble());
            ServerConnection s = new ServerConnection(id, pool, registry, registry.database(pool.key().database()),
                    registry.user(pool.key().user()), now, Math.max(1, jittered));
            Thread.ofVirtual().name(String.format("S-0x%x", id)).start(s);
            return s;
        };
    }

    /** Stops everything now: listeners, clients, servers; the process then exits. */
    void shutdownNow(String why) {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        Log.log(why);
        closeListeners(true);
        janitor.stop();
        for (ClientConnection c : clients.all()) {
            c.close("pooler is shutting down", true, SqlState.ADMIN_SHUTDOWN);
        }
        for (Pool p : pools.poolList()) {
            for (PoolEntry s : p.servers()) {
                s.close("pooler is shutting down");
            }
        }
        pidfile.remove();
        exited.countDown();
    }

    private void closeListeners(boolean unlink) {
        for (Listener l : listeners) {
            l.close(unlink);
        }
    }

    void awaitExit() throws InterruptedException {
        exited.await();
    }

    PoolRegistry pools() {
        return pools;
    }
}
