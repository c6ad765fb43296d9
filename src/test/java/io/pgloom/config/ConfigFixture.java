package io.pgloom.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes configuration files into a test's temporary directory and loads them. */
final class ConfigFixture {
    private final Path dir;

    ConfigFixture(Path dir) {
        this.dir = dir;
    }

    Path write(String name, String text) {
        Path file = dir.resolve(name);
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    Config load(String name, String text) throws ConfigException {
        return Config.load(write(name, text));
    }

    Config toml(String text) throws ConfigException {
        return load("pgloom.toml", text);
    }

    Config ini(String text) throws ConfigException {
        return load("pgbouncer.ini", text);
    }

    /** The problems reported for a file that must be refused. */
    List<String> problems(String name, String text) {
        Path file = write(name, text);
        ConfigException[] caught = new ConfigException[1];
        assertThatThrownBy(() -> {
            try {
                Config.load(file);
            } catch (ConfigException e) {
                caught[0] = e;
                throw e;
            }
        }).isInstanceOf(ConfigException.class);
        return caught[0].problems();
    }

    List<String> tomlProblems(String text) {
        return problems("pgloom.toml", text);
    }

    List<String> iniProblems(String text) {
        return problems("pgbouncer.ini", text);
    }

    /** The path a problem line starts with. */
    String file(String name) {
        return dir.resolve(name).toString();
    }
}
