package io.pgloom.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The opt-in Prometheus endpoint: {@code GET /metrics} is well-formed text format 0.0.4 with
 * pgbouncer_exporter's names, its counters move with the load, and a bad {@code metrics_listen}
 * stops startup with one line naming the key.
 */
@Timeout(120)
class MetricsIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    /** {@code name{label="value",...} value}, with the format's escapes inside label values. */
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)"
            + "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\\\[\\\\\"n]|[^\"\\\\\\n])*\""
            + "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\\\[\\\\\"n]|[^\"\\\\\\n])*\")*})?"
            + " (-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)");
    private static final Pattern COMMENT = Pattern.compile("# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)");

    private static PgCluster pg;
    private static PgloomProcess pgloom;
    private static int metricsPort;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() {
        pg = PgCluster.get();
        metricsPort = PgloomProcess.freePort();
        pgloom = PgloomProcess.builder()
                .set("pool_mode", "transaction")
                .set("metrics_listen", "127.0.0.1:" + metricsPort)
                .set("ignore_startup_parameters", "extra_float_digits")
                .database("app", pg, "app")
                .user("app", "apppass")
                .start();
    }

    @AfterAll
    static void stop() {
        if (pgloom != null) {
            pgloom.close();
        }
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Parses a page strictly; returns sample text (name and labels) -> value. */
    private static Map<String, Double> parse(String page) {
        Map<String, Double> samples = new LinkedHashMap<>();
        Set<String> helped = new HashSet<>();
        Set<String> typed = new HashSet<>();
        assertThat(page).endsWith("\n");
        for (String line : page.split("\n")) {
            if (line.startsWith("#")) {
                Matcher m = COMMENT.matcher(line);
                assertThat(m.matches()).as("comment line: %s", line).isTrue();
                if (m.group(1).equals("HELP")) {
                    assertThat(helped.add(m.group(2))).as("one HELP for %s", m.group(2)).isTrue();
                } else {
                    assertThat(m.group(3)).as(line).isIn("counter", "gauge");
                    assertThat(typed.add(m.group(2))).as("one TYPE for %s", m.group(2)).isTrue();
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("sample line: %s", line).isTrue();
            assertThat(typed).as("TYPE before the samples of %s", m.group(1)).contains(m.group(1));
            String key = m.group(1) + (m.group(2) == null ? "" : m.group(2));
            assertThat(samples.put(key, Double.parseDouble(m.group(3)))).as("duplicate %s", key).isNull();
        }
        return samples;
    }

    private static Map<String, Double> scrape() {
        try {
            HttpResponse<String> r = get("/metrics");
            assertThat(r.statusCode()).isEqualTo(200);
            return parse(r.body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void metricsParseAndCountersMoveWithLoad() throws Exception {
        HttpResponse<String> first = get("/metrics");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        Map<String, Double> before = parse(first.body());
        assertThat(before).containsEntry("pgbouncer_up", 1.0)
                .containsEntry("pgbouncer_version_info{version=\"1.25.2\"}", 1.0)
                .containsEntry("pgbouncer_config_max_client_connections", 100.0)
                .containsKey("pgbouncer_pools_client_active_connections{database=\"pgbouncer\",user=\"pgbouncer\"}")
                .containsKey("pgbouncer_stats_queries_pooled_total{database=\"pgbouncer\"}");

        try (Connection c = Sql.connect(pgloom, "app", "app", "apppass", "")) {
            Sql.value(c, "select 1");
            String queries = "pgbouncer_stats_queries_pooled_total{database=\"app\"}";
            double start = Wait.untilValue("app in the stats", WAIT, () -> scrape().get(queries), v -> v != null);
            for (int i = 0; i < 10; i++) {
                Sql.value(c, "select repeat('y', 500)");
            }
            Map<String, Double> after = Wait.untilValue("10 more queries pooled", WAIT, MetricsIT::scrape,
                    m -> m.get(queries) >= start + 10);
            assertThat(after.get("pgbouncer_stats_sql_transactions_pooled_total{database=\"app\"}")).isGreaterThan(10);
            assertThat(after.get("pgbouncer_stats_received_bytes_total{database=\"app\"}")).isGreaterThan(200);
            assertThat(after.get("pgbouncer_stats_sent_bytes_total{database=\"app\"}")).isGreaterThan(5000);
            assertThat(after.get("pgbouncer_stats_queries_duration_seconds_total{database=\"app\"}")).isPositive();
            assertThat(after.get("pgbouncer_stats_server_assignments_total{database=\"app\"}")).isPositive();
            assertThat(after).containsKey("pgbouncer_stats_client_wait_seconds_total{database=\"app\"}");
            assertThat(after.get("pgbouncer_pools_client_active_connections{database=\"app\",user=\"app\"}"))
                    .isGreaterThanOrEqualTo(1);
            assertThat(after).containsKeys("pgbouncer_pools_client_waiting_connections{database=\"app\",user=\"app\"}",
                    "pgbouncer_pools_server_active_connections{database=\"app\",user=\"app\"}",
                    "pgbouncer_pools_server_idle_connections{database=\"app\",user=\"app\"}",
                    "pgbouncer_pools_client_maxwait_seconds{database=\"app\",user=\"app\"}");
            String dbLabels = "{name=\"app\",host=\"" + pg.host() + "\",port=\"" + pg.port()
                    + "\",database=\"app\",force_user=\"\",pool_mode=\"\"}";
            assertThat(after.get("pgbouncer_databases_current_client_connections" + dbLabels)).isGreaterThanOrEqualTo(1);
            assertThat(after).containsKey("pgbouncer_databases_current_connections" + dbLabels)
                    .containsEntry("pgbouncer_databases_pool_size" + dbLabels, 20.0)
                    .containsEntry("pgbouncer_databases_paused" + dbLabels, 0.0);
            assertThat(after.get("pgbouncer_used_clients")).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void onlyGetMetricsIsServed() throws Exception {
        assertThat(get("/").statusCode()).isEqualTo(404);
        assertThat(get("/metricsx").statusCode()).isEqualTo(404);
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort
                + "/metrics")).POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    @Test
    void aBadMetricsListenStopsStartupWithOneLineNamingTheKey() throws IOException {
        for (String bad : List.of("nonsense", "127.0.0.1:99999")) {
            Path config = PgloomProcess.builder().set("metrics_listen", bad).database("app", pg, "app").writeConfig();
            PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of(config.toString()), Duration.ofSeconds(60));
            assertThat(exit.code()).as(exit.output()).isEqualTo(1);
            List<String> lines = exit.output().lines().filter(l -> l.contains("metrics_listen")).toList();
            assertThat(lines).as(exit.output()).hasSize(1);
            assertThat(lines.get(0)).contains("FATAL metrics_listen: ").contains(bad);
        }
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            String busy = "127.0.0.1:" + taken.getLocalPort();
            Path config = PgloomProcess.builder().set("metrics_listen", busy).database("app", pg, "app").writeConfig();
            PgloomProcess.Exit exit = PgloomProcess.runToExit(List.of(config.toString()), Duration.ofSeconds(60));
            assertThat(exit.code()).as(exit.output()).isEqualTo(1);
            assertThat(exit.output()).contains("FATAL metrics_listen: could not listen on " + busy);
        }
    }
}
