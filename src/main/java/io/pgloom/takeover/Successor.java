package io.pgloom.takeover;

/**
 * Who is taking over, as told by the application_name of its console login, and so what the old
 * process may hand it. A successor that says nothing known is treated as PgBouncer, which is
 * always safe: pgloom's columns are left out and connections stop only at message boundaries.
 *
 * <p>A pgloom successor logs in as {@link #NAME}; an old process that knows that name answers
 * with the ParameterStatus {@link #ACK_PARAMETER}. Without it the old process is PgBouncer or a
 * pgloom from before {@link #NAME}, which would treat the successor as PgBouncer: the successor
 * then logs in again as {@link #WAITS_NAME}, which such a pgloom understands (and PgBouncer
 * ignores). Immutable.
 */
public enum Successor {
    /** PgBouncer (or anything unknown): PgBouncer's 15 columns; nothing held travels. */
    PGBOUNCER,
    /**
     * A pgloom from before partial state could travel: pgloom's columns, and the requests of
     * clients that were waiting for a server.
     */
    PGLOOM_WAITS,
    /**
     * pgloom: also what a connection holds between two reads: the start of a message, output its
     * peer has not read yet, the rest of a large message still to pass on.
     */
    PGLOOM;

    /** The application_name of {@link #PGLOOM_WAITS}, kept so that such a successor is still understood. */
    public static final String WAITS_NAME = "pgloom-takeover";
    /** The application_name this pgloom logs in with when it takes over. */
    public static final String NAME = "pgloom-takeover/2";
    /** The ParameterStatus an old process sends a console login named {@link #NAME}. */
    public static final String ACK_PARAMETER = "pgloom_takeover_carry";

    public static Successor of(String applicationName) {
        if (NAME.equals(applicationName)) {
            return PGLOOM;
        }
        return WAITS_NAME.equals(applicationName) ? PGLOOM_WAITS : PGBOUNCER;
    }

    /** Whether SHOW FDS adds pgloom's columns and rows. */
    public boolean readsPgloomColumns() {
        return this != PGBOUNCER;
    }

    /** Whether clients waiting for a server stop waiting, their requests travelling instead. */
    public boolean carriesWaits() {
        return this != PGBOUNCER;
    }

    /** Whether connections may stop between messages, what they hold travelling with them. */
    public boolean carriesPartial() {
        return this == PGLOOM;
    }
}
