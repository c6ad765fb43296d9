package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every key of the {@code [pgloom]} table: its default as PgBouncer documents it, the value forms
 * its type accepts (from TOML and from a pgbouncer.ini), and the values it refuses.
 */
class GeneralKeysTest {
    @TempDir
    Path dir;

    private ConfigFixture files() {
        return new ConfigFixture(dir);
    }

    static Stream<Named<Setting<?>>> generalKeys() {
        return General.SECTION.settings().stream().map(s -> Named.of(s.name(), s));
    }

    private Object fromToml(Setting<?> key, String literal) throws ConfigException {
        Config c = files().toml("[pgloom]\n" + key.name() + " = " + literal + "\n");
        assertThat(c.general().isSet(key)).as("isSet(%s)", key.name()).isTrue();
        return c.general().getAny(key);
    }

    private Object fromIni(Setting<?> key, String text) throws ConfigException {
        Config c = files().ini("[pgbouncer]\n" + key.name() + " = " + text + "\n");
        assertThat(c.general().isSet(key)).as("isSet(%s)", key.name()).isTrue();
        return c.general().getAny(key);
    }

    private List<String> tomlRefused(Setting<?> key, String literal) {
        List<String> problems = files().tomlProblems("[pgloom]\n" + key.name() + " = " + literal + "\n");
        assertThat(problems).as("problems for %s = %s", key.name(), literal).hasSize(1);
        assertThat(problems.getFirst()).startsWith(files().file("pgloom.toml") + ": [pgloom] " + key.name() + ": ");
        return problems;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String tomlLiteral(Setting key, Object value) {
        return key.type().toml(value);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String shown(Setting key, Object value) {
        return key.show(value);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generalKeys")
    void defaultRoundTripsThroughTomlAndIni(Setting<?> key) throws Exception {
        Object def = key.defaultValue();
        assertThat(def).as("every [pgloom] key has a default").isNotNull();
        assertThat(fromToml(key, tomlLiteral(key, def))).isEqualTo(def);
        assertThat(fromIni(key, shown(key, def))).isEqualTo(def);
        Config empty = files().toml("[pgloom]\n");
        assertThat(empty.general().isSet(key)).isFalse();
        assertThat(empty.general().getAny(key)).isEqualTo(def);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generalKeys")
    void acceptsTheDocumentedFormsOfItsType(Setting<?> key) throws Exception {
        ValueType<?> type = key.type();
        if (type == ValueTypes.BOOLEAN) {
            assertThat(fromToml(key, "true")).isEqualTo(true);
            assertThat(fromToml(key, "false")).isEqualTo(false);
            assertThat(fromToml(key, "1")).isEqualTo(true);
            assertThat(fromToml(key, "0")).isEqualTo(false);
            assertThat(fromIni(key, "1")).isEqualTo(true);
            assertThat(fromIni(key, "0")).isEqualTo(false);
            assertThat(fromIni(key, "true")).isEqualTo(true);
            assertThat(fromIni(key, "false")).isEqualTo(false);
        } else if (type == ValueTypes.DURATION) {
            assertThat(fromToml(key, "600")).isEqualTo(Duration.ofSeconds(600));
            assertThat(fromToml(key, "0.5")).isEqualTo(Duration.ofMillis(500));
            assertThat(fromToml(key, "\"250ms\"")).isEqualTo(Duration.ofMillis(250));
            assertThat(fromToml(key, "\"5min\"")).isEqualTo(Duration.ofMinutes(5));
            assertThat(fromToml(key, "\"30s\"")).isEqualTo(Duration.ofSeconds(30));
            assertThat(fromToml(key, "\"1h\"")).isEqualTo(Duration.ofHours(1));
            assertThat(fromToml(key, "\"1d\"")).isEqualTo(Duration.ofDays(1));
            assertThat(fromToml(key, "0")).isEqualTo(Duration.ZERO);
            assertThat(fromIni(key, "600")).isEqualTo(Duration.ofSeconds(600));
            assertThat(fromIni(key, "0.5")).isEqualTo(Duration.ofMillis(500));
            assertThat(fromIni(key, "3600.0")).isEqualTo(Duration.ofHours(1));
            assertThat(fromIni(key, "250ms")).isEqualTo(Duration.ofMillis(250));
        } else if (type == ValueTypes.LIST) {
            assertThat(fromToml(key, "\"a, b\"")).isEqualTo(List.of("a", "b"));
            assertThat(fromToml(key, "[\"a\", \" b \"]")).isEqualTo(List.of("a", "b"));
            assertThat(fromToml(key, "\"a,,b,\"")).isEqualTo(List.of("a", "b"));
            assertThat(fromIni(key, "a, b")).isEqualTo(List.of("a", "b"));
            assertThat(fromIni(key, "single")).isEqualTo(List.of("single"));
        } else if (type == ValueTypes.OCTAL_MODE) {
            assertThat(fromToml(key, "\"0700\"")).isEqualTo(0700);
            assertThat(fromToml(key, "\"777\"")).isEqualTo(0777);
            assertThat(fromToml(key, "600")).as("a TOML integer is read as octal digits").isEqualTo(0600);
            assertThat(fromIni(key, "0660")).isEqualTo(0660);
        } else if (type == ValueTypes.STRING) {
            assertThat(fromToml(key, "\"some text\"")).isEqualTo("some text");
            assertThat(fromToml(key, "'single quoted'")).isEqualTo("single quoted");
            assertThat(fromIni(key, "some text")).isEqualTo("some text");
            assertThat(fromIni(key, "'quoted text'")).isEqualTo("quoted text");
        } else if (oneOfWords(key) != null) {
            for (String word : oneOfWords(key)) {
                Object value = key.parse(word);
                assertThat(shown(key, value)).isEqualToIgnoringCase(word);
                assertThat(fromToml(key, "\"" + word + "\"")).isEqualTo(value);
                assertThat(fromToml(key, "\" " + word.toUpperCase(java.util.Locale.ROOT) + "\"")).isEqualTo(value);
                assertThat(fromIni(key, word)).isEqualTo(value);
            }
        } else if (key.defaultValue() instanceof Integer) {
            long[] range = integerRange(key);
            assertThat(fromToml(key, Long.toString(range[0]))).isEqualTo((int) range[0]);
            assertThat(fromToml(key, Long.toString(range[1]))).isEqualTo((int) range[1]);
            assertThat(fromIni(key, Long.toString(range[1]))).isEqualTo((int) range[1]);
            assertThat(fromIni(key, " " + range[0] + " ")).isEqualTo((int) range[0]);
        } else {
            throw new AssertionError("no value forms known for the type of " + key.name() + "; extend this test");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generalKeys")
    void refusesBadValuesNamingFileTableAndKey(Setting<?> key) {
        ValueType<?> type = key.type();
        if (type == ValueTypes.BOOLEAN) {
            assertThat(tomlRefused(key, "\"maybe\"").getFirst()).contains("must be a boolean", "\"maybe\"");
            tomlRefused(key, "2");
            tomlRefused(key, "[true]");
        } else if (type == ValueTypes.DURATION) {
            assertThat(tomlRefused(key, "\"5 parsecs\"").getFirst()).contains("number of seconds", "\"5 parsecs\"");
            assertThat(tomlRefused(key, "-1").getFirst()).contains("must not be negative");
            assertThat(tomlRefused(key, "\"-2s\"").getFirst()).contains("must not be negative");
            assertThat(tomlRefused(key, "1e12").getFirst()).contains("too large");
            tomlRefused(key, "true");
            tomlRefused(key, "\"\"");
        } else if (type == ValueTypes.LIST) {
            assertThat(tomlRefused(key, "5").getFirst()).contains("comma-separated");
            assertThat(tomlRefused(key, "[\"a\", 1]").getFirst()).contains("list of strings");
        } else if (type == ValueTypes.OCTAL_MODE) {
            assertThat(tomlRefused(key, "\"0999\"").getFirst()).contains("octal file mode", "\"0999\"");
            tomlRefused(key, "\"rwxr-xr-x\"");
            tomlRefused(key, "\"077777\"");
        } else if (type == ValueTypes.STRING) {
            assertThat(tomlRefused(key, "[\"a\"]").getFirst()).contains("must be a string", "a list");
            assertThat(tomlRefused(key, "{ a = 1 }").getFirst()).contains("must be a string");
        } else if (oneOfWords(key) != null) {
            assertThat(tomlRefused(key, "\"bogus\"").getFirst()).contains("must be one of", "\"bogus\"");
            tomlRefused(key, "1");
        } else if (key.defaultValue() instanceof Integer) {
            long[] range = integerRange(key);
            String expected = "must be an integer from " + range[0] + " to " + range[1];
            assertThat(tomlRefused(key, Long.toString(range[0] - 1)).getFirst()).contains(expected, "got " + (range[0] - 1));
            assertThat(tomlRefused(key, Long.toString(range[1] + 1)).getFirst()).contains(expected, "got " + (range[1] + 1));
            assertThat(tomlRefused(key, "\"many\"").getFirst()).contains("\"many\"");
            tomlRefused(key, "1.5");
            tomlRefused(key, "99999999999999999999999");
        } else {
            throw new AssertionError("no bad values known for the type of " + key.name() + "; extend this test");
        }
    }

    /** The words a one-of-a-set key accepts, read from the message of a value outside the set; null for other types. */
    private static List<String> oneOfWords(Setting<?> key) {
        if (!(key.defaultValue() instanceof Enum<?> || key.defaultValue() instanceof String) || key.type() == ValueTypes.STRING) {
            return null;
        }
        try {
            key.parse("no-such-word");
        } catch (IllegalArgumentException e) {
            Matcher m = Pattern.compile("must be one of (.+), got ").matcher(e.getMessage());
            if (m.find()) {
                return List.of(m.group(1).split(", "));
            }
        }
        return null;
    }

    /** The [min, max] of an integer key, read from the message of a value of the wrong kind. */
    private static long[] integerRange(Setting<?> key) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> key.parse("not a number"));
        Matcher m = Pattern.compile("an integer from (-?\\d+) to (-?\\d+)").matcher(e.getMessage());
        assertThat(m.find()).as("range in: %s", e.getMessage()).isTrue();
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }

    @Test
    void keyNamesAreUniqueAndFoundByName() {
        Set<String> names = new HashSet<>();
        for (Setting<?> s : General.SECTION.settings()) {
            assertThat(names.add(s.name())).as("duplicate key %s", s.name()).isTrue();
            assertThat(General.SECTION.find(s.name())).isSameAs(s);
            assertThat(s.name()).matches("[a-z][a-z0-9_]*");
        }
        assertThat(General.SECTION.find("service_name")).isSameAs(General.JOB_NAME);
        assertThat(General.SECTION.find("no_such_key")).isNull();
    }

    @Test
    void serviceNameIsAnAliasOfJobName() throws Exception {
        Config c = files().toml("[pgloom]\nservice_name = \"edge\"\n");
        assertThat(c.get(General.JOB_NAME)).isEqualTo("edge");
    }

    @Test
    void defaultsAreThoseOfPgBouncer() {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("listen_addr", "");
        expected.put("listen_port", "6432");
        expected.put("listen_backlog", "128");
        expected.put("unix_socket_dir", "/tmp");
        expected.put("unix_socket_mode", "0777");
        expected.put("unix_socket_group", "");
        expected.put("so_reuseport", "0");
        expected.put("peer_id", "0");
        expected.put("logfile", "");
        expected.put("pidfile", "");
        expected.put("job_name", "pgbouncer");
        expected.put("auth_type", "md5");
        expected.put("auth_file", "");
        expected.put("auth_hba_file", "");
        expected.put("auth_query", "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END "
                + "FROM pg_authid WHERE rolname=$1 AND rolcanlogin");
        expected.put("admin_users", "");
        expected.put("stats_users", "");
        expected.put("scram_iterations", "4096");
        // pgloom's own limits
        expected.put("client_login_failure_limit", "0");
        expected.put("client_login_failure_window", "60");
        expected.put("client_login_failure_sources", "100000");
        expected.put("client_login_max_packet_size", "65536");
        expected.put("scram_max_message_size", "4096");
        expected.put("scram_max_nonce_length", "1024");
        expected.put("server_login_max_packet_size", "1048576");
        expected.put("pool_mode", "session");
        expected.put("max_client_conn", "100");
        expected.put("default_pool_size", "20");
        expected.put("min_pool_size", "0");
        expected.put("reserve_pool_size", "0");
        expected.put("reserve_pool_timeout", "5");
        expected.put("max_db_connections", "0");
        expected.put("max_db_client_connections", "0");
        expected.put("max_user_connections", "0");
        expected.put("max_user_client_connections", "0");
        expected.put("server_round_robin", "0");
        expected.put("track_extra_parameters", "IntervalStyle");
        expected.put("ignore_startup_parameters", "");
        expected.put("disable_pqexec", "0");
        expected.put("application_name_add_host", "0");
        expected.put("max_prepared_statements", "200");
        expected.put("autodb_idle_timeout", "3600");
        expected.put("server_reset_query", "DISCARD ALL");
        expected.put("server_reset_query_always", "0");
        expected.put("server_check_delay", "30");
        expected.put("server_check_query", "<empty>");
        expected.put("server_fast_close", "0");
        expected.put("server_lifetime", "3600");
        expected.put("server_idle_timeout", "600");
        expected.put("server_connect_timeout", "15");
        expected.put("server_login_retry", "15");
        expected.put("client_login_timeout", "60");
        expected.put("query_timeout", "0");
        expected.put("query_wait_timeout", "120");
        expected.put("query_wait_notify", "5");
        expected.put("cancel_wait_timeout", "10");
        expected.put("client_idle_timeout", "0");
        expected.put("idle_transaction_timeout", "0");
        expected.put("transaction_timeout", "0");
        expected.put("suspend_timeout", "10");
        expected.put("pkt_buf", "4096");
        expected.put("max_packet_size", "2147483647");
        expected.put("sbuf_loopcnt", "5");
        expected.put("tcp_socket_buffer", "0");
        expected.put("tcp_keepalive", "1");
        expected.put("tcp_keepcnt", "0");
        expected.put("tcp_keepidle", "0");
        expected.put("tcp_keepintvl", "0");
        expected.put("tcp_user_timeout", "0");
        expected.put("dns_max_ttl", "15");
        expected.put("dns_nxdomain_ttl", "15");
        expected.put("dns_zone_check_period", "0");
        expected.put("syslog", "0");
        expected.put("syslog_ident", "pgbouncer");
        expected.put("syslog_facility", "daemon");
        expected.put("log_connections", "1");
        expected.put("log_disconnections", "1");
        expected.put("log_pooler_errors", "1");
        expected.put("log_stats", "1");
        expected.put("stats_period", "60");
        expected.put("verbose", "0");
        expected.put("client_tls_sslmode", "disable");
        expected.put("client_tls_protocols", "secure");
        expected.put("client_tls_ciphers", "default");
        expected.put("client_tls_ecdhcurve", "auto");
        expected.put("client_tls_dheparams", "auto");
        expected.put("server_tls_sslmode", "prefer");
        expected.put("server_tls_protocols", "secure");
        expected.put("server_tls_ciphers", "default");
        Values defaults = General.SECTION.defaults();
        expected.forEach((name, shown) -> {
            Setting<?> key = General.SECTION.find(name);
            assertThat(key).as("key %s", name).isNotNull();
            assertThat(key.showAny(defaults.getAny(key))).as("default of %s", name).isEqualTo(shown);
        });
    }

    @Test
    void keysPgBouncerCannotReloadAreFixed() {
        Set<String> fixed = Set.of("listen_addr", "listen_port", "listen_backlog", "unix_socket_dir", "unix_socket_mode",
                "unix_socket_group", "so_reuseport", "pidfile", "job_name", "track_extra_parameters", "disable_pqexec",
                "pkt_buf");
        // pgloom's own keys, not PgBouncer's: their reload rule is pgloom's choice
        Set<String> pgloomOnly = Set.of("metrics_listen", "transport", "poller_threads", "poller_inline",
                "idle_thread_timeout", "client_close_linger");
        for (Setting<?> s : General.SECTION.settings()) {
            if (s.supported() && !pgloomOnly.contains(s.name())) {
                assertThat(s.reloadable()).as("reloadable(%s)", s.name()).isEqualTo(!fixed.contains(s.name()));
            }
        }
    }

    @Test
    void valueTypesShowValuesAsPgBouncerDoes() {
        assertThat(ValueTypes.DURATION.show(Duration.ofMillis(500))).isEqualTo("0.5");
        assertThat(ValueTypes.DURATION.show(Duration.ofSeconds(3600))).isEqualTo("3600");
        assertThat(ValueTypes.DURATION.show(Duration.ZERO)).isEqualTo("0");
        assertThat(ValueTypes.BOOLEAN.show(true)).isEqualTo("1");
        assertThat(ValueTypes.OCTAL_MODE.show(0640)).isEqualTo("0640");
        assertThat(ValueTypes.LIST.show(List.of("a", "b"))).isEqualTo("a,b");
        assertThat(ValueTypes.DURATION.parse("1.5 s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(ValueTypes.DURATION.parse("100us")).isEqualTo(Duration.ofNanos(100_000));
        assertThatThrownBy(() -> ValueTypes.DURATION.parse("ms")).isInstanceOf(IllegalArgumentException.class);
    }
}
