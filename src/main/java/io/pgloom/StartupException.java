package io.pgloom;

/** Startup cannot continue; the message is printed as is (no stack trace) and the process exits 1. */
final class StartupException extends Exception {
    StartupException(String message) {
        super(message, null, false, false);
    }
}
