package io.pgloom.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a loader read from a file before validation: raw values by key, per table. TOML and
 * pgbouncer.ini loaders both fill one of these; {@link ConfigValidator} turns it into a
 * {@link Config}. Confined to the loading thread.
 */
final class RawConfig {
    final Path file;
    final Map<String, Object> general = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> databases = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> users = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> peers = new LinkedHashMap<>();

    RawConfig(Path file) {
        this.file = file;
    }
}
