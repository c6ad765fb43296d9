package io.pgloom.prepared;

import java.nio.charset.StandardCharsets;

/**
 * A simple Query that is exactly one SQL-level {@code PREPARE name [(types)] AS statement},
 * {@code EXECUTE name [(args)]} or {@code DEALLOCATE [PREPARE] name}, located as byte ranges of
 * the message so it can be rewritten for a server's own statement name. Anything else (several
 * statements, {@code EXPLAIN EXECUTE}, {@code DEALLOCATE ALL}, Unicode-escaped names, unbalanced
 * quotes) is not a command and goes to the server unchanged. Works on the raw bytes, which is safe
 * for every server encoding PostgreSQL allows on the client side for these ASCII keywords.
 */
public record SqlCommand(Kind kind, String name, int typesFrom, int typesTo, int bodyFrom, int bodyTo) {
    public enum Kind {
        PREPARE, EXECUTE, DEALLOCATE
    }

    /**
     * Cheap test for the message's first keyword, so ordinary queries pay one or two byte
     * comparisons. {@code pos} is the message start (its tag).
     */
    public static boolean candidate(byte[] b, int pos, int size) {
        int i = pos + 5;
        int end = pos + size;
        // The lexer's whitespace: "\fPREPARE x AS ..." used to pass through unrenamed and leave a
        // server-side "x" for the server's next client (found by SqlCommandFuzzTest).
        while (i < end && isSpace(b[i])) {
            i++;
        }
        if (i >= end) {
            return false;
        }
        int c = b[i] | 0x20;
        return c == 'p' || c == 'e' || c == 'd' || b[i] == '-' || b[i] == '/';
    }

