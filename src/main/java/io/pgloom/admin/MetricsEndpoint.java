package io.pgloom.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgloom.Version;
import io.pgloom.config.DatabaseKeys;
import io.pgloom.config.General;
import io.pgloom.config.PoolMode;
import io.pgloom.config.Values;
import io.pgloom.log.Log;
import io.pgloom.pool.Database;
import io.pgloom.pool.Pool;
import io.pgloom.stats.PrometheusText;
import io.pgloom.stats.PrometheusText.Type;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The opt-in Prometheus endpoint ({@code [pgloom] metrics_listen = "127.0.0.1:9127"}):
 * {@code GET /metrics} in the text format 0.0.4, with the metric names and labels of
 * prometheus-community/pgbouncer_exporter ({@code pgbouncer_stats_queries_pooled_total{database}},
 * {@code pgbouncer_pools_client_active_connections{database,user}}, ...), computed from the same
 * state as SHOW STATS, POOLS, DATABASES, LISTS and CONFIG. Served by the JDK's
 * {@code com.sun.net.httpserver} with one virtual thread per request.
 *
 * <p>Thread contract: {@link #start} and {@link #stop} are called once each by the pooler's
 * main code; requests run on their own virtual threads and only read shared state.
 */
public final class MetricsEndpoint {
    private static final String NS = "pgbouncer_";

    private final ShowCommands.ShowSource source;
    private HttpServer server;
    private ExecutorService executor;

    public MetricsEndpoint(ShowCommands.ShowSource source) {
        this.source = source;
    }

    /**
     * Starts serving if {@code listen} is not empty.
     *
     * @param listen {@code host:port}, {@code [v6addr]:port} or {@code *:port}
     * @throws IllegalArgumentException when the value is malformed (the message names the key)
     * @throws IOException when it cannot listen there (the message names the key)
     */
    public void start(String listen) throws IOException {
        if (listen.isBlank()) {
            return;
        }
        InetSocketAddress address = parseListen(listen);
        HttpServer s;
        try {
            s = HttpServer.create(address, 0);
        } catch (IOException e) {
            throw new IOException("metrics_listen: could not listen on " + listen.strip() + ": " + e.getMessage(), e);
        }
        executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("metrics-", 0).factory());
        s.setExecutor(executor);
        s.createContext("/", this::handle);
        s.start();
        server = s;
        Log.log("metrics listening on " + listen.strip() + " (GET /metrics)");
    }

    /** Stops serving (at exit); idempotent. */
    public void stop() {
        HttpServer s = server;
        server = null;
        if (s != null) {
            s.stop(0);
            executor.shutdownNow();
        }
    }

    /** Parses {@code host:port}; {@code *} or an empty host means every address. */
    static InetSocketAddress parseListen(String value) {
        String v = value.strip();
        int colon = v.lastIndexOf(':');
        if (colon < 0) {
            throw bad(value, "expected host:port");
        }
        String host = v.substring(0, colon);
        String portText = v.substring(colon + 1);
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw bad(value, "the port is not a number");
        }
        if (port < 1 || port > 65535) {
            throw bad(value, "the port must be from 1 to 65535");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw bad(value, "write an IPv6 address in brackets, as [::1]:9127");
        }
        if (host.isEmpty() || host.equals("*")) {
            return new InetSocketAddress(port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw bad(value, "unknown host " + host);
        }
    }

    private static IllegalArgumentException bad(String value, String why) {
        return new IllegalArgumentException("metrics_listen: " + why + ", got \"" + value + "\"");
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            if (!ex.getRequestURI().getPath().equals("/metrics")) {
                reply(ex, 404, "text/plain; charset=utf-8", "not found; metrics are at /metrics\n", method);
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(ex, 405, "text/plain; charset=utf-8", "method not allowed\n", method);
                return;
            }
            String page;
            try {
                page = render(PoolerView.take(source));
            } catch (RuntimeException e) {
                Log.bug("metrics scrape failed", e);
                reply(ex, 500, "text/plain; charset=utf-8", "internal error\n", method);
                return;
            }
            reply(ex, 200, PrometheusText.CONTENT_TYPE, page, method);
        }
    }

    private static void reply(HttpExchange ex, int status, String type, String body, String method) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = method.equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    // ------------------------------------------------------------------ the page

    /** The whole page for one look at the pooler. */
    String render(PoolerView view) {
        PrometheusText p = new PrometheusText();
        Values g = source.pools().general();
        p.family(NS + "up", Type.GAUGE, "The pgbouncer scrape was successful (1 = up)").sample(NS + "up", 1);
        p.family(NS + "version_info", Type.GAUGE, "The pgbouncer version info")
                .sample(NS + "version_info", 1, "version", Version.NUMBER);
        p.family(NS + "config_max_client_connections", Type.GAUGE, "Config maximum number of client connections")
                .sample(NS + "config_max_client_connections", g.get(General.MAX_CLIENT_CONN));
        p.family(NS + "config_max_user_connections", Type.GAUGE, "Config maximum number of server connections per user")
                .sample(NS + "config_max_user_connections", g.get(General.MAX_USER_CONNECTIONS));
        stats(p, view);
        pools(p, view);
        databases(p, g);
        lists(p, view);
        return p.render();
    }

    /** Counters from SHOW STATS_TOTALS, per database; times in seconds as the exporter scales them. */
    private static void stats(PrometheusText p, PoolerView view) {
        String s = NS + "stats_";
        record Counter(String name, String help, boolean micros) {
        }
        List<Counter> counters = List.of(
                new Counter("server_assignments_total", "Total number of times a server was assigned to a client", false),
                new Counter("sql_transactions_pooled_total", "Total number of SQL transactions pooled", false),
                new Counter("queries_pooled_total", "Total number of SQL queries pooled", false),
                new Counter("received_bytes_total", "Total volume in bytes of network traffic received by pgbouncer", false),
                new Counter("sent_bytes_total", "Total volume in bytes of network traffic sent by pgbouncer", false),
                new Counter("server_in_transaction_seconds_total",
                        "Total number of seconds spent by pgbouncer when connected to PostgreSQL in a transaction", true),
                new Counter("queries_duration_seconds_total",
                        "Total number of seconds spent by pgbouncer when actively connected to PostgreSQL", true),
                new Counter("client_wait_seconds_total", "Time spent by clients waiting for a server in seconds", true),
                new Counter("client_parses_total", "Total number of prepared statements created by clients", false),
                new Counter("server_parses_total", "Total number of prepared statements created on a server", false),
                new Counter("binds_total", "Total number of prepared statements readied for execution", false),
                new Counter("client_logins_total", "Total number of successful client logins", false),
                new Counter("plan_recoveries_total",
                        "Prepared statements re-prepared after 'cached plan must not change result type' (pgloom)", false));
        for (Counter c : counters) {
            p.family(s + c.name(), Type.COUNTER, c.help());
        }
        for (Map.Entry<String, List<PoolerView.Group>> db : view.byDatabase().entrySet()) {
            long[] v = StatsRows.totals(db.getValue()).values();
            for (int i = 0; i < counters.size(); i++) {
                Counter c = counters.get(i);
                if (c.micros()) {
                    p.sampleMicrosAsSeconds(s + c.name(), v[i], "database", db.getKey());
                } else {
                    p.sample(s + c.name(), v[i], "database", db.getKey());
                }
            }
        }
    }

    /** Gauges from SHOW POOLS, per pool. */
    private void pools(PrometheusText p, PoolerView view) {
        String s = NS + "pools_";
        String[][] gauges = {
            {"client_active_connections", "Client connections linked to server connection and able to process queries"},
            {"client_waiting_connections", "Client connections waiting on a server connection"},
            {"client_active_cancel_connections", "Client connections that have forwarded query cancellations"},
            {"client_waiting_cancel_connections", "Client connections that have not forwarded query cancellations"},
            {"server_active_connections", "Server connections linked to a client connection"},
            {"server_active_cancel_connections", "Server connections forwarding a cancel request"},
            {"server_being_canceled_connections", "Servers that normally could become idle but are waiting for a cancel"},
            {"server_idle_connections", "Server connections idle and ready for a client query"},
            {"server_used_connections", "Server connections idle more than server_check_delay, needing server_check_query"},
            {"server_testing_connections", "Server connections running server_reset_query or server_check_query"},
            {"server_login_connections", "Server connections in the process of logging in"}};
        for (String[] gauge : gauges) {
            p.family(s + gauge[0], Type.GAUGE, gauge[1]);
        }
        p.family(s + "client_maxwait_seconds", Type.GAUGE, "Age of the oldest unserved client connection in seconds");
        for (PoolerView.Group g : view.groups()) {
            long[] v;
            long waitMicros = 0;
            if (g.isAdmin()) {
                v = new long[] {g.active().size(), g.waiting().size(), 0, 0, 0, 0, 0, 0, 0, 0, 0};
            } else {
                Pool.Counts c = g.pool().counts();
                v = new long[] {Math.max(0, c.clients() - c.waiting()), c.waiting(), 0, 0, c.active(), 0, c.beingCanceled(),
                    c.idle(), 0, c.tested(), c.login()};
                waitMicros = c.oldestWaitNanos() / 1000;
            }
            String[] labels = {"database", g.key().database(), "user", g.key().user()};
            for (int i = 0; i < gauges.length; i++) {
                p.sample(s + gauges[i][0], v[i], labels);
            }
            p.sampleMicrosAsSeconds(s + "client_maxwait_seconds", waitMicros, labels);
        }
    }

    /** Gauges from SHOW DATABASES, labelled as the exporter does. */
    private void databases(PrometheusText p, Values g) {
        String s = NS + "databases_";
        String[][] gauges = {{"pool_size", "Maximum number of server connections"},
            {"min_pool_size", "Minimum number of server connections"},
            {"reserve_pool_size", "Maximum number of additional connections for this database"},
            {"max_connections", "Maximum number of allowed connections for this database"},
            {"current_connections", "Current number of connections for this database"},
            {"max_client_connections", "Maximum number of allowed client connections for this database"},
            {"current_client_connections", "Current number of client connections for this database"},
            {"paused", "1 if this database is currently paused, else 0"},
            {"disabled", "1 if this database is currently disabled, else 0"}};
        for (String[] gauge : gauges) {
            p.family(s + gauge[0], Type.GAUGE, gauge[1]);
        }
        List<Database> dbs = new ArrayList<>(source.pools().databases().values());
        dbs.sort((a, b) -> a.name().compareTo(b.name()));
        for (Database db : dbs) {
            Values d = db.settings();
            PoolMode mode = d.get(DatabaseKeys.POOL_MODE);
            String host = d.get(DatabaseKeys.HOST);
            String[] labels = {"name", db.name(), "host", host == null ? "" : host, "port",
                Integer.toString(d.get(DatabaseKeys.PORT)), "database", db.serverDbname(), "force_user",
                db.forcedUser() == null ? "" : db.forcedUser(), "pool_mode", mode == null ? "" : mode.word()};
            long[] v = {or(d.get(DatabaseKeys.POOL_SIZE), g.get(General.DEFAULT_POOL_SIZE)),
                or(d.get(DatabaseKeys.MIN_POOL_SIZE), g.get(General.MIN_POOL_SIZE)),
                or(d.get(DatabaseKeys.RESERVE_POOL_SIZE), g.get(General.RESERVE_POOL_SIZE)), db.servers().max(),
                db.servers().count(), db.clients().max(), db.clients().count(), db.paused() ? 1 : 0,
                db.disabled() ? 1 : 0};
            for (int i = 0; i < gauges.length; i++) {
                p.sample(s + gauges[i][0], v[i], labels);
            }
        }
    }

    /** Counts from SHOW LISTS, named as the exporter names them. */
    private void lists(PrometheusText p, PoolerView view) {
        int servers = 0;
        for (PoolerView.Group grp : view.groups()) {
            if (!grp.isAdmin()) {
                servers += grp.pool().servers().size();
            }
        }
        long[] counts = {source.pools().databases().size() + 1, source.pools().users().size(), view.groups().size(),
            0, view.clientObjects(), view.loggingIn().size(), 0, servers};
        String[] names = {"databases", "users", "pools", "free_clients", "used_clients", "login_clients", "free_servers",
            "used_servers"};
        for (int i = 0; i < names.length; i++) {
            p.family(NS + names[i], Type.GAUGE, "Count of " + names[i].replace('_', ' ')).sample(NS + names[i], counts[i]);
        }
    }

    private static int or(Integer v, int fallback) {
        return v != null ? v : fallback;
    }
}
