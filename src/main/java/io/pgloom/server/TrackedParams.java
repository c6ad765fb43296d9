package io.pgloom.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The names of the parameters that follow a client from server to server: the five PgBouncer
 * always tracks plus {@code track_extra_parameters}. Matching is case-insensitive. Immutable.
 */
public final class TrackedParams {
    public static final List<String> ALWAYS =
            List.of("client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name");

    private final String[] names;
    private final String[] lower;

    public TrackedParams(List<String> extra) {
        List<String> all = new ArrayList<>(ALWAYS);
        for (String e : extra) {
            if (all.stream().noneMatch(n -> n.equalsIgnoreCase(e))) {
                all.add(e);
            }
        }
        names = all.toArray(String[]::new);
        lower = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            lower[i] = names[i].toLowerCase(Locale.ROOT);
        }
    }

    public int size() {
        return names.length;
    }

    public String name(int i) {
        return names[i];
    }

    /** The index of a tracked parameter, or -1. */
    public int indexOf(String name) {
        for (int i = 0; i < lower.length; i++) {
            if (lower[i].equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }
}
