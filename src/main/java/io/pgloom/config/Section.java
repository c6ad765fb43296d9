package io.pgloom.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The set of keys of one kind of table: {@code [pgloom]}, a database, a user or a peer.
 * Built once by a {@link Builder} in a static initializer, immutable afterwards.
 */
public final class Section {
    private final String name;
    private final List<Setting<?>> settings;
    private final Map<String, Setting<?>> byName;
    private final Map<String, String> aliases;

    private Section(String name, List<Setting<?>> settings, Map<String, String> aliases) {
        this.name = name;
        this.settings = List.copyOf(settings);
        Map<String, Setting<?>> map = new LinkedHashMap<>();
        for (Setting<?> s : settings) {
            map.put(s.name(), s);
        }
        this.byName = Collections.unmodifiableMap(map);
        this.aliases = Map.copyOf(aliases);
    }

    public String name() {
        return name;
    }

    public List<Setting<?>> settings() {
        return settings;
    }

    /** The key of that name (or of an alias PgBouncer accepts), or null. */
    public Setting<?> find(String key) {
        Setting<?> s = byName.get(key);
        return s != null ? s : byName.get(aliases.getOrDefault(key, ""));
    }

    /** Values holding every default. */
    public Values defaults() {
        return new Values(this, null);
    }

    /** Collects the settings of a section in declaration order. Not thread-safe; static init only. */
    public static final class Builder {
        private final String name;
        private final List<Setting<?>> settings = new ArrayList<>();
        private final Map<String, String> aliases = new LinkedHashMap<>();

        public Builder(String name) {
            this.name = name;
        }

        public <T> Setting<T> add(String key, ValueType<T> type, T defaultValue, boolean reloadable, boolean supported) {
            Setting<T> s = new Setting<>(key, type, defaultValue, reloadable, supported, settings.size());
            settings.add(s);
            return s;
        }

        /** A reloadable, supported key. */
        public <T> Setting<T> add(String key, ValueType<T> type, T defaultValue) {
            return add(key, type, defaultValue, true, true);
        }

        /** A key that RELOAD and SET cannot change (PgBouncer's changeable=no). */
        public <T> Setting<T> fixed(String key, ValueType<T> type, T defaultValue) {
            return add(key, type, defaultValue, false, true);
        }

        /** A PgBouncer key that is accepted for compatibility but has no effect in pgloom. */
        public <T> Setting<T> ignored(String key, ValueType<T> type, T defaultValue) {
            return add(key, type, defaultValue, true, false);
        }

        public Setting<Duration> seconds(String key, double defaultSeconds) {
            return add(key, ValueTypes.DURATION, Duration.ofNanos(Math.round(defaultSeconds * 1e9)));
        }

        public Builder alias(String alias, String key) {
            aliases.put(alias, key);
            return this;
        }

        public Section build() {
            return new Section(name, settings, aliases);
        }
    }
}
