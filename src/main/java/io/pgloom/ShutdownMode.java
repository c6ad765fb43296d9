package io.pgloom;

/** How the process is ending: once its servers are gone, or once its clients are gone. */
enum ShutdownMode {
    WAIT_FOR_SERVERS, WAIT_FOR_CLIENTS
}
