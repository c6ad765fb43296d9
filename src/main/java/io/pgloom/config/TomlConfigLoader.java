package io.pgloom.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads pgloom's TOML configuration: a {@code [pgloom]} table (or {@code [pgbouncer]}), then
 * {@code [databases.<name>]}, {@code [users.<name>]} and {@code [peers.<id>]} tables. A database
 * may also be given as a connection string, as in pgbouncer.ini:
 * {@code [databases] app = "host=127.0.0.1 dbname=app"}. Stateless.
 */
final class TomlConfigLoader {
    private TomlConfigLoader() {
    }

    private static final TomlMapper MAPPER = new TomlMapper();

    /** Parses the TOML syntax; a syntax error is the only problem reported here. */
    static JsonNode parse(Path file, String text) throws ConfigException {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr() + ": ";
            throw new ConfigException(file + ": " + where + "not valid TOML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
    }

    static RawConfig read(Path file, String text) throws ConfigException {
        return read(file, parse(file, text));
    }

    static RawConfig read(Path file, JsonNode root) throws ConfigException {
        RawConfig raw = new RawConfig(file);
        List<String> errors = new ArrayList<>();
        boolean sawGeneral = false;
        var fields = root.properties();
        for (Map.Entry<String, JsonNode> top : fields) {
            String name = top.getKey();
            JsonNode node = top.getValue();
            switch (name) {
                case "pgloom", "pgbouncer" -> {
                    if (sawGeneral) {
                        errors.add(file + ": give either [pgloom] or [pgbouncer], not both");
                    }
                    sawGeneral = true;
                    readTable(node, "[" + name + "]", file, errors, raw.general);
                }
                case "databases" -> readTables(node, "databases", file, errors, raw.databases, true);
                case "users" -> readTables(node, "users", file, errors, raw.users, false);
                case "peers" -> readTables(node, "peers", file, errors, raw.peers, true);
                default -> errors.add(file + ": [" + name + "]: unknown table (expected pgloom, databases, users or peers)");
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return raw;
    }

    private static void readTables(JsonNode node, String kind, Path file, List<String> errors,
            Map<String, Map<String, Object>> out, boolean connStringAllowed) {
        if (!node.isObject()) {
            errors.add(file + ": " + kind + ": must be a table");
            return;
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String where = "[" + kind + "." + e.getKey() + "]";
            Map<String, Object> table = new LinkedHashMap<>();
            if (e.getValue().isTextual() && connStringAllowed) {
                try {
                    table.putAll(ConnString.parse(e.getValue().asText()));
                } catch (IllegalArgumentException ex) {
                    errors.add(file + ": " + where + ": " + ex.getMessage());
                }
            } else {
                readTable(e.getValue(), where, file, errors, table);
            }
            out.put(e.getKey(), table);
        }
    }

    private static void readTable(JsonNode node, String where, Path file, List<String> errors, Map<String, Object> out) {
        if (!node.isObject()) {
            errors.add(file + ": " + where + ": must be a table");
            return;
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            out.put(e.getKey(), plain(e.getValue()));
        }
    }

    /** A TOML node as the plain Java value a {@link ValueType} parses. */
    private static Object plain(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.decimalValue();
        }
        if (node.isArray()) {
            List<Object> items = new ArrayList<>();
            node.forEach(item -> items.add(plain(item)));
            return items;
        }
        if (node.isObject()) {
            return Map.of();
        }
        return node.asText();
    }
}
