package io.pgloom.admin;

import io.pgloom.client.ClientConnection;
import io.pgloom.proto.MessageBuilder;

/**
 * The operations behind the console's control commands, implemented by the running pooler.
 * Commands that wait (PAUSE, SUSPEND, WAIT_CLOSE) block the console's thread until done.
 */
public interface Controls {
    void pause(String database) throws AdminError;

    void resume(String database) throws AdminError;

    void suspend(ClientConnection requester) throws AdminError;

    void disable(String database, boolean disabled) throws AdminError;

    void kill(String database) throws AdminError;

    void killClient(String id) throws AdminError;

    void reconnect(String database) throws AdminError;

    void waitClose(String database) throws AdminError;

    void reload() throws AdminError;

    /** @return the tag to answer ("SET key=value") */
    String set(String key, String value) throws AdminError;

    /** SHUTDOWN with no argument exits at once and never returns normally. */
    void shutdown(String mode) throws AdminError;

    /** SHOW FDS: rows with descriptors attached when the requester may receive them. */
    void showFds(ClientConnection requester, MessageBuilder out) throws AdminError;

    /** The console client went away (a SUSPEND it issued must be undone). */
    void consoleClosed(ClientConnection client);
}
