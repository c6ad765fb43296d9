package io.pgloom;

/** PgBouncer's cf_pause_mode: running, PAUSE (no server lending) or SUSPEND (no socket reading). */
enum PauseMode {
    NONE, PAUSE, SUSPEND
}
