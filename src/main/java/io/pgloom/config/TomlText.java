package io.pgloom.config;

/** Writes TOML literals. Stateless. */
public final class TomlText {
    private TomlText() {
    }

    /** A TOML basic string with the escapes TOML requires. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** A key: bare when it only holds A-Za-z0-9_-, else quoted. */
    public static String key(String k) {
        return k.matches("[A-Za-z0-9_-]+") ? k : quote(k);
    }
}
