package io.pgloom.prepared;

import io.pgloom.proto.FrontendTag;
import io.pgloom.proto.MessageBuilder;
import io.pgloom.proto.ProtocolViolationException;
import io.pgloom.server.RequestQueue;
import io.pgloom.stats.PoolStats;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Rewrites a client's named-statement messages for the server it has right now (PgBouncer's
 * prepared statement support, transaction and statement pools). A Parse of a statement the server
 * already has is answered by the pooler (a fake ParseComplete in its place in the response
 * stream); otherwise it is sent under the statement's server name ({@code PGLOOM_<id>}), evicting
 * the server's least recently used statement beyond {@code max_prepared_statements} with a hidden
 * Close. A Bind or Describe of a statement the server lacks is preceded by a hidden Parse; a Close
 * of a statement only forgets the client's name. Runs on the client's thread; each method appends
 * the bytes to send and the request-queue entries they create.
 */
public final class StatementRewriter {
    /** What a queue entry refers to, so the server thread can undo bookkeeping when a Parse fails. */
    public record ParseRef(Statement statement, String clientName) {
    }

    /**
     * What the response to a rewritten SQL-level PREPARE, EXECUTE or DEALLOCATE needs: the server
     * thread swallows the CommandComplete of a PREPARE the pooler put in front of an EXECUTE,
     * answers with {@code substitute} in place of a stand-in query's result, and undoes the
     * bookkeeping when the server reports an error. Read and updated by the server thread only.
     */
    public static final class SqlRef {
        public final SqlCommand.Kind kind;
        public final Statement statement;
        /** The client's name (PREPARE and DEALLOCATE), for undoing on error. */
        public final String clientName;
        /** Whether the query starts by preparing the statement on this server. */
        public final boolean prepares;
        /** The CommandComplete tag to answer with instead of the stand-in query's rows and tag. */
        public final byte[] substitute;
        public int completes;

        SqlRef(SqlCommand.Kind kind, Statement statement, String clientName, boolean prepares, String substitute) {
            this.kind = kind;
            this.statement = statement;
            this.clientName = clientName;
            this.prepares = prepares;
            this.substitute = substitute == null ? null : substitute.getBytes(StandardCharsets.US_ASCII);
        }

        /** Whether the server holds the statement after an error arrived. */
        public boolean serverStillHas() {
            return !prepares || completes > 0;
        }
    }

    /** Answers with zero rows and can fail only in an aborted transaction: a stand-in for a local answer. */
    private static final byte[] STAND_IN = "SELECT WHERE false".getBytes(StandardCharsets.US_ASCII);

    /** The queue entries a message produced (entry ints and their refs). */
    public static final class Entries {
        public int[] entries = new int[64];
        public Object[] refs = new Object[64];
        public int count;

        public void add(int entry, Object ref) {
            if (count == entries.length) {
                entries = java.util.Arrays.copyOf(entries, count * 2);
                refs = java.util.Arrays.copyOf(refs, count * 2);
            }
            entries[count] = entry;
            refs[count] = ref;
            count++;
        }

        public void clear() {
            java.util.Arrays.fill(refs, 0, count, null);
            count = 0;
        }
    }

    /** Thrown for PgBouncer's fatal prepared-statement errors (the client is closed). */
    public static final class StatementError extends RuntimeException {
        public StatementError(String message) {
            super(message, null, false, false);
        }
    }

    private final StatementRegistry registry;
    private final ClientStatements mine;
    private final PoolStats stats;
    private final int maxPerServer;

    public StatementRewriter(StatementRegistry registry, ClientStatements mine, PoolStats stats, int maxPerServer) {
        this.registry = registry;
        this.mine = mine;
        this.stats = stats;
        this.maxPerServer = maxPerServer;
    }

    /** Whether this message names a prepared statement (and so must be rewritten). */
    public static boolean names(byte[] b, int pos, int size) {
        int end = pos + size;
        return switch (b[pos]) {
            case FrontendTag.PARSE -> pos + 5 < end && b[pos + 5] != 0;
            case FrontendTag.BIND -> {
                int i = pos + 5;
                while (i < end && b[i] != 0) {
                    i++;
                }
                yield i + 1 < end && b[i + 1] != 0;
            }
            case FrontendTag.DESCRIBE, FrontendTag.CLOSE -> pos + 6 < end && b[pos + 5] == 'S' && b[pos + 6] != 0;
            case FrontendTag.QUERY -> SqlCommand.candidate(b, pos, size);
            default -> false;
        };
    }

