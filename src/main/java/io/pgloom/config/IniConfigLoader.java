package io.pgloom.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads an unchanged {@code pgbouncer.ini}: sections {@code [pgbouncer]}, {@code [databases]},
 * {@code [users]}, {@code [peers]}; {@code ;} and {@code #} comment lines; {@code %include
 * <file>} (relative to the working directory as PgBouncer does, else to the including file);
 * values optionally quoted; database and user entries as connection strings; database names
 * optionally double-quoted. Stateless.
 */
final class IniConfigLoader {
    private IniConfigLoader() {
    }

    private static final int MAX_INCLUDE_DEPTH = 10;

    static RawConfig read(Path file, String text) throws ConfigException {
        RawConfig raw = new RawConfig(file);
        List<String> errors = new ArrayList<>();
        boolean[] sawMain = {false};
        parse(file, text, raw, errors, new String[] {null}, sawMain, 0);
        if (!sawMain[0] && errors.isEmpty()) {
            errors.add(file + ": main section missing from config file ([pgbouncer])");
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return raw;
    }

    private static void parse(Path file, String text, RawConfig raw, List<String> errors, String[] section,
            boolean[] sawMain, int depth) {
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            String where = file + ":" + (i + 1);
            if (line.isEmpty() || line.startsWith(";") || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("%include")) {
                include(file, line.substring("%include".length()).strip(), raw, errors, section, sawMain, depth, where);
            } else if (line.startsWith("[")) {
                if (!line.endsWith("]")) {
                    errors.add(where + ": bad section header: " + line);
                    continue;
                }
                section[0] = line.substring(1, line.length() - 1).strip();
                switch (section[0]) {
                    case "pgbouncer" -> sawMain[0] = true;
                    case "databases", "users", "peers" -> {
                    }
                    default -> errors.add(where + ": unknown section [" + section[0] + "]");
                }
            } else {
                entry(where, line, raw, errors, section[0]);
            }
        }
    }

    private static void include(Path file, String name, RawConfig raw, List<String> errors, String[] section,
            boolean[] sawMain, int depth, String where) {
        if (depth >= MAX_INCLUDE_DEPTH) {
            errors.add(where + ": %include nested too deeply");
            return;
        }
        Path target = Path.of(name);
        if (!target.isAbsolute() && !Files.exists(target) && file.getParent() != null) {
            target = file.getParent().resolve(name);
        }
        String outer = section[0];
        try {
            String text = Files.readString(target, StandardCharsets.UTF_8);
            parse(target, text, raw, errors, section, sawMain, depth + 1);
            section[0] = outer;
        } catch (IOException e) {
            errors.add(where + ": cannot read included file " + name + ": " + e.getMessage());
        }
    }

    private static void entry(String where, String line, RawConfig raw, List<String> errors, String section) {
        int eq = keyEnd(line);
        if (eq < 0) {
            errors.add(where + ": expected key = value");
            return;
        }
        String key = unquoteKey(line.substring(0, eq).strip());
        String value = unquoteValue(line.substring(eq + 1).strip());
        if (section == null) {
            errors.add(where + ": " + key + " is outside of any section");
            return;
        }
        try {
            switch (section) {
                case "pgbouncer" -> raw.general.put(key, value);
                case "databases" -> raw.databases.put(key, ConnString.parse(value));
                case "users" -> raw.users.put(key, ConnString.parse(value));
                case "peers" -> raw.peers.put(key, ConnString.parse(value));
                default -> {
                    // an unknown section was reported at its header
                }
            }
        } catch (IllegalArgumentException e) {
            errors.add(where + ": [" + section + "] " + key + ": " + e.getMessage());
        }
    }

    /** The index of the '=' ending the key, honouring a double-quoted key. */
    private static int keyEnd(String line) {
        if (line.startsWith("\"")) {
            for (int i = 1; i < line.length(); i++) {
                if (line.charAt(i) == '"') {
                    if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                        i++;
                    } else {
                        return line.indexOf('=', i);
                    }
                }
            }
            return -1;
        }
        return line.indexOf('=');
    }

    private static String unquoteKey(String key) {
        if (key.length() >= 2 && key.startsWith("\"") && key.endsWith("\"")) {
            return key.substring(1, key.length() - 1).replace("\"\"", "\"");
        }
        return key;
    }

    /** A whole value in matching single or double quotes loses them (doubled quotes inside are one). */
    private static String unquoteValue(String value) {
        if (value.length() >= 2) {
            char q = value.charAt(0);
            if ((q == '"' || q == '\'') && value.charAt(value.length() - 1) == q) {
                String inner = value.substring(1, value.length() - 1);
                String doubled = String.valueOf(q) + q;
                if (!inner.replace(doubled, "").contains(String.valueOf(q))) {
                    return inner.replace(doubled, String.valueOf(q));
                }
            }
        }
        return value;
    }
}
