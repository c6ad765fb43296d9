package io.pgloom;

import io.pgloom.admin.AdminConsole;
import io.pgloom.admin.AdminError;
import io.pgloom.admin.ShowCommands;
import io.pgloom.auth.UserList;
import io.pgloom.auth.UserListException;
import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientServices;
import io.pgloom.config.Config;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.log.LogSetup;
import io.pgloom.net.Listener;
import io.pgloom.net.Wire;
import io.pgloom.pool.Clock;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The running pooler: owns the listeners, the pools, the client registry, the janitor, and the
 * process-level state (pause mode, shutdown mode, pidfile). Created once by {@link Main}.
 */
public final class Pgloom {
    private final PoolRegistry pools;
    private final ClientRegistry clients;
    private final ClientServices services;
    private final Operations operations;
    private final List<Listener> listeners = new ArrayList<>();
    private final Janitor janitor;
    private final CountDownLatch exited = new CountDownLatch(1);
    private final Pidfile pidfile;
    private volatile PauseMode pauseMode = PauseMode.NONE;
    private volatile ShutdownMode shutdownMode;
    private volatile boolean exiting;
    private volatile int exitCode;

    private Pgloom(Config config, UserList users) {
        this.pools = new PoolRegistry(config, users, Clock.SYSTEM);
        this.pools.setLauncherFactory(Pgloom::launcher);
        this.clients = new ClientRegistry(config.get(General.MAX_CLIENT_CONN));
        this.operations = new Operations(this, pools, clients);
        ShowCommands show = new ShowCommands(new ShowCommands.ShowSource(this::stateRows));
        this.services = new ClientServices(pools, clients, new AdminConsole(operations, show),
                () -> shutdownMode != null || exiting);
        this.janitor = new Janitor(pools, clients, this::shutdownProgress);
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

    // ------------------------------------------------------------------ state

    PauseMode pauseMode() {
        return pauseMode;
    }

    void setPauseMode(PauseMode m) {
        pauseMode = m;
    }

    ShutdownMode shutdownMode() {
        return shutdownMode;
    }

    Operations operations() {
        return operations;
    }

    private Map<String, Boolean> stateRows() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("active", pauseMode == PauseMode.NONE && shutdownMode == null);
        m.put("paused", pauseMode == PauseMode.PAUSE);
        m.put("suspended", pauseMode == PauseMode.SUSPEND);
        return m;
    }

    // ------------------------------------------------------------------ suspend (takeover)

    void suspend(ClientConnection requester) throws AdminError {
        throw new AdminError("SUSPEND is not supported yet");
    }

    void showFds(ClientConnection requester, MessageBuilder out) throws AdminError {
        throw new AdminError("SHOW FDS is not supported yet");
    }

    void resumeFromSuspend() {
        pauseMode = PauseMode.NONE;
    }

    void consoleClosed(ClientConnection client) {
        // a SUSPEND issued by this console would be undone here
    }

    // ------------------------------------------------------------------ shutdown

    /** SHUTDOWN WAIT_FOR_SERVERS / WAIT_FOR_CLIENTS (and SIGINT / SIGTERM). */
    void beginShutdown(ShutdownMode mode) {
        if (shutdownMode != null) {
            return;
        }
        shutdownMode = mode;
        closeTcpListeners();
        if (mode == ShutdownMode.WAIT_FOR_SERVERS) {
            pools.setGlobalPause(true);
            pools.refuseAll("server shutting down", SqlState.ADMIN_SHUTDOWN);
        }
    }

    /** Janitor job: ends the process once what a graceful shutdown waits for is gone. */
    private void shutdownProgress() {
        ShutdownMode m = shutdownMode;
        if (m == ShutdownMode.WAIT_FOR_SERVERS && pools.serverCount() == 0) {
            exitNow("server connections dropped, exiting");
        } else if (m == ShutdownMode.WAIT_FOR_CLIENTS && nonConsoleClients() == 0) {
            exitNow("client connections dropped, exiting");
        }
    }

    private int nonConsoleClients() {
        int n = 0;
        for (ClientConnection c : clients.all()) {
            if (!c.isConsole()) {
                n++;
            }
        }
        return n;
    }

    /** Stops everything now: listeners, clients, servers; the process then exits. */
    void exitNow(String why) {
        if (exiting) {
            return;
        }
        exiting = true;
        Log.log(why);
        janitor.stop();
        closeListeners(true);
        for (ClientConnection c : clients.all()) {
            c.close("pooler is shutting down", true, SqlState.ADMIN_SHUTDOWN);
        }
        operations.closeServers(p -> true, "pooler is shutting down");
        pidfile.remove();
        exited.countDown();
    }

    private void closeTcpListeners() {
        for (Listener l : listeners) {
            if (!l.isUnix()) {
                l.close(false);
            }
        }
    }

    private void closeListeners(boolean unlink) {
        for (Listener l : listeners) {
            l.close(unlink);
        }
    }

    /** Blocks until the pooler has ended; returns the exit code. */
    int awaitExit() throws InterruptedException {
        exited.await();
        LogSetup.shutdown();
        return exitCode;
    }

    PoolRegistry pools() {
        return pools;
    }
}
