package io.pgloom.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/** Picks the loader for a file (pgbouncer.ini or TOML) and validates the result. Stateless. */
final class ConfigFiles {
    private ConfigFiles() {
    }

    private static final Pattern INI_MAIN = Pattern.compile("(?m)^\\s*\\[pgbouncer\\]\\s*$");
    private static final Pattern INI_ASSIGNMENT_WITH_BARE_VALUE =
            Pattern.compile("(?m)^\\s*[A-Za-z_][A-Za-z0-9_]*\\s*=\\s*[^\\s\"'\\[{0-9tf-]");

    static Config load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + describe(e));
        }
        RawConfig raw;
        if (isIni(file, text)) {
            raw = IniConfigLoader.read(file, text);
        } else {
            com.fasterxml.jackson.databind.JsonNode root;
            try {
                root = TomlConfigLoader.parse(file, text);
            } catch (ConfigException syntaxError) {
                // a pgbouncer.ini under another name whose values happen to look like TOML values
                if (!INI_MAIN.matcher(text).find()) {
                    throw syntaxError;
                }
                root = null;
            }
            raw = root == null ? IniConfigLoader.read(file, text) : TomlConfigLoader.read(file, root);
        }
        return ConfigValidator.validate(raw);
    }

    /** An .ini name, or a [pgbouncer] section holding values TOML would reject (bare words). */
    static boolean isIni(Path file, String text) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        if (name.endsWith(".ini")) {
            return true;
        }
        if (name.endsWith(".toml")) {
            return false;
        }
        return INI_MAIN.matcher(text).find() && INI_ASSIGNMENT_WITH_BARE_VALUE.matcher(text).find();
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
