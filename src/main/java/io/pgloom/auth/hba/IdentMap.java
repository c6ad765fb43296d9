package io.pgloom.auth.hba;

import io.pgloom.auth.hba.AuthFileTokenizer.Line;
import io.pgloom.auth.hba.AuthFileTokenizer.Token;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * An {@code auth_ident_file}: PostgreSQL's pg_ident.conf lines {@code MAPNAME SYSTEM-USERNAME
 * PG-USERNAME}, which let the {@code cert} and {@code peer} methods admit a system user (the
 * certificate's CN, the peer's OS user) as a differently named database user. A system user
 * starting with {@code /} is a regular expression (searched, so anchor it with {@code ^...$});
 * {@code \1} in the database user then stands for its first group. A database user starting
 * with {@code /} is a regular expression too, and {@code all} matches every user (both as in
 * PostgreSQL 16). Quoting and comments as in pg_hba.conf. Immutable and thread-safe.
 */
public final class IdentMap {
    /** One line. */
    private record Entry(String map, String systemUser, Pattern systemPattern, String pgUser, Pattern pgPattern,
            boolean anyPgUser) {
        boolean allows(String system, String pg) {
            String wanted = pgUser;
            if (systemPattern != null) {
                Matcher m = systemPattern.matcher(system);
                if (!m.find()) {
                    return false;
                }
                int at = pgPattern == null && !anyPgUser ? wanted.indexOf("\\1") : -1;
                if (at >= 0) { // PostgreSQL replaces the first \1 only
                    wanted = wanted.substring(0, at) + (m.group(1) == null ? "" : m.group(1)) + wanted.substring(at + 2);
                }
            } else if (!systemUser.equals(system)) {
                return false;
            }
            if (anyPgUser) {
                return true;
            }
            if (pgPattern != null) {
                return pgPattern.matcher(pg).find();
            }
            return wanted.equals(pg);
        }
    }

    private final String fileName;
    private final List<Entry> entries;

    private IdentMap(String fileName, List<Entry> entries) {
        this.fileName = fileName;
        this.entries = List.copyOf(entries);
    }

    /** Parses pg_ident.conf text; {@code fileName} prefixes error messages. */
    public static IdentMap parse(String text, String fileName) throws HbaException {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fileName, "fileName");
        List<Entry> entries = new ArrayList<>();
        for (Line line : AuthFileTokenizer.lines(text, fileName)) {
            entries.add(entry(line, fileName));
        }
        return new IdentMap(fileName, entries);
    }

    /** Reads and parses an ident file (UTF-8). */
    public static IdentMap load(Path file) throws HbaException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            throw new HbaException(file + ": cannot read: " + e);
        }
        return parse(text, file.toString());
    }

    private static Entry entry(Line line, String fileName) throws HbaException {
        List<List<Token>> f = line.fields();
        if (f.size() < 3) {
            throw HbaException.at(fileName, line.number(), "missing entry at end of line (expected MAPNAME SYSTEM-USERNAME"
                    + " PG-USERNAME)");
        }
        if (f.size() > 3) {
            throw HbaException.at(fileName, line.number(), "extra fields at end of line");
        }
        for (List<Token> field : f) {
            if (field.size() != 1) {
                throw HbaException.at(fileName, line.number(), "multiple values in ident field");
            }
        }
        Token map = f.get(0).get(0);
        Token system = f.get(1).get(0);
        Token pg = f.get(2).get(0);
        Pattern systemPattern = null;
        if (!system.quoted() && system.text().startsWith("/")) {
            systemPattern = regex(system.text().substring(1), fileName, line.number());
        }
        boolean anyPgUser = pg.is("all");
        Pattern pgPattern = null;
        if (!pg.quoted() && pg.text().startsWith("/")) {
            pgPattern = regex(pg.text().substring(1), fileName, line.number());
        } else if (!pg.quoted() && pg.text().startsWith("+")) {
            throw HbaException.at(fileName, line.number(), "group names (" + pg.text() + ") are not supported: pgloom has no"
                    + " roles or groups");
        }
        if (pg.text().contains("\\1") && pgPattern == null && !anyPgUser) {
            if (systemPattern == null) {
                throw HbaException.at(fileName, line.number(), "\\1 in \"" + pg.text() + "\" needs a regular expression as the"
                        + " system user");
            }
            if (systemPattern.matcher("").groupCount() < 1) {
                throw HbaException.at(fileName, line.number(), "regular expression \"" + system.text().substring(1)
                        + "\" has no subexpressions as requested by backreference in \"" + pg.text() + "\"");
            }
        }
        return new Entry(map.text(), system.text(), systemPattern, pg.text(), pgPattern, anyPgUser);
    }

    private static Pattern regex(String regex, String fileName, int line) throws HbaException {
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw HbaException.at(fileName, line, "invalid regular expression \"" + regex + "\": " + e.getDescription());
        }
    }

    /** Whether map {@code map} lets system user {@code systemUser} log in as {@code pgUser}. */
    public boolean allows(String map, String systemUser, String pgUser) {
        for (Entry e : entries) {
            if (e.map().equals(map) && e.allows(systemUser, pgUser)) {
                return true;
            }
        }
        return false;
    }

    /** The map names the file defines. */
    public Set<String> mapNames() {
        Set<String> out = new LinkedHashSet<>();
        for (Entry e : entries) {
            out.add(e.map());
        }
        return out;
    }

    public String fileName() {
        return fileName;
    }

    public int size() {
        return entries.size();
    }

    @Override
    public String toString() {
        return "IdentMap[" + fileName + ", " + entries.size() + " entries]";
    }
}
