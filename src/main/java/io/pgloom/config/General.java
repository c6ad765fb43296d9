package io.pgloom.config;

import static io.pgloom.config.ValueTypes.BOOLEAN;
import static io.pgloom.config.ValueTypes.LIST;
import static io.pgloom.config.ValueTypes.OCTAL_MODE;
import static io.pgloom.config.ValueTypes.STRING;
import static io.pgloom.config.ValueTypes.integer;

import java.time.Duration;
import java.util.List;

/**
 * The keys of the {@code [pgloom]} table (PgBouncer's {@code [pgbouncer]} section), with
 * PgBouncer's names and defaults. Every limit of the pooler is one of these. The order here is
 * the order of {@code conf/pgloom.toml}; SHOW CONFIG sorts by name.
 */
public final class General {
    private General() {
    }

    private static final Section.Builder B = new Section.Builder("pgloom");
    private static final int MAX = Integer.MAX_VALUE;

    // --- where to listen ---
    public static final Setting<List<String>> LISTEN_ADDR = B.fixed("listen_addr", LIST, List.of());
    public static final Setting<Integer> LISTEN_PORT = B.fixed("listen_port", integer(1, 65535), 6432);
    public static final Setting<Integer> LISTEN_BACKLOG = B.fixed("listen_backlog", integer(1, 65535), 128);
    public static final Setting<String> UNIX_SOCKET_DIR = B.fixed("unix_socket_dir", STRING, "/tmp");
    public static final Setting<Integer> UNIX_SOCKET_MODE = B.fixed("unix_socket_mode", OCTAL_MODE, 0777);
    public static final Setting<String> UNIX_SOCKET_GROUP = B.fixed("unix_socket_group", STRING, "");
    public static final Setting<Boolean> SO_REUSEPORT = B.fixed("so_reuseport", BOOLEAN, false);
    public static final Setting<Integer> PEER_ID = B.add("peer_id", integer(0, 16383), 0);

    // --- process ---
    public static final Setting<String> LOGFILE = B.add("logfile", STRING, "");
    public static final Setting<String> PIDFILE = B.fixed("pidfile", STRING, "");
    public static final Setting<String> USER = B.ignored("user", STRING, "");
    public static final Setting<String> JOB_NAME = B.add("job_name", STRING, "pgbouncer", false, true);
    public static final Setting<String> METRICS_LISTEN = B.fixed("metrics_listen", STRING, "");
    public static final Setting<String> TRANSPORT = B.fixed("transport", ValueTypes.oneOf("auto", "epoll", "nio"), "auto");
    public static final Setting<Integer> POLLER_THREADS = B.fixed("poller_threads", integer(0, 1024), 0);
    public static final Setting<Boolean> POLLER_INLINE = B.fixed("poller_inline", BOOLEAN, true);
    public static final Setting<Duration> IDLE_THREAD_TIMEOUT = B.seconds("idle_thread_timeout", 2);
    public static final Setting<Duration> CLIENT_CLOSE_LINGER = B.seconds("client_close_linger", 1);