    /**
     * PostgreSQL's {@code space} in scan.l, {@code [ \t\n\r\f\v]}: what separates tokens must be
     * the same here, or a command PostgreSQL runs goes through unrenamed.
     */
    static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b;
    }

    /**
     * Parses the text of a Query message ({@code pos} is its tag); null when it is not exactly
     * one of the three commands. For PREPARE, types is the parenthesised list (empty when absent)
     * and body the statement; for EXECUTE, body is the parenthesised arguments (empty when
     * absent); for DEALLOCATE both are empty.
     */
    public static SqlCommand parse(byte[] b, int pos, int size) {
        int end = pos + size - 1; // the terminating NUL
        if (end <= pos + 5 || b[end] != 0) {
            return null;
        }
        Lexer x = new Lexer(b, pos + 5, end);
        if (!x.skipSpace()) {
            return null;
        }
        if (x.keyword("prepare")) {
            String name = x.name();
            if (name == null) {
                return null;
            }
            if (!x.skipSpace()) {
                return null;
            }
            int typesFrom = x.at;
            if (x.peek() == '(' && !x.skipParens()) {
                return null;
            }
            int typesTo = x.at;
            if (!x.skipSpace()) {
                return null;
            }
            if (!x.keyword("as")) {
                return null;
            }
            x.skipSpace();
            int bodyFrom = x.at;
            int bodyTo = x.statementEnd();
            if (bodyTo < 0 || bodyTo == bodyFrom) {
                return null;
            }
            return new SqlCommand(Kind.PREPARE, name, typesFrom, typesTo, bodyFrom, bodyTo);
        }
        if (x.keyword("execute")) {
            String name = x.name();
            if (name == null) {
                return null;
            }
            if (!x.skipSpace()) {
                return null;
            }
            int argsFrom = x.at;
            if (x.peek() == '(' && !x.skipParens()) {
                return null;
            }
            int argsTo = x.at;
            return x.onlyEndLeft() ? new SqlCommand(Kind.EXECUTE, name, argsFrom, argsFrom, argsFrom, argsTo) : null;
        }
        if (x.keyword("deallocate")) {
            int save = x.at;
            if (!x.keyword("prepare")) {
                x.at = save;
            }
            int nameAt = x.at;
            String name = x.name();
            if (name == null || (name.equals("all") && b[skipSpaces(b, nameAt, end)] != '"')) {
                return null;
            }
            return x.onlyEndLeft() ? new SqlCommand(Kind.DEALLOCATE, name, x.at, x.at, x.at, x.at) : null;
        }
        return null;
    }

    private static int skipSpaces(byte[] b, int i, int end) {
        Lexer x = new Lexer(b, i, end);
        x.skipSpace();
        return x.at;
    }

    /** A tokenizer for just enough of PostgreSQL's lexical rules to find statement boundaries. */
    private static final class Lexer {
        private final byte[] b;
        private final int end;
        int at;

        Lexer(byte[] b, int from, int end) {
            this.b = b;
            this.at = from;
            this.end = end;
        }

        int peek() {
            return at < end ? b[at] : -1;
        }

        /** Skips whitespace and comments; false on an unterminated block comment. */
        boolean skipSpace() {
            while (at < end) {
                byte c = b[at];
                if (isSpace(c)) {
                    at++;
                } else if (c == '-' && at + 1 < end && b[at + 1] == '-') {
                    while (at < end && b[at] != '\n' && b[at] != '\r') {
                        at++;
                    }
                } else if (c == '/' && at + 1 < end && b[at + 1] == '*') {
                    int depth = 0;
                    do {
                        if (at + 1 < end && b[at] == '/' && b[at + 1] == '*') {
                            depth++;
                            at += 2;
                        } else if (at + 1 < end && b[at] == '*' && b[at + 1] == '/') {
                            depth--;
                            at += 2;
                        } else if (at >= end) {
                            return false;
                        } else {
                            at++;
                        }
                    } while (depth > 0);
                } else {
                    return true;
                }
            }
            return true;
        }

        /** Consumes a keyword (lower case given) followed by a non-identifier character. */
        boolean keyword(String k) {
            skipSpace();
            int n = k.length();
            if (at + n > end) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if ((b[at + i] | 0x20) != k.charAt(i)) {
                    return false;
                }
            }
            if (at + n < end && identChar(b[at + n])) {
                return false;
            }
            at += n;
            return true;
        }

        private static boolean identStart(byte c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c < 0;
        }

        private static boolean identChar(byte c) {
            return identStart(c) || (c >= '0' && c <= '9') || c == '$';
        }

        /** An identifier as PostgreSQL resolves it (unquoted: ASCII folded to lower case), or null. */
        String name() {
            skipSpace();
            if (at >= end) {
                return null;
            }
            if (b[at] == '"') {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                at++;
                while (at < end) {
                    if (b[at] == '"') {
                        if (at + 1 < end && b[at + 1] == '"') {
                            out.write('"');
                            at += 2;
                            continue;
                        }
                        at++;
                        return out.size() == 0 ? null : out.toString(StandardCharsets.UTF_8);
                    }
                    out.write(b[at++]);
                }
                return null;
            }
            if (!identStart(b[at]) || ((b[at] | 0x20) == 'u' && at + 1 < end && b[at + 1] == '&')) {
                return null;
            }
            int from = at;
            while (at < end && identChar(b[at])) {
                at++;
            }
            byte[] lower = java.util.Arrays.copyOfRange(b, from, at);
            for (int i = 0; i < lower.length; i++) {
                if (lower[i] >= 'A' && lower[i] <= 'Z') {
                    lower[i] += 'a' - 'A';
                }
            }
            return new String(lower, StandardCharsets.UTF_8);
        }

        /** Skips a balanced parenthesised group starting at '('; false when it never closes. */
        boolean skipParens() {
            int depth = 0;
            while (true) {
                if (!skipSpace() || at >= end) {
                    return false;
                }
                byte c = b[at];
                if (c == '(') {
                    depth++;
                    at++;
                } else if (c == ')') {
                    depth--;
                    at++;
                    if (depth == 0) {
                        return true;
                    }
                } else if (c == ';') {
                    return false;
                } else if (!skipToken()) {
                    return false;
                }
            }
        }

        /**
         * Skips one token that is not whitespace, a comment or a parenthesis: a quoted string or
         * identifier, a dollar-quoted string, or a single other byte.
         */
        private boolean skipToken() {
            byte c = b[at];
            if (c == '\'') {
                boolean escapes = at > 0 && (b[at - 1] | 0x20) == 'e' && (at < 2 || !identChar(b[at - 2]));
                return skipQuoted('\'', escapes);
            }
            if (c == '"') {
                return skipQuoted('"', false);
            }
            if (c == '$' && (at == 0 || !identChar(b[at - 1]))) {
                int t = at + 1;
                while (t < end && b[t] != '$' && identChar(b[t]) && !(t == at + 1 && b[t] >= '0' && b[t] <= '9')) {
                    t++;
                }
                if (t < end && b[t] == '$') {
                    byte[] tag = java.util.Arrays.copyOfRange(b, at, t + 1);
                    for (int i = t + 1; i + tag.length <= end; i++) {
                        if (java.util.Arrays.equals(b, i, i + tag.length, tag, 0, tag.length)) {
                            at = i + tag.length;
                            return true;
                        }
                    }
                    return false;
                }
            }
            if (identChar(c)) {
                while (at < end && identChar(b[at])) {
                    at++;
                }
                return true;
            }
            at++;
            return true;
        }

        private boolean skipQuoted(char q, boolean backslashEscapes) {
            at++;
            while (at < end) {
                byte c = b[at];
                if (backslashEscapes && c == '\\') {
                    at += 2;
                } else if (c == q) {
                    if (at + 1 < end && b[at + 1] == q) {
                        at += 2;
                    } else {
                        at++;
                        return true;
                    }
                } else {
                    at++;
                }
            }
            return false;
        }

        /**
         * Where the one statement starting here ends (before its ';' and trailing blanks), or -1
         * when more than one statement follows or the text does not lex.
         */
        int statementEnd() {
            int last = at;
            while (true) {
                if (!skipSpace()) {
                    return -1;
                }
                if (at >= end) {
                    return last;
                }
                if (b[at] == ';') {
                    at++;
                    return onlyEndLeft() ? last : -1;
                }
                if (b[at] == '(' || b[at] == ')') {
                    at++;
                } else if (!skipToken()) {
                    return -1;
                }
                last = at;
            }
        }

        /** Whether only blanks, comments and at most one ';' remain. */
        boolean onlyEndLeft() {
            if (!skipSpace()) {
                return false;
            }
            if (at < end && b[at] == ';') {
                at++;
                if (!skipSpace()) {
                    return false;
                }
            }
            return at >= end;
        }
    }
}
