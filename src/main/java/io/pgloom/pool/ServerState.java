package io.pgloom.pool;

/** Where a server connection is, mirroring PgBouncer's SV_* states; each is one list of its pool. */
public enum ServerState {
    /** Connecting and logging in (sv_login). */
    LOGIN,
    /** Ready and unused (sv_idle). */
    IDLE,
    /** Lent to a client (sv_active). */
    ACTIVE,
    /** Running a reset or check query before it goes idle or to a client (sv_tested). */
    TESTED,
    /** Released while a cancel request for it is in flight; reused only when that is done (sv_being_canceled). */
    BEING_CANCELED,
    /** Gone. */
    CLOSED;

    public String showName() {
        return switch (this) {
            case LOGIN -> "login";
            case IDLE -> "idle";
            case ACTIVE -> "active";
            case TESTED -> "tested";
            case BEING_CANCELED -> "being_canceled";
            case CLOSED -> "closed";
        };
    }
}
