package io.pgloom;

import io.pgloom.config.Config;
import io.pgloom.config.Setting;
import io.pgloom.config.TomlText;
import io.pgloom.config.Values;
import java.util.Map;

/** Prints a configuration as pgloom TOML ({@code --convert}): only the keys the file set. Stateless. */
final class ConfigWriter {
    private ConfigWriter() {
    }

    static String toToml(Config c) {
        StringBuilder b = new StringBuilder();
        b.append("# converted from ").append(c.file()).append(" by pgloom --convert\n\n[pgloom]\n");
        table(b, c.general());
        tables(b, "databases", c.databases());
        tables(b, "users", c.users());
        for (Map.Entry<Integer, Values> e : c.peers().entrySet()) {
            b.append("\n[peers.").append(e.getKey()).append("]\n");
            table(b, e.getValue());
        }
        return b.toString();
    }

    private static void tables(StringBuilder b, String kind, Map<String, Values> tables) {
        for (Map.Entry<String, Values> e : tables.entrySet()) {
            b.append('\n').append('[').append(kind).append('.').append(TomlText.key(e.getKey())).append("]\n");
            table(b, e.getValue());
        }
    }

    @SuppressWarnings("unchecked")
    private static void table(StringBuilder b, Values v) {
        for (Setting<?> s : v.section().settings()) {
            if (v.isSet(s)) {
                Setting<Object> key = (Setting<Object>) s;
                b.append(s.name()).append(" = ").append(key.type().toml(v.getAny(s))).append('\n');
            }
        }
    }
}
