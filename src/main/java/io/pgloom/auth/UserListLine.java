package io.pgloom.auth;

import java.nio.charset.StandardCharsets;

/**
 * Stateless and thread-safe. Parses one line of an auth_file into a (user, secret text) pair; see
 * {@link UserList} for the format. Errors are {@link UserListException}s of the form {@code
 * <file>:<line>: <problem>} that never quote the line, since it may hold a password.
 */
final class UserListLine {
    /** One parsed line. {@code toString()} is redacted because {@code secret} is sensitive. */
    record Entry(String user, String secret) {
        @Override
        public String toString() {
            return "Entry[redacted]";
        }
    }

    /** A quoted field's unescaped value and the index just past its closing quote. */
    private record Field(String value, int end) {
    }

    private UserListLine() {
    }

    /** Returns the line's entry, or null for a blank or comment line. */
    static Entry parse(String rawLine, String fileName, int lineNumber) throws UserListException {
        String line = rawLine.endsWith("\r") ? rawLine.substring(0, rawLine.length() - 1) : rawLine;
        int start = skipSpace(line, 0);
        if (start == line.length() || line.charAt(start) == ';' || line.charAt(start) == '#') {
            return null;
        }
        String where = fileName + ":" + lineNumber + ": ";
        if (line.charAt(start) != '"') {
            throw new UserListException(where + "expected a double-quoted user name");
        }
        Field user = readQuoted(line, start);
        if (user == null) {
            throw new UserListException(where + "user name has no closing double quote");
        }
        int secretStart = line.indexOf('"', user.end());
        if (secretStart < 0) {
            throw new UserListException(where + "expected a double-quoted password after the user name");
        }
        Field secret = readQuoted(line, secretStart);
        if (secret == null) {
            throw new UserListException(where + "password has no closing double quote");
        }
        checkLimits(user.value(), secret.value(), where);
        return new Entry(user.value(), secret.value());
    }

    private static void checkLimits(String user, String secret, String where) throws UserListException {
        if (user.isEmpty()) {
            throw new UserListException(where + "empty user name");
        }
        int userBytes = user.getBytes(StandardCharsets.UTF_8).length;
        if (userBytes > UserList.MAX_USER_NAME_BYTES) {
            throw new UserListException(where + "user name is " + userBytes + " bytes long, the limit is "
                    + UserList.MAX_USER_NAME_BYTES);
        }
        if (secret.length() > UserList.MAX_SECRET_BYTES
                || secret.getBytes(StandardCharsets.UTF_8).length > UserList.MAX_SECRET_BYTES) {
            throw new UserListException(
                    where + "password is longer than " + UserList.MAX_SECRET_BYTES + " bytes");
        }
    }

    /** Reads the field whose opening quote is at {@code quote}; null if it does not close. */
    private static Field readQuoted(String line, int quote) {
        StringBuilder value = new StringBuilder();
        int i = quote + 1;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (c != '"') {
                value.append(c);
                i++;
            } else if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                value.append('"');
                i += 2;
            } else {
                return new Field(value.toString(), i + 1);
            }
        }
        return null;
    }

    /** Skips the characters C's isspace() accepts, as PgBouncer does before a line. */
    private static int skipSpace(String line, int from) {
        int i = from;
        while (i < line.length() && " \t\u000B\f".indexOf(line.charAt(i)) >= 0) {
            i++;
        }
        return i;
    }
}