    // --- authentication ---
    public static final Setting<AuthType> AUTH_TYPE = B.add("auth_type", AuthType.TYPE, AuthType.MD5);
    public static final Setting<String> AUTH_FILE = B.add("auth_file", STRING, "");
    public static final Setting<String> AUTH_HBA_FILE = B.add("auth_hba_file", STRING, "");
    public static final Setting<String> AUTH_IDENT_FILE = B.add("auth_ident_file", STRING, "");
    public static final Setting<String> AUTH_USER = B.add("auth_user", STRING, "");
    public static final Setting<String> AUTH_QUERY = B.add("auth_query", STRING,
            "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END "
                    + "FROM pg_authid WHERE rolname=$1 AND rolcanlogin");
    public static final Setting<String> AUTH_DBNAME = B.add("auth_dbname", STRING, "");
    public static final Setting<String> AUTH_LDAP_OPTIONS = B.ignored("auth_ldap_options", STRING, "");
    public static final Setting<List<String>> ADMIN_USERS = B.add("admin_users", LIST, List.of());
    public static final Setting<List<String>> STATS_USERS = B.add("stats_users", LIST, List.of());
    public static final Setting<Integer> SCRAM_ITERATIONS = B.add("scram_iterations", integer(1, 100_000_000), 4096);
    /** pgloom's own: failed logins from one address within the window that block it; 0 is off. */
    public static final Setting<Integer> CLIENT_LOGIN_FAILURE_LIMIT =
            B.add("client_login_failure_limit", integer(0, MAX), 0);
    public static final Setting<Duration> CLIENT_LOGIN_FAILURE_WINDOW = B.seconds("client_login_failure_window", 60);
    /** pgloom's own: how many sources client_login_failure_limit tracks at most. */
    public static final Setting<Integer> CLIENT_LOGIN_FAILURE_SOURCES =
            B.add("client_login_failure_sources", integer(1, MAX), 100_000);
    /** pgloom's own: the largest message (type byte and length included) a client sends before its login. */
    public static final Setting<Integer> CLIENT_LOGIN_MAX_PACKET_SIZE =
            B.add("client_login_max_packet_size", integer(256, MAX), 65536);
    /** pgloom's own: the longest SCRAM message accepted from a client or a server, in bytes. */
    public static final Setting<Integer> SCRAM_MAX_MESSAGE_SIZE =
            B.add("scram_max_message_size", integer(128, 1 << 20), 4096);
    /** pgloom's own: the longest SCRAM nonce accepted from a client or a server, in characters. */
    public static final Setting<Integer> SCRAM_MAX_NONCE_LENGTH =
            B.add("scram_max_nonce_length", integer(32, 1 << 20), 1024);

    // --- pooling ---
    public static final Setting<PoolMode> POOL_MODE = B.add("pool_mode", PoolMode.TYPE, PoolMode.SESSION);
    public static final Setting<Integer> MAX_CLIENT_CONN = B.add("max_client_conn", integer(1, MAX), 100);
    public static final Setting<Integer> DEFAULT_POOL_SIZE = B.add("default_pool_size", integer(0, MAX), 20);
    public static final Setting<Integer> MIN_POOL_SIZE = B.add("min_pool_size", integer(0, MAX), 0);
    public static final Setting<Integer> RESERVE_POOL_SIZE = B.add("reserve_pool_size", integer(0, MAX), 0);
    public static final Setting<Duration> RESERVE_POOL_TIMEOUT = B.seconds("reserve_pool_timeout", 5);
    public static final Setting<Integer> MAX_DB_CONNECTIONS = B.add("max_db_connections", integer(0, MAX), 0);
    public static final Setting<Integer> MAX_DB_CLIENT_CONNECTIONS = B.add("max_db_client_connections", integer(0, MAX), 0);
    public static final Setting<Integer> MAX_USER_CONNECTIONS = B.add("max_user_connections", integer(0, MAX), 0);
    public static final Setting<Integer> MAX_USER_CLIENT_CONNECTIONS = B.add("max_user_client_connections", integer(0, MAX), 0);
    public static final Setting<Boolean> SERVER_ROUND_ROBIN = B.add("server_round_robin", BOOLEAN, false);
    public static final Setting<List<String>> TRACK_EXTRA_PARAMETERS =
            B.fixed("track_extra_parameters", LIST, List.of("IntervalStyle"));
    public static final Setting<List<String>> IGNORE_STARTUP_PARAMETERS = B.add("ignore_startup_parameters", LIST, List.of());
    public static final Setting<Boolean> DISABLE_PQEXEC = B.fixed("disable_pqexec", BOOLEAN, false);
    public static final Setting<Boolean> APPLICATION_NAME_ADD_HOST = B.add("application_name_add_host", BOOLEAN, false);
    public static final Setting<Integer> MAX_PREPARED_STATEMENTS = B.add("max_prepared_statements", integer(0, MAX), 200);
    public static final Setting<Duration> AUTODB_IDLE_TIMEOUT = B.seconds("autodb_idle_timeout", 3600);

