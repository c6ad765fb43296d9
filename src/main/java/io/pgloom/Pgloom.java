package io.pgloom;

import io.pgloom.admin.AdminConsole;
import io.pgloom.admin.AdminError;
import io.pgloom.admin.MetricsEndpoint;
import io.pgloom.admin.ShowCommands;
import io.pgloom.auth.UserList;
import io.pgloom.auth.UserListException;
import io.pgloom.auth.hba.HbaException;
import io.pgloom.auth.hba.HbaReloader;
import io.pgloom.client.ClientConnection;
import io.pgloom.client.ClientRegistry;
import io.pgloom.client.ClientServices;
import io.pgloom.client.LoginFailures;
import io.pgloom.config.Config;
import io.pgloom.config.General;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.log.LogSetup;
import io.pgloom.net.Listener;
import io.pgloom.net.Wire;
import io.pgloom.net.tls.TlsReloader;
import io.pgloom.pool.Clock;
import io.pgloom.pool.PoolRegistry;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.SqlState;
import io.pgloom.server.ServerConnection;
import io.pgloom.takeover.Adopter;
import io.pgloom.takeover.FdSender;
import io.pgloom.takeover.LeftBehind;
import io.pgloom.takeover.Successor;
import io.pgloom.takeover.Suspender;
import io.pgloom.takeover.TakeoverClient;
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
    private final MetricsEndpoint metrics;
    private volatile PauseMode pauseMode = PauseMode.NONE;
    private volatile ShutdownMode shutdownMode;
    private volatile boolean exiting;
    private volatile ClientConnection suspendedBy;
    /** What the last SHOW FDS during SUSPEND could not hand over (TLS connections and their peers). */
    private volatile LeftBehind leftBehind = LeftBehind.NONE;
    private volatile int exitCode;

    private final TlsReloader tls;
    private final HbaReloader hba;

    private Pgloom(Config config, UserList users, TlsReloader tls, HbaReloader hba) {
        this.tls = tls;
        this.hba = hba;
        this.pools = new PoolRegistry(config, users, Clock.SYSTEM, tls);
        this.pools.setLauncherFactory(Pgloom::launcher);
        this.clients = new ClientRegistry(config.get(General.MAX_CLIENT_CONN));
        this.operations = new Operations(this, pools, clients);
        ShowCommands.ShowSource showSource = ShowCommands.ShowSource.of(pools, clients, this::stateRows);
        ShowCommands show = new ShowCommands(showSource);
        this.metrics = new MetricsEndpoint(showSource);
        this.services = new ClientServices(pools, clients, new AdminConsole(operations, show),
                () -> shutdownMode != null || exiting, tls, hba, new LoginFailures());
        this.janitor = new Janitor(pools, clients, () -> pauseMode == PauseMode.SUSPEND, this::shutdownProgress,
                showSource.stats()::tick, this::expireLoginFailures);
        this.pidfile = new Pidfile(config.get(General.PIDFILE));
    }

    /** Reads the auth file, binds the listeners and starts serving. */
    static Pgloom start(Config config) throws StartupException {
        UserList users = loadUsers(config.general());
        Pgloom p = new Pgloom(config, users, loadTls(config.general(), Log::warning), loadHba(config.general(), Log::warning));
        // before the port opens: a SIGHUP the moment it accepts must reload, not end the JVM
        Signals.install(p);
        p.pidfile.claim();
        try {
            p.startMetrics(config.general());
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

    /**
     * The TLS contexts for clients and servers; a key or certificate that cannot be used stops
     * the start (the message names the key). What the JDK ignores goes to {@code warnings}
     * (the log's WARNING lines; {@code --check} prints them).
     */
    static TlsReloader loadTls(Values g, java.util.function.Consumer<String> warnings) throws StartupException {
        TlsReloader t;
        try {
            t = TlsReloader.load(g);
        } catch (IOException e) {
            throw new StartupException(e.getMessage());
        }
        tlsWarnings(t, warnings);
        return t;
    }

    static void tlsWarnings(TlsReloader t, java.util.function.Consumer<String> warnings) {
        t.clients().warnings().forEach(warnings);
        t.servers().warnings().forEach(warnings);
    }

    /** The HBA rules and ident maps when auth_type is hba; a bad file stops the start, naming the key. */
    static HbaReloader loadHba(Values g, java.util.function.Consumer<String> warnings) throws StartupException {
        List<String> found = new ArrayList<>();
        HbaReloader h;
        try {
            h = HbaReloader.load(g, found);
        } catch (HbaException e) {
            throw new StartupException(e.getMessage());
        }
        found.forEach(warnings);
        return h;
    }

    TlsReloader tls() {
        return tls;
    }

    HbaReloader hba() {
        return hba;
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

    /** Starts the Prometheus endpoint if metrics_listen is set; a bad value or address stops startup. */
    private void startMetrics(Values g) throws StartupException {
        try {
            metrics.start(g.get(General.METRICS_LISTEN));
        } catch (IOException | IllegalArgumentException e) {
            throw new StartupException(e.getMessage());
        }
    }

    private void accept(Wire wire) {
        long id = pools.nextId();
        new ClientConnection(id, services, wire, pools.clock().nanos()).start();
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

    // ------------------------------------------------------------------ suspend (takeover, old side)

    void suspend(ClientConnection requester) throws AdminError {
        if (pauseMode != PauseMode.NONE) {
            throw new AdminError("already suspended/paused");
        }
        if (shutdownMode != null || exiting) {
            throw new AdminError("pooler is shutting down");
        }
        for (io.pgloom.pool.Database db : pools.databases().values()) {
            if (db.paused()) {
                throw new AdminError("cannot suspend with paused databases");
            }
        }
        pauseMode = PauseMode.SUSPEND;
        suspendedBy = requester;
        new Suspender(pools, clients, listeners).suspend(Successor.of(requester.consoleApplicationName()));
    }

    void showFds(ClientConnection requester, MessageBuilder out) throws AdminError {
        FdSender sender = new FdSender(pools, clients, pauseMode == PauseMode.SUSPEND ? listeners : List.of());
        try {
            sender.send(requester, out);
        } catch (IOException e) {
            throw new AdminError("SHOW FDS failed: " + e.getMessage());
        }
        if (pauseMode == PauseMode.SUSPEND) {
            leftBehind = sender.leftBehind();
            int tls = leftBehind.tlsCount();
            if (tls > 0) {
                Log.log("SHOW FDS: " + tls + " TLS connections (or linked to one) cannot be taken over;"
                        + " they are closed when this process exits");
            }
            if (leftBehind.size() > tls) {
                Log.log("SHOW FDS: " + (leftBehind.size() - tls) + " connections not handed over without their peers;"
                        + " they are closed when this process exits");
            }
        }
    }

    void resumeFromSuspend() {
        new Suspender(pools, clients, listeners).resume();
        leftBehind = LeftBehind.NONE;
        suspendedBy = null;
        pauseMode = PauseMode.NONE;
    }

    void consoleClosed(ClientConnection client) {
        if (pauseMode == PauseMode.SUSPEND && suspendedBy == client && !exiting) {
            Log.log("admin disappeared when suspended, doing RESUME");
            resumeFromSuspend();
        }
    }

    // ------------------------------------------------------------------ takeover (new side)

    /**
     * Starts by taking over the sockets of the process listening on our unix socket; returns null
     * when no process answers there (the caller then starts normally).
     */
    static Pgloom takeOver(Config config) throws StartupException {
        Values g = config.general();
        if (!(PoolRegistry.transportFor(g) instanceof io.pgloom.net.epoll.EpollTransport)) {
            throw new StartupException("takeover needs transport = \"epoll\" (Linux)");
        }
        String dir = g.get(General.UNIX_SOCKET_DIR);
        if (dir.isEmpty()) {
            throw new StartupException("cannot take over without unix_socket_dir");
        }
        TakeoverClient link;
        try {
            link = TakeoverClient.connect(Listener.unixPath(dir, g.get(General.LISTEN_PORT)));
        } catch (IOException e) {
            link = null;
        }
        if (link == null) {
            Log.log("old process not found, try to continue normally");
            return null;
        }
        UserList users = loadUsers(g);
        Pgloom p = new Pgloom(config, users, loadTls(g, Log::warning), loadHba(g, Log::warning));
        Adopter.Result adopted;
        long started;
        String phases;
        try {
            TakeoverClient.Handover h = link.takeSockets();
            started = h.suspendStartNanos();
            long adoptStart = System.nanoTime();
            adopted = Adopter.adopt(h, p.pools, p.services);
            p.listeners.addAll(adopted.listeners());
            long finishStart = System.nanoTime();
            link.finish(g.get(General.PIDFILE));
            phases = "SUSPEND " + h.suspendMillis() + " ms, SHOW FDS " + h.showFdsMillis() + " ms, adopting "
                    + (finishStart - adoptStart) / 1_000_000 + " ms, old process exit "
                    + (System.nanoTime() - finishStart) / 1_000_000
                    + " ms";
        } catch (IOException | RuntimeException e) {
            link.abandon();
            throw new StartupException("takeover failed, the old process keeps running: " + e.getMessage());
        }
        try {
            p.pidfile.write();
        } catch (IOException e) {
            Log.warning("could not write pidfile: " + e.getMessage());
        }
        adopted.start();
        // a signal during the takeover itself ends the JVM (the old process then resumes); from here on it is handled
        Signals.install(p);
        for (Listener l : p.listeners) {
            l.start(p::accept);
        }
        p.janitor.start();
        try {
            p.startMetrics(g);
        } catch (StartupException e) {
            Log.warning(e.getMessage());
        }
        long pausedMs = (System.nanoTime() - started) / 1_000_000;
        Log.log("takeover done: " + adopted.clients().size() + " clients, " + adopted.servers().size() + " servers, "
                + adopted.listeners().size() + " listeners; clients waited " + pausedMs + " ms from SUSPEND to resume ("
                + phases + ")");
        Log.log("process up: " + Version.TEXT + ", java " + Runtime.version() + ", transport epoll (took over)");
        return p;
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

    /** Janitor job: forgets login failures older than client_login_failure_window. */
    private void expireLoginFailures() {
        long window = pools.general().get(General.CLIENT_LOGIN_FAILURE_WINDOW).toNanos();
        services.loginFailures().expire(pools.clock().nanos(), window);
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
        if (why != null) {
            Log.log(why);
        }
        if (pauseMode == PauseMode.SUSPEND) {
            // taken over: leave every socket and the unix socket file to the new process,
            // except the ones SHOW FDS could not hand over
            leftBehind.closeAll();
            pidfile.remove();
            ClientConnection link = suspendedBy;
            if (link != null) {
                // the successor resumes at this EOF: from here on this process only exits, which
                // (a large heap to unmap, thousands of descriptors to drop) takes a while
                link.wire().close();
            }
            LogSetup.shutdown();
            Runtime.getRuntime().halt(exitCode);
        }
        janitor.stop();
        metrics.stop();
        closeListeners(true);
        for (ClientConnection c : clients.all()) {
            c.close("pooler is shutting down", true, SqlState.ADMIN_SHUTDOWN);
        }
        operations.closeServers(p -> true, "pooler is shutting down");
        pidfile.remove();
        exited.countDown();
    }

    /** PgBouncer's {@code die()}: a FATAL line, then {@link #exitNow} with exit code 1. */
    void die(String why) {
        Log.fatal(why);
        exitCode = 1;
        exitNow(null);
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
