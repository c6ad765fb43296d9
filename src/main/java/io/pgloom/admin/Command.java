package io.pgloom.admin;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One admin console command, parsed with PgBouncer's rules: {@code VERB [ARG] [;]} where each
 * token is a word of {@code [0-9a-z_]} or a double-quoted identifier ({@code ""} escapes a
 * quote), matched case-insensitively; or {@code SET key = value} / {@code SET key TO value}
 * where the value is a word or a single-quoted string ({@code ''} escapes a quote).
 * {@code SELECT x} is an alias for {@code SHOW x}. Immutable.
 *
 * @param verb lower-case command word ("show", "pause", "set")
 * @param arg the argument (lower-cased unless it was quoted), or null
 * @param value for SET, the value; else null
 */
public record Command(String verb, String arg, String value) {
    private static final String WORD = "[0-9A-Za-z_]+";
    /**
     * A double-quoted identifier, not empty, {@code ""} inside for a quote. Written with possessive
     * quantifiers, not as {@code "(?:[^"]|"")+"}: that form recurses once per character and a
     * quoted token of a few thousand characters overflowed the stack (found by ConsoleFuzzTest).
     * Giving back is never needed: only blanks, {@code ;} or the end may follow the closing quote.
     */
    private static final String IDENT = WORD + "|\"(?=[^\"]|\"\")[^\"]*+(?:\"\"[^\"]*+)*+\"";
    /** A single-quoted SET value, {@code ''} inside for a quote; possessive for the same reason. */
    private static final String QUOTED_VALUE = "'[^']*+(?:''[^']*+)*+'";
    private static final Pattern NORMAL =
            Pattern.compile("^\\s*(" + WORD + ")(?:\\s+(" + IDENT + "))?\\s*;?\\s*$", Pattern.DOTALL);
    private static final Pattern SET = Pattern.compile(
            "^\\s*set\\s+(" + WORD + ")\\s*(?:=|\\s+to\\s+)\\s*(" + WORD + "|" + QUOTED_VALUE + ")\\s*;?\\s*$",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /** PgBouncer's buffer limits: command 16, argument 64, SET value 256 bytes. */
    static final int MAX_VERB = 16;
    static final int MAX_ARG = 64;
    static final int MAX_VALUE = 256;

    /** @return the command, or null when the text does not follow the grammar */
    public static Command parse(String query) {
        Matcher set = SET.matcher(query);
        if (set.matches()) {
            String value = set.group(2);
            if (value.startsWith("'")) {
                value = value.substring(1, value.length() - 1).replace("''", "'");
            }
            return new Command("set", set.group(1).toLowerCase(Locale.ROOT), value);
        }
        Matcher m = NORMAL.matcher(query);
        if (!m.matches()) {
            return null;
        }
        String verb = m.group(1).toLowerCase(Locale.ROOT);
        String arg = m.group(2);
        if (arg != null) {
            arg = arg.startsWith("\"") ? arg.substring(1, arg.length() - 1).replace("\"\"", "\"") : arg.toLowerCase(Locale.ROOT);
        }
        if (verb.equals("select")) {
            verb = "show";
        }
        return new Command(verb, arg, null);
    }

    /** Whether the tokens fit PgBouncer's buffers (longer ones are "bad arguments"). */
    boolean withinLimits() {
        return verb.length() < MAX_VERB && (arg == null || arg.length() < MAX_ARG)
                && (value == null || value.length() < MAX_VALUE);
    }
}