    // --- server connections ---
    public static final Setting<String> SERVER_RESET_QUERY = B.add("server_reset_query", STRING, "DISCARD ALL");
    public static final Setting<Boolean> SERVER_RESET_QUERY_ALWAYS = B.add("server_reset_query_always", BOOLEAN, false);
    public static final Setting<Duration> SERVER_CHECK_DELAY = B.seconds("server_check_delay", 30);
    public static final Setting<String> SERVER_CHECK_QUERY = B.add("server_check_query", STRING, "<empty>");
    public static final Setting<Boolean> SERVER_FAST_CLOSE = B.add("server_fast_close", BOOLEAN, false);
    public static final Setting<Duration> SERVER_LIFETIME = B.seconds("server_lifetime", 3600);
    public static final Setting<Duration> SERVER_IDLE_TIMEOUT = B.seconds("server_idle_timeout", 600);
    public static final Setting<Duration> SERVER_CONNECT_TIMEOUT = B.seconds("server_connect_timeout", 15);
    public static final Setting<Duration> SERVER_LOGIN_RETRY = B.seconds("server_login_retry", 15);
    /** pgloom's own: the largest message a server sends while pgloom logs in (connect_query's answer too). */
    public static final Setting<Integer> SERVER_LOGIN_MAX_PACKET_SIZE =
            B.add("server_login_max_packet_size", integer(1024, MAX), 1 << 20);

    // --- client timeouts ---
    public static final Setting<Duration> CLIENT_LOGIN_TIMEOUT = B.seconds("client_login_timeout", 60);
    public static final Setting<Duration> QUERY_TIMEOUT = B.seconds("query_timeout", 0);
    public static final Setting<Duration> QUERY_WAIT_TIMEOUT = B.seconds("query_wait_timeout", 120);
    public static final Setting<Duration> QUERY_WAIT_NOTIFY = B.seconds("query_wait_notify", 5);
    public static final Setting<Duration> CANCEL_WAIT_TIMEOUT = B.seconds("cancel_wait_timeout", 10);
    public static final Setting<Duration> CLIENT_IDLE_TIMEOUT = B.seconds("client_idle_timeout", 0);
    public static final Setting<Duration> IDLE_TRANSACTION_TIMEOUT = B.seconds("idle_transaction_timeout", 0);
    public static final Setting<Duration> TRANSACTION_TIMEOUT = B.seconds("transaction_timeout", 0);
    public static final Setting<Duration> SUSPEND_TIMEOUT = B.seconds("suspend_timeout", 10);

    // --- buffers and sockets ---
    public static final Setting<Integer> PKT_BUF = B.fixed("pkt_buf", integer(512, 1 << 20), 4096);
    public static final Setting<Integer> MAX_PACKET_SIZE = B.add("max_packet_size", integer(9, MAX), MAX);
    public static final Setting<Integer> SBUF_LOOPCNT = B.ignored("sbuf_loopcnt", integer(0, MAX), 5);
    public static final Setting<Boolean> TCP_DEFER_ACCEPT = B.ignored("tcp_defer_accept", BOOLEAN, true);
    public static final Setting<Integer> TCP_SOCKET_BUFFER = B.add("tcp_socket_buffer", integer(0, MAX), 0);
    public static final Setting<Boolean> TCP_KEEPALIVE = B.add("tcp_keepalive", BOOLEAN, true);
    public static final Setting<Integer> TCP_KEEPCNT = B.add("tcp_keepcnt", integer(0, MAX), 0);
    public static final Setting<Integer> TCP_KEEPIDLE = B.add("tcp_keepidle", integer(0, MAX), 0);
    public static final Setting<Integer> TCP_KEEPINTVL = B.add("tcp_keepintvl", integer(0, MAX), 0);
    public static final Setting<Integer> TCP_USER_TIMEOUT = B.add("tcp_user_timeout", integer(0, MAX), 0);

