package io.pgloom.config;

import java.nio.file.Path;
import java.util.Map;

/**
 * One complete, validated configuration as read from a file: the general settings, the
 * databases, users and peers. Immutable; RELOAD builds a new one and swaps it in whole.
 *
 * @param file the file it was read from (RELOAD reads it again)
 * @param databases by PgBouncer-side database name, in file order
 * @param users per-user overrides by user name, in file order
 * @param peers by peer id
 */
public record Config(Path file, Values general, Map<String, Values> databases, Map<String, Values> users,
        Map<Integer, Values> peers) {

    public Config {
        databases = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(databases));
        users = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(users));
        peers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(peers));
    }

    public <T> T get(Setting<T> key) {
        return general.get(key);
    }

    /** Reads a TOML file, or a pgbouncer.ini when the file starts a {@code [pgbouncer]} section. */
    public static Config load(Path file) throws ConfigException {
        return ConfigFiles.load(file);
    }
}
