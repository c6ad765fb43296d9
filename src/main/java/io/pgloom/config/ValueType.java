package io.pgloom.config;

/**
 * How one kind of configuration value is read and shown. {@code parse} accepts what the TOML
 * parser produces (String, Integer, Long, Double, Boolean, List) and the raw strings of a
 * pgbouncer.ini; it throws {@link IllegalArgumentException} with a short phrase that names the
 * expected form ("an integer from 1 to 65535"), which the loader prefixes with the file and key.
 * Implementations are immutable.
 */
public interface ValueType<T> {
    T parse(Object raw);

    /** The value as SHOW CONFIG and {@code --convert} print it (PgBouncer's style: plain seconds, 0/1). */
    String show(T value);

    /** The value as a TOML literal, for {@code --convert}. */
    default String toml(T value) {
        return TomlText.quote(show(value));
    }
}
