package io.pgloom.config;

/** How long a client keeps its server connection (PgBouncer's pool_mode). */
public enum PoolMode {
    /** Until the client disconnects. */
    SESSION,
    /** Until the transaction ends (ReadyForQuery 'I' with nothing outstanding). */
    TRANSACTION,
    /** Until the statement ends; transaction blocks are refused. */
    STATEMENT;

    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static final ValueType<PoolMode> TYPE = ValueTypes.enumeration(PoolMode.class, PoolMode::word);
}