    /** Handles one message that {@link #names} accepted. */
    public void rewrite(byte[] b, int pos, int size, ServerStatements server, MessageBuilder out, Entries entries) {
        switch (b[pos]) {
            case FrontendTag.PARSE -> parse(b, pos, size, server, out, entries);
            case FrontendTag.BIND -> bind(b, pos, size, server, out, entries);
            case FrontendTag.DESCRIBE -> describe(b, pos, size, server, out, entries);
            case FrontendTag.CLOSE -> close(b, pos, size, entries);
            case FrontendTag.QUERY -> query(b, pos, size, server, out, entries);
            default -> throw new IllegalArgumentException("not a statement message");
        }
    }

    /**
     * A simple Query that may be a SQL-level PREPARE, EXECUTE or DEALLOCATE of a client's name:
     * mapped onto the server's statement name, preparing it first where the server lacks it.
     * Any other query, and EXECUTE or DEALLOCATE of a name the client never prepared (so that
     * PostgreSQL reports the error), goes unchanged.
     */
    private void query(byte[] b, int pos, int size, ServerStatements server, MessageBuilder out, Entries entries) {
        SqlCommand cmd = SqlCommand.parse(b, pos, size);
        Statement known = cmd == null ? null : mine.get(cmd.name());
        if (cmd == null || (cmd.kind() != SqlCommand.Kind.PREPARE && known == null)) {
            out.bytes(b, pos, size);
            entries.add(FrontendTag.QUERY, null);
            return;
        }
        switch (cmd.kind()) {
            case PREPARE -> {
                Statement s = registry.acquireSql(java.util.Arrays.copyOfRange(b, cmd.typesFrom(), cmd.typesTo()),
                        java.util.Arrays.copyOfRange(b, cmd.bodyFrom(), cmd.bodyTo()));
                if (!mine.put(cmd.name(), s)) {
                    registry.release(s);
                    sendQuery(out, alreadyExists(cmd.name()));
                    entries.add(FrontendTag.QUERY, null);
                    return;
                }
                stats.clientParses.increment();
                if (server.has(s)) {
                    sendQuery(out, STAND_IN);
                    entries.add(FrontendTag.QUERY | RequestQueue.NAMED, new SqlRef(cmd.kind(), s, cmd.name(), false, "PREPARE"));
                } else {
                    addToServer(s, server, out, entries);
                    sendQuery(out, s.sqlPrepare());
                    entries.add(FrontendTag.QUERY | RequestQueue.NAMED, new SqlRef(cmd.kind(), s, cmd.name(), true, null));
                }
            }
            case EXECUTE -> {
                Statement s = known.current();
                byte[] exec = concat(("EXECUTE \"" + s.serverNameText() + "\" ").getBytes(StandardCharsets.US_ASCII),
                        java.util.Arrays.copyOfRange(b, cmd.bodyFrom(), cmd.bodyTo()));
                boolean prepares = !server.has(s);
                if (prepares) {
                    addToServer(s, server, out, entries);
                    exec = concat(s.sqlPrepare(), ";\n".getBytes(StandardCharsets.US_ASCII), exec);
                }
                sendQuery(out, exec);
                entries.add(FrontendTag.QUERY | RequestQueue.NAMED, new SqlRef(cmd.kind(), s, null, prepares, null));
                stats.binds.increment();
            }
            case DEALLOCATE -> {
                registry.retain(known); // kept by the SqlRef until the answer: released, or put back on error
                mine.remove(cmd.name(), known);
                sendQuery(out, STAND_IN);
                entries.add(FrontendTag.QUERY | RequestQueue.NAMED,
                        new SqlRef(cmd.kind(), known, cmd.name(), false, "DEALLOCATE"));
            }
        }
    }

    /** Records that {@code s} is being prepared on the server, with a hidden Close of each statement it evicts. */
    private void addToServer(Statement s, ServerStatements server, MessageBuilder out, Entries entries) {
        for (Statement old : server.add(s, maxPerServer)) {
            out.begin(FrontendTag.CLOSE).int8('S').bytes(old.serverName()).int8(0).end();
            entries.add(FrontendTag.CLOSE | RequestQueue.HIDDEN, null);
        }
        stats.serverParses.increment();
    }

    private static void sendQuery(MessageBuilder out, byte[] sql) {
        out.begin(FrontendTag.QUERY).bytes(sql).int8(0).end();
    }

