package io.pgloom.config;

import java.util.Arrays;
import java.util.Objects;

/**
 * The values of one table for the keys of its {@link Section}; keys not given hold their
 * default. Immutable: {@link #with} returns a copy.
 */
public final class Values {
    private final Section section;
    private final Object[] values;
    private final boolean[] explicit;

    Values(Section section, Object[] values, boolean[] explicit) {
        this.section = section;
        this.values = values;
        this.explicit = explicit;
    }

    Values(Section section, Void defaults) {
        this.section = section;
        int n = section.settings().size();
        this.values = new Object[n];
        this.explicit = new boolean[n];
        for (Setting<?> s : section.settings()) {
            values[s.index()] = s.defaultValue();
        }
    }

    public Section section() {
        return section;
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> key) {
        check(key);
        return (T) values[key.index()];
    }

    public Object getAny(Setting<?> key) {
        check(key);
        return values[key.index()];
    }

    /** Whether the key was written in the file (rather than left at its default). */
    public boolean isSet(Setting<?> key) {
        check(key);
        return explicit[key.index()];
    }

    public <T> Values with(Setting<T> key, T value) {
        check(key);
        Object[] v = values.clone();
        boolean[] e = explicit.clone();
        v[key.index()] = value;
        e[key.index()] = true;
        return new Values(section, v, e);
    }

    Values withAny(Setting<?> key, Object value) {
        check(key);
        Object[] v = values.clone();
        boolean[] e = explicit.clone();
        v[key.index()] = value;
        e[key.index()] = true;
        return new Values(section, v, e);
    }

    private void check(Setting<?> key) {
        if (key.index() >= values.length || section.settings().get(key.index()) != key) {
            throw new IllegalArgumentException(key.name() + " is not a key of [" + section.name() + "]");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Values other && other.section == section && Arrays.equals(other.values, values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(section.name(), Arrays.hashCode(values));
    }
}
