package io.pgloom.config;

import static io.pgloom.config.ValueTypes.STRING;
import static io.pgloom.config.ValueTypes.integer;

import java.time.Duration;

/**
 * The keys of a {@code [databases.<name>]} table (the connection-string keys of PgBouncer's
 * {@code [databases]} section). A null value means "not set here": the general setting applies.
 */
public final class DatabaseKeys {
    private DatabaseKeys() {
    }

    private static final Section.Builder B = new Section.Builder("databases");
    private static final int MAX = Integer.MAX_VALUE;

    public static final Setting<String> DBNAME = B.add("dbname", STRING, null);
    public static final Setting<String> HOST = B.add("host", STRING, null);
    public static final Setting<Integer> PORT = B.add("port", integer(1, 65535), 5432);
    public static final Setting<String> USER = B.add("user", STRING, null);
    public static final Setting<String> PASSWORD = B.add("password", STRING, null);
    public static final Setting<String> AUTH_USER = B.add("auth_user", STRING, null);
    public static final Setting<String> AUTH_QUERY = B.add("auth_query", STRING, null);
    public static final Setting<String> AUTH_DBNAME = B.add("auth_dbname", STRING, null);
    public static final Setting<Integer> POOL_SIZE = B.add("pool_size", integer(0, MAX), null);
    public static final Setting<Integer> MIN_POOL_SIZE = B.add("min_pool_size", integer(0, MAX), null);
    public static final Setting<Integer> RESERVE_POOL_SIZE = B.add("reserve_pool_size", integer(0, MAX), null);
    public static final Setting<Integer> MAX_DB_CONNECTIONS = B.add("max_db_connections", integer(0, MAX), null);
    public static final Setting<Integer> MAX_DB_CLIENT_CONNECTIONS = B.add("max_db_client_connections", integer(0, MAX), null);
    public static final Setting<Duration> SERVER_LIFETIME = B.add("server_lifetime", ValueTypes.DURATION, null);
    public static final Setting<PoolMode> POOL_MODE = B.add("pool_mode", PoolMode.TYPE, null);
    public static final Setting<String> LOAD_BALANCE_HOSTS = B.add("load_balance_hosts", STRING, null);
    public static final Setting<String> CONNECT_QUERY = B.add("connect_query", STRING, null);
    public static final Setting<String> CLIENT_ENCODING = B.add("client_encoding", STRING, null);
    public static final Setting<String> DATESTYLE = B.add("datestyle", STRING, null);
    public static final Setting<String> TIMEZONE = B.add("timezone", STRING, null);
    public static final Setting<String> APPLICATION_NAME = B.add("application_name", STRING, null);
    public static final Setting<Duration> QUERY_WAIT_TIMEOUT = B.add("query_wait_timeout", ValueTypes.DURATION, null);

    public static final Section SECTION = B.alias("reserve_pool", "reserve_pool_size").build();
}
