package io.pgloom.config;

import static io.pgloom.config.ValueTypes.STRING;
import static io.pgloom.config.ValueTypes.integer;

import java.time.Duration;

/**
 * The keys of a {@code [users.<name>]} table: PgBouncer's per-user overrides, plus
 * {@code password} (a pgloom extension: the user's secret, instead of an auth_file line).
 * A null value means "not set here".
 */
public final class UserKeys {
    private UserKeys() {
    }

    private static final Section.Builder B = new Section.Builder("users");
    private static final int MAX = Integer.MAX_VALUE;

    public static final Setting<String> PASSWORD = B.add("password", STRING, null);
    public static final Setting<PoolMode> POOL_MODE = B.add("pool_mode", PoolMode.TYPE, null);
    public static final Setting<Integer> POOL_SIZE = B.add("pool_size", integer(0, MAX), null);
    public static final Setting<Integer> RESERVE_POOL_SIZE = B.add("reserve_pool_size", integer(0, MAX), null);
    public static final Setting<Integer> MAX_USER_CONNECTIONS = B.add("max_user_connections", integer(0, MAX), null);
    public static final Setting<Integer> MAX_USER_CLIENT_CONNECTIONS =
            B.add("max_user_client_connections", integer(0, MAX), null);
    public static final Setting<Duration> QUERY_TIMEOUT = B.add("query_timeout", ValueTypes.DURATION, null);
    public static final Setting<Duration> IDLE_TRANSACTION_TIMEOUT =
            B.add("idle_transaction_timeout", ValueTypes.DURATION, null);
    public static final Setting<Duration> TRANSACTION_TIMEOUT = B.add("transaction_timeout", ValueTypes.DURATION, null);
    public static final Setting<Duration> CLIENT_IDLE_TIMEOUT = B.add("client_idle_timeout", ValueTypes.DURATION, null);
    public static final Setting<Duration> QUERY_WAIT_TIMEOUT = B.add("query_wait_timeout", ValueTypes.DURATION, null);

    public static final Section SECTION = B.build();
}
