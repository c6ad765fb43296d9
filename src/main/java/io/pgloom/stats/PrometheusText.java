package io.pgloom.stats;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Builds a page in the Prometheus text exposition format 0.0.4: for each metric family one
 * {@code # HELP} and one {@code # TYPE} line, then its samples, all together. Label values are
 * escaped ({@code \\}, {@code \"}, {@code \n}), HELP text too ({@code \\}, {@code \n}); names
 * are checked against the format's grammar. Pure: no I/O. Not thread-safe; one per scrape.
 */
public final class PrometheusText {
    /** The Content-Type of this format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** The kinds of metric this page uses. */
    public enum Type {
        COUNTER, GAUGE;

        String word() {
            return this == COUNTER ? "counter" : "gauge";
        }
    }

    private record Family(String name, Type type, String help, List<String> samples) {
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    /** Declares a family (once; later calls with the same name must agree) and returns this page. */
    public PrometheusText family(String name, Type type, String help) {
        if (!METRIC_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad metric name: " + name);
        }
        Family f = families.get(name);
        if (f == null) {
            families.put(name, new Family(name, type, help, new ArrayList<>()));
        } else if (f.type() != type) {
            throw new IllegalArgumentException("metric " + name + " declared as " + f.type() + " and " + type);
        }
        return this;
    }

    /**
     * Adds a sample to a declared family.
     *
     * @param labels label names and values, alternating: {@code "database", "app", "user", "bob"}
     */
    public PrometheusText sample(String name, long value, String... labels) {
        return add(name, Long.toString(value), labels);
    }

    /** As {@link #sample(String, long, String...)}, for a value with a fraction (seconds). */
    public PrometheusText sample(String name, double value, String... labels) {
        return add(name, number(value), labels);
    }

    /** Micros as seconds, exactly ({@code 1500000} -> {@code 1.5}). */
    public PrometheusText sampleMicrosAsSeconds(String name, long micros, String... labels) {
        return add(name, BigDecimal.valueOf(micros, 6).stripTrailingZeros().toPlainString(), labels);
    }

    private PrometheusText add(String name, String value, String... labels) {
        Family f = families.get(name);
        if (f == null) {
            throw new IllegalArgumentException("metric " + name + " was not declared");
        }
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels must come in name/value pairs");
        }
        StringBuilder line = new StringBuilder(name);
        if (labels.length > 0) {
            line.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                if (!LABEL_NAME.matcher(labels[i]).matches() || labels[i].startsWith("__")) {
                    throw new IllegalArgumentException("bad label name: " + labels[i]);
                }
                if (i > 0) {
                    line.append(',');
                }
                line.append(labels[i]).append("=\"").append(escapeLabelValue(labels[i + 1])).append('"');
            }
            line.append('}');
        }
        f.samples().add(line.append(' ').append(value).toString());
        return this;
    }

    /** The page: every family with its HELP and TYPE lines, then its samples; ends with a newline. */
    public String render() {
        StringBuilder out = new StringBuilder(4096);
        for (Family f : families.values()) {
            out.append("# HELP ").append(f.name()).append(' ').append(escapeHelp(f.help())).append('\n');
            out.append("# TYPE ").append(f.name()).append(' ').append(f.type().word()).append('\n');
            for (String s : f.samples()) {
                out.append(s).append('\n');
            }
        }
        return out.toString();
    }

    /** A label value as the format quotes it: backslash, double quote and newline escaped. */
    public static String escapeLabelValue(String v) {
        if (v == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(v.length() + 8);
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** HELP text as the format wants it: backslash and newline escaped. */
    public static String escapeHelp(String v) {
        return v.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /** A float as Prometheus reads it: integral values without a fraction, no exponent. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
