package io.pgloom.auth.hba;

import java.util.Map;
import java.util.Optional;

/**
 * The outcome of matching a connection against an HBA file: the first matching rule's method and
 * options, or {@link HbaMethod#REJECT} with no rule when none matched ("no pg_hba.conf entry").
 * Immutable.
 *
 * @param rule the rule that matched, or null when none did
 */
public record HbaMatch(HbaMethod method, Map<String, String> options, HbaRule rule) {
    static final HbaMatch NO_RULE = new HbaMatch(HbaMethod.REJECT, Map.of(), null);

    public HbaMatch {
        options = Map.copyOf(options);
    }

    /** Whether a rule matched (a matched {@code reject} rule is still a match). */
    public boolean matched() {
        return rule != null;
    }

    /** The {@code map=} option: the ident map for {@code cert} and {@code peer}. */
    public Optional<String> map() {
        return Optional.ofNullable(options.get("map"));
    }
}
