package io.pgloom.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parses a libpq-style connection string as PgBouncer's {@code [databases]} values use it:
 * {@code host=127.0.0.1 port=5432 connect_query='SET a=1; SET b=2'}. Values may be
 * single-quoted; inside quotes {@code \'}, {@code \\} and {@code ''} stand for a quote or a
 * backslash. Stateless.
 */
public final class ConnString {
    private ConnString() {
    }

    public static Map<String, Object> parse(String s) {
        Map<String, Object> out = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return out;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (key.isEmpty() || i >= n || s.charAt(i) != '=') {
                // A position, not the text: the text there may be a password (found by a test of the config
                // errors for secrets; "password s3cret" used to be shown in the log).
                throw new IllegalArgumentException("expected key=value at character " + (keyStart + 1));
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i = readQuoted(s, i + 1, value);
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    value.append(s.charAt(i++));
                }
            }
            out.put(key, value.toString());
        }
    }

    private static int readQuoted(String s, int i, StringBuilder value) {
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < n) {
                value.append(s.charAt(i + 1));
                i += 2;
            } else if (c == '\'' && i + 1 < n && s.charAt(i + 1) == '\'') {
                value.append('\'');
                i += 2;
            } else if (c == '\'') {
                return i + 1;
            } else {
                value.append(c);
                i++;
            }
        }
        throw new IllegalArgumentException("unterminated quoted value");
    }
}
