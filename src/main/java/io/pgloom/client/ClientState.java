package io.pgloom.client;

/** Where a client is, mirroring PgBouncer's CL_* states as SHOW CLIENTS names them. */
public enum ClientState {
    /** Startup and authentication (cl_login). */
    LOGIN,
    /** Logged in, no server needed right now (idle; "idle" in SHOW CLIENTS when not linked). */
    ACTIVE,
    /** Waiting for a server (cl_waiting). */
    WAITING,
    /** Gone. */
    CLOSED
}