    // --- DNS (the JDK resolver is used; these are accepted for compatibility) ---
    public static final Setting<Duration> DNS_MAX_TTL = B.ignored("dns_max_ttl", ValueTypes.DURATION, Duration.ofSeconds(15));
    public static final Setting<Duration> DNS_NXDOMAIN_TTL =
            B.ignored("dns_nxdomain_ttl", ValueTypes.DURATION, Duration.ofSeconds(15));
    public static final Setting<Duration> DNS_ZONE_CHECK_PERIOD =
            B.ignored("dns_zone_check_period", ValueTypes.DURATION, Duration.ZERO);
    public static final Setting<String> RESOLV_CONF = B.ignored("resolv_conf", STRING, "");

    // --- logging ---
    public static final Setting<Boolean> SYSLOG = B.ignored("syslog", BOOLEAN, false);
    public static final Setting<String> SYSLOG_IDENT = B.ignored("syslog_ident", STRING, "pgbouncer");
    public static final Setting<String> SYSLOG_FACILITY = B.ignored("syslog_facility", STRING, "daemon");
    public static final Setting<Boolean> LOG_CONNECTIONS = B.add("log_connections", BOOLEAN, true);
    public static final Setting<Boolean> LOG_DISCONNECTIONS = B.add("log_disconnections", BOOLEAN, true);
    public static final Setting<Boolean> LOG_POOLER_ERRORS = B.add("log_pooler_errors", BOOLEAN, true);
    public static final Setting<Boolean> LOG_STATS = B.add("log_stats", BOOLEAN, true);
    public static final Setting<Duration> STATS_PERIOD = B.seconds("stats_period", 60);
    public static final Setting<Integer> VERBOSE = B.add("verbose", integer(0, 3), 0);

    // --- TLS ---
    public static final Setting<SslMode> CLIENT_TLS_SSLMODE = B.add("client_tls_sslmode", SslMode.TYPE, SslMode.DISABLE);
    public static final Setting<String> CLIENT_TLS_KEY_FILE = B.add("client_tls_key_file", STRING, "");
    public static final Setting<String> CLIENT_TLS_CERT_FILE = B.add("client_tls_cert_file", STRING, "");
    public static final Setting<String> CLIENT_TLS_CA_FILE = B.add("client_tls_ca_file", STRING, "");
    public static final Setting<String> CLIENT_TLS_PROTOCOLS = B.add("client_tls_protocols", STRING, "secure");
    public static final Setting<String> CLIENT_TLS_CIPHERS = B.add("client_tls_ciphers", STRING, "default");
    public static final Setting<String> CLIENT_TLS13_CIPHERS = B.add("client_tls13_ciphers", STRING, "");
    public static final Setting<String> CLIENT_TLS_ECDHCURVE = B.ignored("client_tls_ecdhcurve", STRING, "auto");
    public static final Setting<String> CLIENT_TLS_DHEPARAMS = B.ignored("client_tls_dheparams", STRING, "auto");
    public static final Setting<SslMode> SERVER_TLS_SSLMODE = B.add("server_tls_sslmode", SslMode.TYPE, SslMode.PREFER);
    public static final Setting<String> SERVER_TLS_CA_FILE = B.add("server_tls_ca_file", STRING, "");
    public static final Setting<String> SERVER_TLS_KEY_FILE = B.add("server_tls_key_file", STRING, "");
    public static final Setting<String> SERVER_TLS_CERT_FILE = B.add("server_tls_cert_file", STRING, "");
    public static final Setting<String> SERVER_TLS_PROTOCOLS = B.add("server_tls_protocols", STRING, "secure");
    public static final Setting<String> SERVER_TLS_CIPHERS = B.add("server_tls_ciphers", STRING, "default");
    public static final Setting<String> SERVER_TLS13_CIPHERS = B.add("server_tls13_ciphers", STRING, "");

    public static final Section SECTION = B.alias("service_name", "job_name").build();
}
