package io.pgloom.auth.hba;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PostgreSQL's tokenizer for pg_hba.conf and pg_ident.conf ({@code tokenize_auth_file} and
 * {@code next_token} in {@code hba.c}): a line is whitespace-separated fields; a field is one or
 * more tokens joined by commas (a comma may be followed by blanks); double quotes keep blanks,
 * commas and {@code #} inside a token and mark it as quoted (so {@code "all"} is a name, not the
 * keyword), and {@code ""} inside quotes is one quote; {@code #} starts a comment; a backslash
 * at the very end of a line joins the next line to it. Stateless.
 */
final class AuthFileTokenizer {
    /** Files included with {@code @file} may include others, this deep (PostgreSQL's limit). */
    static final int MAX_INCLUDE_DEPTH = 10;

    private AuthFileTokenizer() {
    }

    /** One token; {@code quoted} when any part of it was in double quotes. */
    record Token(String text, boolean quoted) {
        /** An unquoted keyword, such as {@code all}. */
        boolean is(String keyword) {
            return !quoted && text.equals(keyword);
        }

        /** An unquoted {@code @file} reference. */
        boolean isInclude() {
            return !quoted && text.length() > 1 && text.charAt(0) == '@';
        }
    }

    /** A logical line: its first physical line number, its text and its fields. */
    record Line(int number, String text, List<List<Token>> fields) {
    }

    /** The non-empty logical lines of {@code text}. */
    static List<Line> lines(String text, String fileName) throws HbaException {
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        String[] physical = body.split("\r?\n", -1);
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < physical.length; i++) {
            int first = i + 1;
            StringBuilder line = new StringBuilder(physical[i]);
            while (line.length() > 0 && line.charAt(line.length() - 1) == '\\' && i + 1 < physical.length) {
                line.setLength(line.length() - 1);
                line.append(physical[++i]);
            }
            if (line.length() > 0 && line.charAt(line.length() - 1) == '\\') {
                line.setLength(line.length() - 1); // a continuation at the end of the file continues into nothing
            }
            String logical = line.toString();
            List<List<Token>> fields = fields(logical, fileName, first);
            if (!fields.isEmpty()) {
                out.add(new Line(first, logical.strip(), fields));
            }
        }
        return out;
    }

    private static List<List<Token>> fields(String line, String fileName, int lineNumber) throws HbaException {
        List<List<Token>> fields = new ArrayList<>();
        int[] pos = {0};
        while (true) {
            List<Token> field = new ArrayList<>();
            boolean more;
            do {
                Token t = nextToken(line, pos, fileName, lineNumber);
                if (t == null) {
                    break;
                }
                field.add(t);
                more = pos[0] < line.length() && line.charAt(pos[0]) == ',';
                if (more) {
                    pos[0]++;
                }
            } while (more);
            if (field.isEmpty()) {
                return fields;
            }
            fields.add(field);
        }
    }

    /**
     * The token at {@code pos[0]} after blanks and commas, or null at the end of the line or a
     * comment; leaves {@code pos[0]} on the character that ended the token.
     */
    private static Token nextToken(String line, int[] pos, String fileName, int lineNumber) throws HbaException {
        int p = pos[0];
        while (p < line.length() && (isBlank(line.charAt(p)) || line.charAt(p) == ',')) {
            p++;
        }
        StringBuilder sb = new StringBuilder();
        boolean inQuote = false;
        boolean sawQuote = false;
        while (p < line.length()) {
            char c = line.charAt(p);
            if (!inQuote && (isBlank(c) || c == ',')) {
                break;
            }
            if (!inQuote && c == '#') {
                p = line.length();
                break;
            }
            if (c == '"') {
                if (inQuote && p + 1 < line.length() && line.charAt(p + 1) == '"') {
                    sb.append('"');
                    p += 2;
                    continue;
                }
                inQuote = !inQuote;
                sawQuote = true;
            } else {
                sb.append(c);
            }
            p++;
        }
        if (inQuote) {
            throw HbaException.at(fileName, lineNumber, "unterminated quoted string");
        }
        pos[0] = p;
        return sawQuote || sb.length() > 0 ? new Token(sb.toString(), sawQuote) : null;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == 0x0b;
    }

    /**
     * The tokens of an {@code @file} (every token of every line, nested {@code @file}s
     * expanded), the path relative to the directory of {@code includingFile}.
     */
    static List<Token> expandInclude(Token include, String includingFile, int line, int depth) throws HbaException {
        String name = include.text().substring(1);
        Path file;
        try {
            Path base = Path.of(includingFile).toAbsolutePath().getParent();
            file = Path.of(name).isAbsolute() || base == null ? Path.of(name) : base.resolve(name);
        } catch (InvalidPathException e) {
            throw HbaException.at(includingFile, line, "invalid file name in " + include.text() + ": " + e.getReason());
        }
        if (depth > MAX_INCLUDE_DEPTH) {
            throw HbaException.at(includingFile, line, "could not open file \"" + file + "\": maximum nesting depth exceeded");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            throw HbaException.at(includingFile, line, "could not read " + include.text() + " (" + file + "): " + e);
        }
        List<Token> out = new ArrayList<>();
        for (Line l : lines(text, file.toString())) {
            for (List<Token> field : l.fields()) {
                for (Token t : field) {
                    if (t.isInclude()) {
                        out.addAll(expandInclude(t, file.toString(), l.number(), depth + 1));
                    } else {
                        out.add(t);
                    }
                }
            }
        }
        return out;
    }
}
