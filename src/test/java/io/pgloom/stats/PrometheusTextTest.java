package io.pgloom.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgloom.stats.PrometheusText.Type;
import org.junit.jupiter.api.Test;

/** The text exposition format 0.0.4: HELP/TYPE once per family, samples grouped, escaping. */
class PrometheusTextTest {

    @Test
    void familiesWithHelpTypeAndSamples() {
        PrometheusText p = new PrometheusText();
        p.family("pgbouncer_up", Type.GAUGE, "The scrape worked").sample("pgbouncer_up", 1);
        p.family("pgbouncer_stats_queries_pooled_total", Type.COUNTER, "Queries")
                .sample("pgbouncer_stats_queries_pooled_total", 7, "database", "app")
                .sample("pgbouncer_stats_queries_pooled_total", 0, "database", "pgbouncer");
        assertThat(p.render()).isEqualTo("""
                # HELP pgbouncer_up The scrape worked
                # TYPE pgbouncer_up gauge
                pgbouncer_up 1
                # HELP pgbouncer_stats_queries_pooled_total Queries
                # TYPE pgbouncer_stats_queries_pooled_total counter
                pgbouncer_stats_queries_pooled_total{database="app"} 7
                pgbouncer_stats_queries_pooled_total{database="pgbouncer"} 0
                """);
    }

    @Test
    void samplesStayWithTheirFamilyWhateverTheOrderTheyArrive() {
        PrometheusText p = new PrometheusText();
        p.family("a", Type.GAUGE, "A").family("b", Type.GAUGE, "B");
        p.sample("a", 1, "x", "1").sample("b", 2).sample("a", 3, "x", "2");
        assertThat(p.render()).isEqualTo("# HELP a A\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 3\n"
                + "# HELP b B\n# TYPE b gauge\nb 2\n");
    }

    @Test
    void labelValuesAndHelpAreEscaped() {
        assertThat(PrometheusText.escapeLabelValue("plain")).isEqualTo("plain");
        assertThat(PrometheusText.escapeLabelValue("a\"b\\c\nd")).isEqualTo("a\\\"b\\\\c\\nd");
        assertThat(PrometheusText.escapeLabelValue("tab\there é")).isEqualTo("tab\there é");
        assertThat(PrometheusText.escapeHelp("line\\one\nline \"two\"")).isEqualTo("line\\\\one\\nline \"two\"");
        PrometheusText p = new PrometheusText();
        p.family("m", Type.GAUGE, "multi\nline").sample("m", 1, "database", "we\"ird\\db\n");
        assertThat(p.render()).isEqualTo("# HELP m multi\\nline\n# TYPE m gauge\nm{database=\"we\\\"ird\\\\db\\n\"} 1\n");
    }

    @Test
    void numbersHaveNoExponent() {
        assertThat(PrometheusText.number(3.0)).isEqualTo("3");
        assertThat(PrometheusText.number(0.000001)).isEqualTo("0.000001");
        assertThat(PrometheusText.number(1.5e-9)).isEqualTo("0.0000000015");
        assertThat(PrometheusText.number(Double.NaN)).isEqualTo("NaN");
        assertThat(PrometheusText.number(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
        PrometheusText p = new PrometheusText();
        p.family("s", Type.COUNTER, "S").sampleMicrosAsSeconds("s", 1_500_000, "d", "x").sampleMicrosAsSeconds("s", 7)
                .sampleMicrosAsSeconds("s", 0).sampleMicrosAsSeconds("s", 3_000_000);
        assertThat(p.render()).endsWith("s{d=\"x\"} 1.5\ns 0.000007\ns 0\ns 3\n");
    }

    @Test
    void badNamesAndUndeclaredFamiliesAreRefused() {
        PrometheusText p = new PrometheusText();
        assertThatThrownBy(() -> p.family("9lives", Type.GAUGE, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.family("has-dash", Type.GAUGE, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.sample("undeclared", 1)).isInstanceOf(IllegalArgumentException.class);
        p.family("ok", Type.GAUGE, "x");
        assertThatThrownBy(() -> p.family("ok", Type.COUNTER, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.sample("ok", 1, "bad-label", "v")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.sample("ok", 1, "__reserved", "v")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> p.sample("ok", 1, "odd")).isInstanceOf(IllegalArgumentException.class);
    }
}
