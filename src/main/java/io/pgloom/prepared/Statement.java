package io.pgloom.prepared;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One distinct prepared statement: the Parse body after the name (query text and parameter
 * types), the name it has on every server ({@code PGLOOM_<id>}), and how many client and server
 * maps refer to it. Immutable but for the reference count.
 */
public final class Statement {
    private final long id;
    private final byte[] body;
    private final byte[] serverName;
    private final int hash;
    final AtomicInteger refs = new AtomicInteger();
    private volatile Statement replacement;

    Statement(long id, byte[] body) {
        this.id = id;
        this.body = body;
        this.serverName = ("PGLOOM_" + id).getBytes(StandardCharsets.US_ASCII);
        this.hash = Arrays.hashCode(body);
    }

    public long id() {
        return id;
    }

    /** The Parse body after the statement name. */
    public byte[] body() {
        return body;
    }

    /** The name on the servers, as bytes without the terminating NUL. */
    public byte[] serverName() {
        return serverName;
    }

    public String serverNameText() {
        return new String(serverName, StandardCharsets.US_ASCII);
    }

    /**
     * The statement to use now: itself, or the fresh copy that replaced it after a server said
     * its cached plan no longer fits (see {@link StatementRegistry#replace}).
     */
    public Statement current() {
        Statement s = this;
        while (s.replacement != null) {
            s = s.replacement;
        }
        return s;
    }

    void replaceWith(Statement fresh) {
        replacement = fresh;
    }

    boolean replaced() {
        return replacement != null;
    }

    int bodyHash() {
        return hash;
    }
}
