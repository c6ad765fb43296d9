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
    private final byte[] sqlTypes;
    private final byte[] serverName;
    final AtomicInteger refs = new AtomicInteger();
    private volatile Statement replacement;

    Statement(long id, byte[] body, byte[] sqlTypes) {
        this.id = id;
        this.body = body;
        this.sqlTypes = sqlTypes;
        this.serverName = ("PGLOOM_" + id).getBytes(StandardCharsets.US_ASCII);
    }

    public long id() {
        return id;
    }

    /** The Parse body after the statement name. */
    public byte[] body() {
        return body;
    }

    /**
     * For a statement made by SQL {@code PREPARE}: its parenthesised parameter types as written
     * (empty when none were given); null for one made by a protocol Parse.
     */
    public byte[] sqlTypes() {
        return sqlTypes;
    }

    /** The statement text: the query of the Parse body, before its NUL. */
    public byte[] queryText() {
        int n = 0;
        while (n < body.length && body[n] != 0) {
            n++;
        }
        return Arrays.copyOf(body, n);
    }

    /**
     * The SQL that prepares this statement under its server name. A statement made by a protocol
     * Parse is prepared without its parameter type OIDs, so PostgreSQL infers them.
     */
    public byte[] sqlPrepare() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(body.length + 32);
        out.writeBytes(("PREPARE \"" + serverNameText() + "\" ").getBytes(StandardCharsets.US_ASCII));
        if (sqlTypes != null) {
            out.writeBytes(sqlTypes);
        }
        out.writeBytes(" AS ".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(queryText());
        return out.toByteArray();
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
}
