package io.pgloom.config;

/**
 * One configuration key of a {@link Section}: its PgBouncer name, value type, default, and
 * whether RELOAD may change it. A {@code null} default means "unset" (for database and user
 * keys: inherit the general value). Immutable.
 *
 * @param index position inside its section, used by {@link Values}
 * @param supported false for PgBouncer keys pgloom accepts but does not act on; setting one to a
 *     non-default value logs a warning at startup
 */
public record Setting<T>(String name, ValueType<T> type, T defaultValue, boolean reloadable, boolean supported, int index) {

    public T parse(Object raw) {
        return type.parse(raw);
    }

    public String show(T value) {
        return value == null ? "" : type.show(value);
    }

    /** Shows a value of unknown static type that is known to belong to this key. */
    @SuppressWarnings("unchecked")
    public String showAny(Object value) {
        return show((T) value);
    }
}