    /** A query that fails exactly as PostgreSQL's PREPARE of a name in use does (and so aborts a transaction). */
    private static byte[] alreadyExists(String name) {
        String message = name.contains("$pgloom$") ? "prepared statement already exists"
                : "prepared statement \"" + name.replace("'", "''") + "\" already exists";
        return ("DO $pgloom$BEGIN RAISE EXCEPTION USING ERRCODE = '42P05', MESSAGE = '" + message + "'; END$pgloom$")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private void parse(byte[] b, int pos, int size, ServerStatements server, MessageBuilder out, Entries entries) {
        Statement s = register(b, pos, size);
        String name = nameOf(b, pos, size);
        if (server.has(s)) {
            entries.add(FrontendTag.PARSE | RequestQueue.FAKE, null);
            return;
        }
        sendParse(s, server, out, entries, FrontendTag.PARSE | RequestQueue.NAMED, new ParseRef(s, name));
    }

    /**
     * Records a client's Parse (its name and statement) without sending anything; the statement
     * reaches a server before its first use.
     */
    public Statement register(byte[] b, int pos, int size) {
        int end = pos + size;
        int nameEnd = nul(b, pos + 5, end);
        String name = new String(b, pos + 5, nameEnd - pos - 5, StandardCharsets.UTF_8);
        byte[] body = java.util.Arrays.copyOfRange(b, nameEnd + 1, end);
        Statement s = registry.acquire(body);
        if (!mine.put(name, s)) {
            registry.release(s);
            throw new StatementError("prepared statement name is already in use");
        }
        stats.clientParses.increment();
        return s;
    }

    private static String nameOf(byte[] b, int pos, int size) {
        int nameEnd = nul(b, pos + 5, pos + size);
        return new String(b, pos + 5, nameEnd - pos - 5, StandardCharsets.UTF_8);
    }

    /** A Parse of {@code s} to the server, with the Close of whatever it evicts. */
    private void sendParse(Statement s, ServerStatements server, MessageBuilder out, Entries entries, int entry, ParseRef ref) {
        addToServer(s, server, out, entries);
        out.begin(FrontendTag.PARSE).bytes(s.serverName()).int8(0).bytes(s.body()).end();
        entries.add(entry, ref);
    }

    private Statement known(String name) {
        Statement s = mine.get(name);
        if (s == null) {
            throw new StatementError("prepared statement did not exist");
        }
        return s.current();
    }

    private void ensureOnServer(Statement s, ServerStatements server, MessageBuilder out, Entries entries) {
        if (!server.has(s)) {
            sendParse(s, server, out, entries, FrontendTag.PARSE | RequestQueue.HIDDEN, new ParseRef(s, null));
        }
    }

    private void bind(byte[] b, int pos, int size, ServerStatements server, MessageBuilder out, Entries entries) {
        int end = pos + size;
        int portalEnd = nul(b, pos + 5, end);
        int nameEnd = nul(b, portalEnd + 1, end);
        Statement s = known(new String(b, portalEnd + 1, nameEnd - portalEnd - 1, StandardCharsets.UTF_8));
        ensureOnServer(s, server, out, entries);
        out.begin(FrontendTag.BIND).bytes(b, pos + 5, portalEnd + 1 - pos - 5).bytes(s.serverName()).int8(0)
                .bytes(b, nameEnd + 1, end - nameEnd - 1).end();
        entries.add(FrontendTag.BIND, s);
        stats.binds.increment();
    }

    private void describe(byte[] b, int pos, int size, ServerStatements server, MessageBuilder out, Entries entries) {
        int end = pos + size;
        int nameEnd = nul(b, pos + 6, end);
        Statement s = known(new String(b, pos + 6, nameEnd - pos - 6, StandardCharsets.UTF_8));
        ensureOnServer(s, server, out, entries);
        out.begin(FrontendTag.DESCRIBE).int8('S').bytes(s.serverName()).int8(0).end();
        entries.add(FrontendTag.DESCRIBE, null);
    }

    private void close(byte[] b, int pos, int size, Entries entries) {
        int end = pos + size;
        int nameEnd = nul(b, pos + 6, end);
        mine.remove(new String(b, pos + 6, nameEnd - pos - 6, StandardCharsets.UTF_8), null);
        entries.add(FrontendTag.CLOSE | RequestQueue.FAKE, null);
    }

    private static int nul(byte[] b, int from, int end) {
        for (int i = from; i < end; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        throw new ProtocolViolationException("unterminated string in a statement message");
    }
}
