package io.pgloom.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link RawConfig} into a {@link Config}: each value parsed by its key's type, unknown
 * keys refused (with the nearest known key suggested), then the rules that involve several keys.
 * Collects every problem instead of stopping at the first, so RELOAD can log them all. Stateless.
 */
final class ConfigValidator {
    private ConfigValidator() {
    }

    static Config validate(RawConfig raw) throws ConfigException {
        List<String> errors = new ArrayList<>();
        String file = raw.file.toString();
        Values general = read(General.SECTION, raw.general, file, "[pgloom]", errors);
        Map<String, Values> databases = new LinkedHashMap<>();
        raw.databases.forEach((name, table) -> {
            String where = "[databases." + name + "]";
            if (!validDatabaseName(name)) {
                errors.add(file + ": " + where + ": a database name must be 1 to 63 bytes without NUL");
            } else if (name.equals("pgbouncer")) {
                errors.add(file + ": " + where + ": the name pgbouncer is reserved for the admin console");
            }
            databases.put(name, read(DatabaseKeys.SECTION, table, file, where, errors));
        });
        Map<String, Values> users = new LinkedHashMap<>();
        raw.users.forEach((name, table) -> users.put(name, read(UserKeys.SECTION, table, file, "[users." + name + "]", errors)));
        Map<Integer, Values> peers = new LinkedHashMap<>();
        raw.peers.forEach((id, table) -> {
            String where = "[peers." + id + "]";
            Values v = read(PeerKeys.SECTION, table, file, where, errors);
            try {
                int peerId = Integer.parseInt(id);
                if (peerId < 1 || peerId > 65535) {
                    throw new NumberFormatException();
                }
                if (v.get(PeerKeys.HOST) == null) {
                    errors.add(file + ": " + where + " host: is required");
                }
                peers.put(peerId, v);
            } catch (NumberFormatException e) {
                errors.add(file + ": " + where + ": a peer id must be an integer from 1 to 65535");
            }
        });
        crossChecks(file, general, databases, errors);
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return new Config(raw.file, general, databases, users, peers);
    }

    private static boolean validDatabaseName(String name) {
        return !name.isEmpty() && name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 64 && name.indexOf(0) < 0;
    }

    private static void crossChecks(String file, Values general, Map<String, Values> databases, List<String> errors) {
        if (general.get(General.AUTH_TYPE) == AuthType.ANY) {
            databases.forEach((name, db) -> {
                if (db.get(DatabaseKeys.USER) == null) {
                    errors.add(file + ": [databases." + name + "] user: auth_type = \"any\" requires a forced user on every database");
                }
            });
        }
        if (general.get(General.LISTEN_ADDR).isEmpty() && general.get(General.UNIX_SOCKET_DIR).isEmpty()) {
            errors.add(file + ": [pgloom] listen_addr: nothing to listen on (listen_addr and unix_socket_dir are both empty)");
        }
    }

    /** Parses one table; problems go to {@code errors} as "file: [table] key: problem". */
    static Values read(Section section, Map<String, Object> table, String file, String where, List<String> errors) {
        Values values = section.defaults();
        for (Map.Entry<String, Object> e : table.entrySet()) {
            Setting<?> key = section.find(e.getKey());
            if (key == null) {
                errors.add(file + ": " + where + " " + e.getKey() + ": unknown key" + suggestion(section, e.getKey()));
                continue;
            }
            try {
                values = values.withAny(key, key.parse(e.getValue()));
            } catch (IllegalArgumentException ex) {
                errors.add(file + ": " + where + " " + e.getKey() + ": " + ex.getMessage());
            }
        }
        return values;
    }

    private static String suggestion(Section section, String unknown) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Setting<?> s : section.settings()) {
            int d = distance(unknown, s.name());
            if (d < bestDistance) {
                bestDistance = d;
                best = s.name();
            }
        }
        return best != null && bestDistance <= Math.max(2, unknown.length() / 4) ? " (did you mean " + best + "?)" : "";
    }

    /** Levenshtein distance, for "did you mean". */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
