package io.pgloom.server;

/**
 * The values of the tracked parameters as one side last reported or requested them. A client's
 * cache holds what the client asked for (startup packet, options, its own SETs seen through
 * ParameterStatus); a server's cache holds what that server reported. Confined to whichever
 * thread owns the connection at the time (hand-over happens through the pool lock or the link
 * lock, which order the accesses).
 */
public final class ParamCache {
    private final TrackedParams tracked;
    private final String[] values;

    public ParamCache(TrackedParams tracked) {
        this.tracked = tracked;
        this.values = new String[tracked.size()];
    }

    public TrackedParams tracked() {
        return tracked;
    }

    /** Stores a value if the parameter is tracked; returns whether it is. */
    public boolean set(String name, String value) {
        int i = tracked.indexOf(name);
        if (i < 0) {
            return false;
        }
        values[i] = value;
        return true;
    }

    public String get(int i) {
        return values[i];
    }

    public String get(String name) {
        int i = tracked.indexOf(name);
        return i < 0 ? null : values[i];
    }

    /** After a SET: take the server's spelling of every value this client has set. */
    public void adoptCanonical(ParamCache server) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null && server.values[i] != null) {
                values[i] = server.values[i];
            }
        }
    }

    public void copyFrom(ParamCache other) {
        System.arraycopy(other.values, 0, values, 0, values.length);
    }

    /**
     * The one SET query that makes a server with {@code server}'s values look like this client,
     * or null when nothing differs. Parameters unset on either side are left alone, and values
     * are compared case-insensitively, as PgBouncer does.
     */
    public String setQueryFor(ParamCache server) {
        StringBuilder sql = null;
        for (int i = 0; i < values.length; i++) {
            String want = values[i];
            String have = server.values[i];
            if (want == null || have == null || want.equalsIgnoreCase(have)) {
                continue;
            }
            if (sql == null) {
                sql = new StringBuilder();
            }
            String name = tracked.name(i);
            if (name.equalsIgnoreCase("DateStyle")) {
                // a partial DateStyle ("ISO") keeps the server's current field order: start from its default
                sql.append("RESET ").append(name).append(';');
            }
            sql.append("SET ").append(name).append('=');
            if (name.equalsIgnoreCase("search_path")) {
                sql.append(want);
            } else {
                sql.append(literal(want));
            }
            sql.append(';');
        }
        return sql == null ? null : sql.toString();
    }

    /** A SQL string literal that is safe whatever standard_conforming_strings says. */
    static String literal(String v) {
        boolean backslash = v.indexOf('\\') >= 0;
        StringBuilder b = new StringBuilder(v.length() + 4);
        if (backslash) {
            b.append('E');
        }
        b.append('\'');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\'') {
                b.append("''");
            } else if (c == '\\') {
                b.append("\\\\");
            } else {
                b.append(c);
            }
        }
        return b.append('\'').toString();
    }
}
