package io.pgloom.config;

import java.util.List;

/**
 * A configuration that cannot be used. Each problem is one line naming the file, the key and
 * what is wrong ({@code conf/pgloom.toml: [pgloom] listen_port: must be an integer from 1 to
 * 65535, got 70000}). Never carries a stack trace to the user.
 */
public final class ConfigException extends Exception {
    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems), null, false, false);
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
